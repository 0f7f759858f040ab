/**
 * Each ablation (src/config/ablations.ts) switches its mechanism off: every
 * test looks at the mechanism's own observable with and without it (the
 * ping-pong latency of a cross-socket pair, the TOR queue wait, the cost of a
 * per-CPU sum, the background walks ...), so it fails if the effect is lost.
 */
import { describe, expect, it } from 'vitest';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { Machine, type MachineSpec } from '../src/machine.ts';
import { idleSyscallNs, loadKernelModel, type KernelModel } from '../src/workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema, type LaunchParams } from '../src/workload/launchParams.ts';
import { KernelMountPath } from '../src/workload/kernelPath.ts';
import { runPingpong } from '../src/bench/pingpong.ts';
import { runLockMicrobench } from '../src/bench/lockMicrobench.ts';
import { ABLATIONS, ABLATION_NAMES, applyAblations, type AblationName } from '../src/config/ablations.ts';
import { scenarioSchema } from '../src/config/scenarioSchema.ts';
import { atMachineClock } from '../src/workload/clock.ts';
import { resolvePoints } from '../src/config/points.ts';
import { loadModels, runHash, runIdentity } from '../src/runner/runScenario.ts';

const kernel = loadKernelModel('linux-6.6');
const specOf = (name: string, restriction = {}) => machineSpecFromTopology(buildTopology(loadHardwareModel(name), restriction));
const machineOnly = (names: AblationName[], spec: MachineSpec) => applyAblations(names, { machine: spec }).machine;

function launch(names: AblationName[], spec: MachineSpec, k: number, launchParams: Record<string, unknown>, kern: KernelModel = kernel, seed = 's') {
  const models = applyAblations(names, { machine: spec, kernel: kern, launch: launchSchema.parse({ containers: [k], ...launchParams }) });
  const params: LaunchParams = models.launch!;
  const m = new Machine(models.machine, { seed, placement: 'spread' });
  return simulateLaunch(m, models.kernel!, params, buildLaunchTrace(params, k, models.kernel!, seed));
}

const small = { variant: 'per-layer-idmap', layers: 4 };

describe('the ablation registry', () => {
  it('names each ablation once, with a description', () => {
    expect(new Set(ABLATION_NAMES).size).toBe(ABLATIONS.length);
    for (const a of ABLATIONS) expect(a.description.length).toBeGreaterThan(20);
    for (const required of ['smt', 'numa-hop', 'tor-queue', 'per-cpu-costs', 'background-walks']) expect(ABLATION_NAMES).toContain(required);
  });

  it('leaves the data alone without ablations, and never mutates it', () => {
    const spec = specOf('r5.metal');
    const before = structuredClone(spec);
    const models = { machine: spec, kernel, launch: launchSchema.parse({ containers: [1], ...small }) };
    expect(applyAblations([], models)).toBe(models);
    applyAblations([...ABLATION_NAMES], models);
    expect(spec).toEqual(before);
  });
});

describe('each ablation switches its mechanism off', () => {
  it('smt: two busy siblings each run at full speed', () => {
    const finish = (spec: MachineSpec) => {
      const m = new Machine(spec, { seed: 'x' });
      const done: number[] = [];
      for (const cpu of [0, spec.siblings[0]![0]!]) {
        m.spawn(`w${cpu}`, function* (t) {
          t.work(1_000_000);
          yield;
          done.push(t.sim.now);
        }, [cpu]);
      }
      m.sim.run(1e10);
      return Math.max(...done);
    };
    const spec = specOf('r5.metal');
    expect(spec.smtSlowdown).toBeGreaterThan(1);
    expect(finish(spec)).toBeGreaterThan(1_000_000 * 1.2);
    expect(finish(machineOnly(['smt'], spec))).toBeCloseTo(1_000_000, -3);
  });

  it('numa-hop: a cross-socket ping-pong is as fast as an in-socket one', () => {
    for (const name of ['r5.metal', 'm7a.48xlarge']) {
      const spec = specOf(name);
      const cores = spec.layout.cores;
      const sameSocket = 1, otherSocket = cores / 2; // core 0 and the first core of socket 1
      const pp = (s: MachineSpec, to: number) => runPingpong(s, { from: 0, to, roundTrips: 200 }, 'x').oneWayMedianNs;
      expect(pp(spec, otherSocket)).toBeGreaterThan(pp(spec, sameSocket) * 1.5);
      const ablated = machineOnly(['numa-hop'], spec);
      expect(pp(ablated, otherSocket)).toBeCloseTo(spec.latencies.crossL3, 1);
      expect(pp(ablated, sameSocket)).toBeCloseTo(pp(spec, sameSocket), 5);
    }
  });

  it('tor-queue: on the mesh, misses to one line no longer queue at the home', () => {
    const params = { lock: 'ttas' as const, threads: 16, criticalSectionNs: 50, thinkNs: 0, distribution: 'fixed' as const, durationNs: 200_000, placement: 'scatter' as const };
    const mesh = specOf('m7i.metal-24xl');
    const plain = runLockMicrobench(mesh, params, 'x');
    const ablated = runLockMicrobench(machineOnly(['tor-queue'], mesh), params, 'x');
    expect(plain.queueWaitNs).toBeGreaterThan(10);
    expect(ablated.queueWaitNs).toBe(0);
    expect(ablated.acquisitionsPerSec).toBeGreaterThan(plain.acquisitionsPerSec);
    // The chiplet fabric's IO-die home is another mechanism: unchanged.
    const chiplet = specOf('m7a.24xlarge');
    expect(runLockMicrobench(machineOnly(['tor-queue'], chiplet), params, 'x')).toEqual(runLockMicrobench(chiplet, params, 'x'));
  });

  it('per-cpu-costs: an unmount costs the same on 4 and on 96 CPUs', () => {
    const umountNs = (spec: MachineSpec, names: AblationName[]) =>
      idleSyscallNs(applyAblations(names, { machine: spec, kernel }).kernel!, 'umount', 1, spec.layout.core.length);
    const few = specOf('generic-2core'), many = specOf('r5.metal');
    expect(umountNs(many, [])).toBeGreaterThan(umountNs(few, []) + 50_000);
    expect(umountNs(many, ['per-cpu-costs'])).toBeCloseTo(umountNs(few, ['per-cpu-costs']), 6);
  });

  it('background-walks: the host makes no path walks of its own', () => {
    const spec = specOf('m7i.metal-24xl');
    expect(launch([], spec, 4, small).metrics.backgroundWalks).toBeGreaterThan(0);
    const r = launch(['background-walks'], spec, 4, small);
    expect(r.metrics.backgroundWalks).toBe(0);
    expect(r.metrics.backgroundSpinS).toBe(0);
    expect(r.metrics.pathLookups).toBeGreaterThan(0); // the launches' own walks stay
  });

  it('rcu-expedited: unmounts wait for no grace period', () => {
    const spec = specOf('m7i.metal-24xl');
    const mountsOnly = { ...small, host: { containerStartNs: 0 } };
    const plain = launch([], spec, 4, mountsOnly).metrics;
    const ablated = launch(['rcu-expedited'], spec, 4, mountsOnly).metrics;
    // What is left is the sleep, the wake-up and the run queue around a grace period of 0 ns.
    expect(plain.shareRcuWait).toBeGreaterThan(0.05);
    expect(ablated.shareRcuWait).toBeLessThan(plain.shareRcuWait / 3);
    expect(ablated.launchP50S).toBeLessThan(plain.launchP50S);
  });

  it('systemd: nobody re-reads the mount table on mount events', () => {
    const spec = specOf('m7i.metal-24xl');
    expect(launch([], spec, 4, small).metrics.mountinfoReads).toBeGreaterThan(0);
    expect(launch(['systemd'], spec, 4, small).metrics.mountinfoReads).toBe(0);
  });

  it('kubelet-cri: no CRI polls reach containerd', () => {
    const spec = specOf('m7i.metal-24xl');
    const often = { ...small, host: { criIntervalNs: 20_000 } };
    expect(launch([], spec, 4, often).metrics.criP99S).toBeGreaterThan(0);
    expect(launch(['kubelet-cri'], spec, 4, often).metrics.criP99S).toBe(0);
  });

  it('rwsem-spinning: namespace_sem writers never spin, they sleep', () => {
    const run = (names: AblationName[]) => {
      const kern = applyAblations(names, { machine: specOf('generic-2core'), kernel }).kernel!;
      const m = new Machine(specOf('m7i.metal-24xl'), { seed: 'x' });
      const path = new KernelMountPath(m, kern, 40);
      for (let i = 0; i < 8; i++) {
        m.spawn(`c${i}`, function* (t) {
          for (let n = 0; n < 20; n++) yield* path.syscall(t, 'containerd', 'move_mount', 1);
        });
      }
      m.sim.run(1e10);
      return path.namespaceSem.stats;
    };
    expect(run([]).spins).toBeGreaterThan(0);
    const ablated = run(['rwsem-spinning']);
    expect(ablated.spins).toBe(0);
    expect(ablated.spinNs).toBe(0);
  });

  it('clock-speed: CPU work no longer scales with the machine\'s clock', () => {
    // One container alone: its launch is CPU work plus a few latencies.
    const oneLaunch = (names: AblationName[], ghz: number) => {
      const spec = { ...specOf('m7a.24xlarge'), ghz };
      const models = applyAblations(names, { machine: spec, kernel, launch: launchSchema.parse({ containers: [1], ...small }) });
      const { kernel: k, launch: params } = atMachineClock(models.kernel!, models.launch!, models.machine.ghz);
      const m = new Machine(models.machine, { seed: 's', placement: 'spread' });
      return simulateLaunch(m, k, params, buildLaunchTrace(params, 1, k, 's')).metrics.launchP50S;
    };
    const ref = kernel.mechanisms.referenceGhz!.value;
    const ratio = oneLaunch([], 2 * ref) / oneLaunch([], ref);
    expect(ratio).toBeGreaterThan(0.48);
    expect(ratio).toBeLessThan(0.6);
    expect(oneLaunch(['clock-speed'], 2 * ref)).toBe(oneLaunch(['clock-speed'], ref));
  });

  it('work-jitter: every piece of work costs its mean', () => {
    const jittery: KernelModel = { ...kernel, mechanisms: { ...kernel.mechanisms, workJitterCv: { value: 0.2, source: 'test' } } };
    const factors = (names: AblationName[]) => {
      const kern = applyAblations(names, { machine: specOf('generic-2core'), kernel: jittery }).kernel!;
      const m = new Machine(specOf('generic-2core'), { seed: 'x' });
      const path = new KernelMountPath(m, kern, 40);
      const t = m.spawn('w', function* () {});
      return Array.from({ length: 20 }, () => path.jitter(t));
    };
    expect(new Set(factors([])).size).toBeGreaterThan(1);
    expect(factors(['work-jitter'])).toEqual(Array(20).fill(1));
  });
});

describe('the ablation set in a scenario', () => {
  const scenario = (ablate?: string[]) =>
    scenarioSchema.parse({ name: 's', kind: 'pingpong', ...(ablate ? { ablate } : {}), variants: [{ label: 'a', machine: { model: 'r5.metal' } }], pingpong: { to: [24] } });

  it('is validated: unknown names and repeats are refused', () => {
    expect(scenarioSchema.safeParse({ ...scenario(), ablate: ['nope'] }).success).toBe(false);
    expect(scenarioSchema.safeParse({ ...scenario(), ablate: ['smt', 'smt'] }).success).toBe(false);
  });

  it('reaches every point, keeps the seeds, and is part of the run identity', () => {
    const plain = scenario(), ablated = scenario(['numa-hop']);
    const [p] = resolvePoints(plain), [q] = resolvePoints(ablated);
    expect(q!.ablate).toEqual(['numa-hop']);
    expect(q!.seed).toBe(p!.seed);
    const hash = (s: typeof plain) => runHash(runIdentity(s, 'f.yaml', loadModels(resolvePoints(s))));
    expect(hash(ablated)).not.toBe(hash(plain));
  });
});
