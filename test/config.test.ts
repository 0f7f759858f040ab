// Good-path behaviour of the configuration layer: the shipped machine files
// load and match the published instance shapes, scenarios get their defaults,
// sweeps expand into variants, and point seeds depend only on the point's key.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join, isAbsolute } from 'node:path';
import { defaultModelsDir, listHardwareModels, loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { loadScenario, scenarioJsonSchema } from '../src/config/scenarioSchema.ts';
import { expandVariants, resolvePoints } from '../src/config/points.ts';
import { loadPlan } from '../src/plan/planSchema.ts';

function scenarioFile(text: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'locksim-config-'));
  for (const [name, from] of Object.entries(extra)) copyFileSync(from, join(dir, name));
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, text);
  return file;
}

const fig10 = `
name: fig10
kind: lock-microbench
seed: 7
variants:
  - label: "r5.metal, 2 sockets"
    machine: { model: r5.metal }
  - label: "r5.metal, 1 socket"
    machine: { model: r5.metal, sockets: 1 }
microbench:
  threads: [1, 2, 4, 8]
`;

describe('hardware model files', () => {
  const names = listHardwareModels();

  it('include the machines of the blog and this host', () => {
    for (const n of ['r5.metal', 'm7i.metal-24xl', 'm7i.metal-48xl', 'm7a.24xlarge', 'm7a.48xlarge', 'c5.metal', 'generic-2core']) expect(names).toContain(n);
  });

  for (const name of names) {
    it(`${name} loads and is named after its file`, () => {
      const m = loadHardwareModel(name);
      expect(m.name).toBe(name);
    });
  }

  // vCPU counts and sockets from the AWS instance table (docs/sources.md section 4).
  const shapes: [string, number, number][] = [
    ['r5.metal', 2, 96], ['m7i.metal-24xl', 1, 96], ['m7i.metal-48xl', 2, 192],
    ['m7a.24xlarge', 1, 96], ['m7a.48xlarge', 2, 192], ['c5.metal', 2, 96],
  ];
  for (const [name, sockets, vcpus] of shapes) {
    it(`${name} has ${sockets} socket(s) and ${vcpus} vCPUs`, () => {
      const t = loadHardwareModel(name).topology;
      expect(t.sockets).toBe(sockets);
      expect(t.sockets * t.coresPerSocket * t.threadsPerCore).toBe(vcpus);
    });
  }

  it('c5.metal carries the measured Cascade Lake medians', () => {
    const c = loadHardwareModel('c5.metal').coreToCore;
    expect([c.smtSibling?.value, c.sameL3.value, c.crossSocket?.value]).toEqual([7.6, 46.6, 134.1]);
  });

  it('generic-2core says its latencies are placeholders', () => {
    const m = loadHardwareModel('generic-2core');
    expect(m.coreToCore.sameL3.source).toMatch(/placeholder/i);
    expect(m.topology.sockets * m.topology.coresPerSocket * m.topology.threadsPerCore).toBe(2);
  });

  it('a path works as well as a name, and models are read once', () => {
    const byPath = loadHardwareModel(join(defaultModelsDir, 'm7a.24xlarge.yaml'));
    expect(byPath).toBe(loadHardwareModel('m7a.24xlarge'));
    expect(Object.isFrozen(byPath.coreToCore)).toBe(true);
  });
});

describe('scenario files', () => {
  it('fill in the microbenchmark defaults', () => {
    const s = loadScenario(scenarioFile(fig10));
    if (s.kind !== 'lock-microbench') throw new Error('wrong kind');
    expect(s.microbench).toEqual({ lock: 'ttas', threads: [1, 2, 4, 8], criticalSectionNs: 50, thinkNs: 0, distribution: 'fixed', durationNs: 10_000_000, placement: 'scatter' });
    expect(s.output).toEqual({ charts: true });
  });

  it('resolve a model path relative to the scenario file and return it absolute', () => {
    const file = scenarioFile(fig10.replace('{ model: r5.metal }', '{ model: ./mine.yaml }'), { 'mine.yaml': join(defaultModelsDir, 'r5.metal.yaml') });
    const s = loadScenario(file);
    expect(isAbsolute(s.variants[0]!.machine.model)).toBe(true);
    expect(loadHardwareModel(s.variants[0]!.machine.model).name).toBe('r5.metal');
  });

  it('accept pingpong and launch kinds', () => {
    const pp = loadScenario(scenarioFile(`name: pp\nkind: pingpong\nvariants:\n  - { label: a, machine: { model: r5.metal } }\npingpong: { to: [1, 48, 24] }\n`));
    expect(resolvePoints(pp).map((p) => p.x)).toEqual([1, 48, 24]);
    const launch = loadScenario(scenarioFile(`name: l\nkind: launch\nvariants:\n  - { label: a, machine: { model: m7a.24xlarge } }\nlaunch: { containers: [10, 100], variant: common-parent, layers: 50 }\n`));
    expect(resolvePoints(launch).map((p) => p.key)).toEqual(['a|containers=10', 'a|containers=100']);
    // The launch section is validated like the others: defaults filled in, bad values refused.
    expect(launch.kind === 'launch' && launch.launch.healthCheckTimeoutNs).toBe(30_000_000_000);
    expect(() => loadScenario(scenarioFile(`name: l\nkind: launch\nvariants:\n  - { label: a, machine: { model: m7a.24xlarge } }\nlaunch: { containers: [10], variant: per-layer-idmap }\n`))).toThrow(/layers: expected exactly one of layers or imageMix/);
  });

  it('every shipped scenario in scenarios/ validates and has points', () => {
    const dir = fileURLToPath(new URL('../scenarios/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      // plan-*.yaml are capacity plans (locksim plan), checked by their own loader.
      if (f.startsWith('plan-')) expect(loadPlan(join(dir, f)).name, f).toBeTruthy();
      else expect(resolvePoints(loadScenario(join(dir, f))).length, f).toBeGreaterThan(0);
    }
    // The runc what-if sweeps its switch: off and on for each machine and size.
    const runc = loadScenario(join(dir, 'runc-namespace-copy.yaml'));
    expect(expandVariants(runc).map((v) => v.label)).toContain('m7a.24xlarge, containerStartMounts=true');
  });

  it('have a JSON schema for editors with the three kinds', () => {
    const js = scenarioJsonSchema() as { oneOf: { properties: { kind: { const: string } } }[] };
    expect(js.oneOf.map((o) => o.properties.kind.const).sort()).toEqual(['launch', 'lock-microbench', 'pingpong']);
  });
});

describe('sweeps', () => {
  const swept = fig10 + 'sweep:\n  microbench.criticalSectionNs: [50, 200]\n  machine.smt: [true, false]\n';

  it('repeat each variant once per combination, values applied and named in the label', () => {
    const s = loadScenario(scenarioFile(swept));
    const vs = expandVariants(s);
    expect(vs).toHaveLength(2 * 2 * 2);
    const v = vs.find((x) => x.label === 'r5.metal, 1 socket, criticalSectionNs=200, smt=false');
    expect(v?.params.criticalSectionNs).toBe(200);
    expect(v?.machine).toEqual({ model: 'r5.metal', sockets: 1, smt: false });
    expect(new Set(vs.map((x) => x.label)).size).toBe(vs.length);
    expect(resolvePoints(s)).toHaveLength(8 * 4);
  });

  it('check every machine value against the machine', () => {
    expect(() => loadScenario(scenarioFile(fig10 + 'sweep:\n  machine.sockets: [1, 4]\n'))).toThrow(/scenario\.yaml:13:24: sweep\.machine\.sockets\[1\]: expected an integer from 1 to 2/);
  });

  it('refuse sweeping the x axis', () => {
    expect(() => loadScenario(scenarioFile(fig10 + 'sweep:\n  microbench.threads: [1, 2]\n'))).toThrow(/sweep\.microbench\.threads: expected a parameter other than the x axis/);
  });
});

describe('points', () => {
  it('have one stable key per (variant, x)', () => {
    const points = resolvePoints(loadScenario(scenarioFile(fig10)));
    expect(points.map((p) => p.key)).toEqual([1, 2, 4, 8].map((x) => `r5.metal, 2 sockets|threads=${x}`).concat([1, 2, 4, 8].map((x) => `r5.metal, 1 socket|threads=${x}`)));
  });

  it('get seeds from the key, not from their position', () => {
    const a = resolvePoints(loadScenario(scenarioFile(fig10)));
    const reordered = fig10.replace(/(  - label: "r5.metal, 2 sockets"\n.*\n)(  - label: "r5.metal, 1 socket"\n.*\n)/, '$2$1');
    expect(reordered).not.toBe(fig10);
    const b = resolvePoints(loadScenario(scenarioFile(reordered.replace('threads: [1, 2, 4, 8]', 'threads: [8, 4, 2, 1, 16]'))));
    const seedsB = new Map(b.map((p) => [p.key, p.seed]));
    for (const p of a) expect(seedsB.get(p.key)).toBe(p.seed);
    expect(new Set(a.map((p) => p.seed)).size).toBe(a.length);
    expect(a[0]!.seed).toMatch(/^[0-9a-f]{16}$/);
  });

  it('change seeds when the scenario seed changes', () => {
    const a = resolvePoints(loadScenario(scenarioFile(fig10)));
    const b = resolvePoints(loadScenario(scenarioFile(fig10.replace('seed: 7', 'seed: 8'))));
    a.forEach((p, i) => expect(b[i]!.seed).not.toBe(p.seed));
  });
});
