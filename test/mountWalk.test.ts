/**
 * open_tree's walk over the source mount's children (has_locked_children)
 * with a knee: up to mechanisms.mountWalkCachedMounts each mount costs the
 * {cpuPerMount} step's cost, beyond it mountWalkBeyondFactor times that
 * (the list no longer fits in a cache level; measured on the 2-vCPU guest,
 * docs/validation.md, "Fourteenth session").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { InputError } from '../src/config/errors.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { Machine } from '../src/machine.ts';
import { defaultKernelModelsDir, idleSyscallNs, loadKernelModel, parseKernelModelText, perMountWalkNs, type KernelModel } from '../src/workload/kernelModel.ts';
import { KernelMountPath } from '../src/workload/kernelPath.ts';

const base = loadKernelModel('linux-6.6');
/** linux-6.6 with a walk of 10 ns per mount, no jitter, and optionally a knee at 2,000 mounts with 3x beyond. */
function kernel(knee: boolean): KernelModel {
  const k = structuredClone(base) as KernelModel;
  k.costs.mountTableWalkNs = { value: 10, source: 'test' };
  delete k.mechanisms.workJitterCv;
  if (knee) {
    k.mechanisms.mountWalkCachedMounts = { value: 2000, source: 'test' };
    k.mechanisms.mountWalkBeyondFactor = { value: 3, source: 'test' };
  }
  return k;
}

/** One open_tree alone on an idle machine beside `mounts` mounts: its duration, ns. */
function openTreeNs(k: KernelModel, mounts: number): number {
  const m = new Machine(machineSpecFromTopology(buildTopology(loadHardwareModel('generic-2core'))), { seed: 'walk' });
  const path = new KernelMountPath(m, k, mounts);
  let took = NaN;
  m.spawn('c', function* (t) {
    const from = t.sim.now;
    yield* path.syscall(t, 'runtime', 'open_tree', 1);
    took = t.sim.now - from;
  });
  m.sim.run(1e10);
  return took;
}

describe('the walk per mount with a knee', () => {
  it('mounts beyond the knee cost the factor more each, in the simulator and in the analytic single call', () => {
    // Below the knee the two models are the same; 2,000 mounts past it, 2,000 x 10 ns x (3 - 1) = 40 us more.
    expect(openTreeNs(kernel(true), 1500)).toBe(openTreeNs(kernel(false), 1500));
    const extra = openTreeNs(kernel(true), 4000) - openTreeNs(kernel(false), 4000);
    expect(extra).toBeGreaterThan(40_000 * 0.99);
    expect(extra).toBeLessThan(40_000 * 1.01);
    expect(idleSyscallNs(kernel(true), 'open_tree', 1, 2, 4000) - idleSyscallNs(kernel(false), 'open_tree', 1, 2, 4000)).toBeCloseTo(40_000, 6);
    expect(perMountWalkNs(kernel(true), 10, 4000)).toBe(10 * (2000 + 3 * 2000));
    expect(perMountWalkNs(kernel(false), 10, 4000)).toBe(40_000);
  });

  it('a kernel model gives both of the knee\'s numbers or neither', () => {
    const doc = parseDocument(readFileSync(join(defaultKernelModelsDir, 'linux-6.6.yaml'), 'utf8'));
    doc.setIn(['mechanisms', 'mountWalkCachedMounts'], { value: 2000, source: 'test' });
    let err: unknown;
    try {
      parseKernelModelText(doc.toString(), 'k.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect(String((err as Error).message)).toMatch(/mechanisms\.mountWalkCachedMounts.*mountWalkBeyondFactor beside it/);
    doc.setIn(['mechanisms', 'mountWalkBeyondFactor'], { value: 3, source: 'test' });
    expect(parseKernelModelText(doc.toString(), 'k.yaml').mechanisms.mountWalkBeyondFactor!.value).toBe(3);
  });
});

/**
 * Durations of `walks` open_trees beside `mounts` mounts: by one thread
 * back to back, or by two threads on the two CPUs taking turns (each waits
 * for the other's call to end), ns each in call order.
 */
function walkDurations(k: KernelModel, mounts: number, walks: number, turns: boolean): number[] {
  const m = new Machine(machineSpecFromTopology(buildTopology(loadHardwareModel('generic-2core'))), { seed: 'walk' });
  const path = new KernelMountPath(m, k, mounts);
  const took: number[] = [];
  let next = 0;
  const threads = turns ? 2 : 1;
  for (let id = 0; id < threads; id++) {
    m.spawn(`c${id}`, function* (t) {
      for (let i = id; i < walks; i += threads) {
        while (next !== i) {
          t.work(1_000);
          yield;
        }
        const from = t.sim.now;
        yield* path.syscall(t, 'runtime', 'open_tree', 1);
        took[i] = t.sim.now - from;
        next++;
      }
    });
  }
  m.sim.run(1e10);
  return took;
}

describe('a warm and a cold walk (kernelPath warmWalk)', () => {
  it('a cold walk fetches every mount at the price beyond the knee; without a knee warm and cold cost the same', () => {
    expect(perMountWalkNs(kernel(true), 10, 1500, false)).toBe(10 * 3 * 1500);
    expect(perMountWalkNs(kernel(true), 10, 4000, false)).toBe(10 * 3 * 4000);
    expect(perMountWalkNs(kernel(false), 10, 4000, false)).toBe(40_000);
  });

  it('one thread walking back to back stays warm; two CPUs taking turns walk cold', () => {
    const alone = walkDurations(kernel(true), 1500, 4, false);
    const turns = walkDurations(kernel(true), 1500, 4, true);
    // Alone: every walk is the first one's (warm) price, give or take the lock lines' transfers (< 1 us).
    for (const d of alone) expect(Math.abs(d - alone[0]!)).toBeLessThan(1_000);
    // Taking turns: the first walk is warm, every later one pays 1,500 x 10 ns x (3 - 1) = 30 us more.
    expect(turns[0]).toBe(alone[0]);
    expect(Math.abs(turns[0]! - alone[0]!)).toBeLessThan(1_000);
    for (const d of turns.slice(1)) expect(Math.abs(d - alone[0]! - 30_000)).toBeLessThan(1_000);
    // Without a knee there is nothing to lose: the same price either way.
    const flat = walkDurations(kernel(false), 1500, 4, true);
    for (const d of flat) expect(Math.abs(d - flat[0]!)).toBeLessThan(1_000);
  });
});
