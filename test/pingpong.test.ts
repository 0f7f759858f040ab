// Core-to-core ping-pong against the model files: for every kind of cpu pair a
// machine has (SMT siblings, same L3, cross-L3/CCX, cross-socket), the simulated
// one-way median must be the latency the model file cites for that kind, within
// 1%. Pairs are found from the topology (buildTopology), and the expected
// numbers are read from the model file, so a change to either is checked.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listHardwareModels, loadHardwareModel, type HardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology, type Topology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { runPingpong } from '../src/bench/pingpong.ts';
import { runScenarioFile } from '../src/runner/runScenario.ts';

type PairKind = 'smtSibling' | 'sameL3' | 'crossL3' | 'crossSocket';
const pairKinds: PairKind[] = ['smtSibling', 'sameL3', 'crossL3', 'crossSocket'];

/** What kind of pair two logical cpus are, from where the topology puts them. */
function pairKind(topo: Topology, a: number, b: number): PairKind {
  const x = topo.cpus[a], y = topo.cpus[b];
  if (x.core === y.core) return 'smtSibling';
  if (x.l3 === y.l3) return 'sameL3';
  if (x.socket === y.socket) return 'crossL3';
  return 'crossSocket';
}

/** The model's cited one-way latency for a kind of pair (undefined where the model has no such number). */
function cited(model: HardwareModel, kind: PairKind): number | undefined {
  return model.coreToCore[kind]?.value;
}

/** Every partner of cpu 0, grouped by kind: the first and the last cpu of each kind. */
function partnersByKind(topo: Topology): Map<PairKind, number[]> {
  const byKind = new Map<PairKind, number[]>();
  for (const c of topo.cpus) {
    if (c.id === 0) continue;
    const k = pairKind(topo, 0, c.id);
    const list = byKind.get(k) ?? [];
    list.push(c.id);
    byKind.set(k, list);
  }
  for (const [k, list] of byKind) byKind.set(k, [...new Set([list[0], list[list.length - 1]])]);
  return byKind;
}

const models = listHardwareModels();
const within1pct = (got: number, want: number) => Math.abs(got - want) / want;

describe('ping-pong one-way medians match the model files', () => {
  it('knows the seven preset models', () => {
    for (const m of ['r5.metal', 'm7i.metal-24xl', 'm7i.metal-48xl', 'm7a.24xlarge', 'm7a.48xlarge', 'c5.metal', 'generic-2core']) {
      expect(models).toContain(m);
    }
  });

  for (const name of models) {
    it(`${name}: every kind of pair in the topology has the cited latency`, () => {
      const model = loadHardwareModel(name);
      const topo = buildTopology(model);
      const spec = machineSpecFromTopology(topo);
      const partners = partnersByKind(topo);
      // The kinds a machine has follow from its shape; the model must cite each.
      const t = model.topology;
      const expectedKinds = pairKinds.filter(
        (k) =>
          (k === 'smtSibling' && t.threadsPerCore > 1) ||
          (k === 'sameL3' && t.coresPerSocket / t.l3GroupsPerSocket > 1) ||
          (k === 'crossL3' && t.l3GroupsPerSocket > 1) ||
          (k === 'crossSocket' && t.sockets > 1),
      );
      expect([...partners.keys()].sort()).toEqual([...expectedKinds].sort());
      for (const [kind, cpus] of partners) {
        const want = cited(model, kind);
        expect(want, `${name} has ${kind} pairs but cites no coreToCore.${kind}`).toBeDefined();
        for (const to of cpus) {
          const r = runPingpong(spec, { from: 0, to, roundTrips: 400 }, `pp-${name}-${to}`);
          expect(r.roundTrips).toBe(400);
          expect(within1pct(r.oneWayMedianNs, want!), `${name} cpu 0 <-> ${to} (${kind}): simulated ${r.oneWayMedianNs} ns, model cites ${want} ns`).toBeLessThan(0.01);
        }
      }
    });

    it(`${name}: pairs seen from the last cpu (on the last socket, away from the line's home) have the cited latency`, () => {
      // A second pair per kind, picked from the last cpu, so a fabric that only
      // gets cpu 0 or socket 0 right fails. The model files cite one number per
      // kind of pair: the measured matrices they come from have the same
      // same-socket latency on every socket, wherever the line's memory is.
      const model = loadHardwareModel(name);
      const topo = buildTopology(model);
      const spec = machineSpecFromTopology(topo);
      const n = topo.cpus.length;
      const from = n - 1;
      const found = new Map<PairKind, number>();
      for (let to = n - 2; to >= 0; to--) {
        const k = pairKind(topo, from, to);
        if (!found.has(k)) found.set(k, to);
      }
      for (const [kind, to] of found) {
        const want = cited(model, kind)!;
        const r = runPingpong(spec, { from, to, roundTrips: 200 }, `pp2-${name}-${to}`);
        expect(within1pct(r.oneWayMedianNs, want), `${name} cpu ${from} <-> ${to} (${kind}): simulated ${r.oneWayMedianNs} ns, model cites ${want} ns`).toBeLessThan(0.01);
      }
    });
  }
});

describe('scenarios/pingpong-<model>.yaml', () => {
  for (const name of models) {
    it(`${name}: the scenario covers every kind of pair and each point matches the model`, async () => {
      const file = join('scenarios', `pingpong-${name}.yaml`);
      expect(existsSync(file), `${file} exists`).toBe(true);
      const out = mkdtempSync(join(tmpdir(), 'locksim-pp-'));
      try {
        const { run } = await runScenarioFile(file, { outDir: join(out, 'o'), workers: 1, charts: false });
        const model = loadHardwareModel(name);
        const seenKinds = new Set<PairKind>();
        for (const p of run.points) {
          const resolved = run.scenario.resolved as { variants: { label: string; machine: { model: string; sockets?: number; smt?: boolean; cores?: number } }[]; pingpong: { from: number } };
          const variant = resolved.variants.find((v) => v.label === p.variant)!;
          const { model: _m, ...restriction } = variant.machine;
          const topo = buildTopology(model, restriction);
          const kind = pairKind(topo, resolved.pingpong.from, p.x);
          seenKinds.add(kind);
          const want = cited(model, kind)!;
          expect(within1pct(p.metrics.oneWayMedianNs, want), `${file}: cpu ${resolved.pingpong.from} <-> ${p.x} (${kind}) simulated ${p.metrics.oneWayMedianNs}, model ${want}`).toBeLessThan(0.01);
        }
        expect([...seenKinds].sort()).toEqual([...partnersByKind(buildTopology(model)).keys()].sort());
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});
