/**
 * Spinner herds in aggregate (issue 14 item 4; docs/model.md 2b, "Spinner
 * herds"): seqlock readers spinning on an odd sequence are re-read by the
 * fabric at their own arrival times and resumed only when the sequence is
 * even. Each test runs the same storm in aggregate and in detailed mode
 * (every spinner woken by every write and re-reading the line itself).
 */
import { describe, expect, it } from 'vitest';
import { Machine, type MachineSpec } from '../src/machine.ts';
import { handMadeSpec } from './helpers/machines.ts';
import { SeqLock } from '../src/locks/seqlock.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../src/config/scenarioSchema.ts';
import { InputError } from '../src/config/errors.ts';
import { resolvePoints } from '../src/config/points.ts';
import { scenarioEdit } from '../src/cli/options.ts';
import { modelsForPoint } from '../src/runner/kinds.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema } from '../src/workload/launchParams.ts';
import { runLockMicrobench } from '../src/bench/lockMicrobench.ts';
import { Simulator } from '../src/engine/simulator.ts';

/**
 * `fn` with every wait an event (no clock advance, test/clockAdvance.test.ts):
 * the herd's own saving. With the advance, a detailed spinner's wake and
 * re-read are often skipped too, so the two modes' counts come close (at
 * some points the detailed count is the lower).
 */
function withoutAdvance<T>(fn: () => T): T {
  Simulator.advanceByDefault = false;
  try {
    return fn();
  } finally {
    Simulator.advanceByDefault = true;
  }
}

interface StormResult {
  /** Per reader: when its read returned, and how many times it redid its section. */
  readerDone: number[];
  retries: number[];
  /** When each of the writer's write sections began (after its writeLock) and ended. */
  writerTimes: number[];
  events: number;
  readerSpins: number;
}

/**
 * One writer holds `mount_lock` odd while `readers` readers begin a path walk
 * and spin; it leaves, works 20 ns (less than a pause: its next writeLock's
 * atomic arrives among the readers' re-reads) and writes twice more.
 */
function storm(spec: MachineSpec, readers: number, detailed: boolean, placement: 'spread' | 'compact' = 'compact', writers = 1): StormResult {
  const m = new Machine({ ...spec, detailedSpinners: detailed }, { seed: 'herd', placement });
  const sl = new SeqLock('mount_lock', m.coherence);
  const r: StormResult = { readerDone: [], retries: [], writerTimes: [], events: 0, readerSpins: 0 };
  // More writers: the ones waiting for the lock spin on the same line (the
  // qspinlock's head on the lock word), woken one by one among the herd.
  for (let w = 0; w < writers; w++) m.spawn(`writer${w}`, function* (t) {
    if (w > 0) {
      t.work(1_500 + 400 * w);
      yield;
    }
    for (let i = 0; i < 3; i++) {
      yield* sl.writeLock(t);
      r.writerTimes.push(t.sim.now);
      t.work(i === 0 ? 5_000 : 300);
      yield;
      yield* sl.writeUnlock(t);
      r.writerTimes.push(t.sim.now);
      t.work(20);
      yield;
    }
  });
  for (let i = 0; i < readers; i++) {
    m.spawn(`reader${i}`, function* (t) {
      // Arrive while the writer is inside (it entered within the first microsecond).
      t.work(1_000 + 37 * i);
      yield;
      const retries = (yield sl.read(t, 200)) as number;
      r.readerDone[i] = t.sim.now;
      r.retries[i] = retries;
    });
  }
  m.sim.run();
  r.events = m.sim.eventsFired;
  r.readerSpins = sl.stats.readerSpins;
  return r;
}

describe('spinner herds in aggregate', () => {
  it('on the mesh: the same times as every spinner on its own, without a wake per spinner per write', () => {
    const spec = handMadeSpec('mesh', 1, 16, 1);
    const agg = storm(spec, 12, false);
    const det = storm(spec, 12, true);
    // Everyone spun (one reader twice: the writer's end of section leaves its
    // store buffer after the reader's re-read, and it writes again): the
    // comparison is about the herd.
    expect(det.readerSpins).toBeGreaterThanOrEqual(12);
    expect(agg.readerSpins).toBe(det.readerSpins);
    // Members keep their arrival times in the TOR: the writer's next atomic,
    // arriving among their re-reads, is served in the same place, so every
    // time is the same to the nanosecond.
    expect(agg.writerTimes).toEqual(det.writerTimes);
    expect(agg.readerDone).toEqual(det.readerDone);
    expect(agg.retries).toEqual(det.retries);
    // Detailed: each write wakes each spinner (an event) before its re-read.
    // Aggregate: no wake; at most one event per write for the queue's start.
    expect(det.events - agg.events).toBeGreaterThanOrEqual(12 - 3);
  });

  it('a spinner on the writer\'s own core (its SMT sibling) re-reads by itself, as in detailed mode', () => {
    // 4 cores x 2 threads, compact placement: a reader sits on the writer's sibling.
    const spec = handMadeSpec('mesh', 1, 4, 1, 2);
    const agg = storm(spec, 7, false);
    const det = storm(spec, 7, true);
    expect(agg.readerDone).toEqual(det.readerDone);
    expect(agg.writerTimes).toEqual(det.writerTimes);
    expect(agg.events).toBeLessThan(det.events);
  });

  it('on the chiplet fabric (one home request per CCX, the rest inside it, other spinners of the CCX among the herd): the same times', () => {
    const spec = handMadeSpec('chiplet', 1, 16, 4);
    for (const writers of [1, 3]) {
      const agg = storm(spec, 12, false, 'spread', writers);
      const det = storm(spec, 12, true, 'spread', writers);
      expect(agg.readerSpins).toBe(det.readerSpins);
      expect(agg.readerDone, `${writers} writers`).toEqual(det.readerDone);
      expect(agg.writerTimes, `${writers} writers`).toEqual(det.writerTimes);
      expect(agg.events).toBeLessThan(det.events);
    }
  });

  it('the same seed gives the same run (aggregate mode)', () => {
    const spec = handMadeSpec('chiplet', 1, 16, 4);
    expect(storm(spec, 12, false, 'spread')).toEqual(storm(spec, 12, false, 'spread'));
  });
});

/** One launch point (per-layer idmap) in either mode: its metrics. */
function launch(model: string, restriction: { cores?: number }, containers: number, layers: number, seed: string, detailed: boolean, variant: 'per-layer-idmap' | 'common-parent' = 'per-layer-idmap'): Record<string, number> {
  const spec = machineSpecFromTopology(buildTopology(loadHardwareModel(model), restriction));
  const kernel = loadKernelModel('linux-6.6');
  const params = launchSchema.parse({ containers: [containers], variant, layers });
  const m = new Machine({ ...spec, detailedSpinners: detailed }, { seed, placement: 'spread' });
  return simulateLaunch(m, kernel, params, buildLaunchTrace(params, containers, kernel, seed)).metrics as unknown as Record<string, number>;
}

describe('lock microbenchmark in both modes', () => {
  // More threads than CPUs: spinners are preempted at the end of their slice,
  // some while the fabric holds a re-read queued for them (it must give it
  // back: a preempted spinner re-reads only once it runs again).
  for (const lock of ['ttas', 'qspinlock'] as const) {
    it(`${lock}, 80 threads on m7i.metal-24xl with HT off (48 CPUs), 6 on 4 CPUs, 6 on 8: the same acquisitions and latencies, fewer events`, () => {
      const m7iHtOff = machineSpecFromTopology(buildTopology(loadHardwareModel('m7i.metal-24xl'), { smt: false }));
      for (const [spec, threads, durationNs, thinkNs] of [[m7iHtOff, 80, 10_000_000, 2_000], [handMadeSpec('mesh', 1, 4, 1), 6, 10_000_000, 500], [handMadeSpec('chiplet', 1, 8, 2), 6, 4_000_000, 500]] as const) {
        const p = { lock, threads, criticalSectionNs: 200, thinkNs, distribution: 'exponential' as const, durationNs, placement: 'scatter' as const };
        const agg = runLockMicrobench({ ...spec, detailedSpinners: false }, p, 'herd');
        const det = runLockMicrobench({ ...spec, detailedSpinners: true }, p, 'herd');
        expect(agg.acquisitions).toBeGreaterThan(100);
        expect(agg.latencyP99Ns).toBeGreaterThan(0);
        expect({ ...agg, events: 0 }).toEqual({ ...det, events: 0 });
        const [aggEvents, detEvents] = withoutAdvance(() => [false, true].map((d) => runLockMicrobench({ ...spec, detailedSpinners: d }, p, 'herd').events));
        // A qspinlock has one spinner per line (the queue's head on the lock
        // word, each waiter on its own node): a write invalidates one spinner,
        // which re-reads by itself in both modes (CoherenceFabric.invalidateSpinners).
        if (lock === 'qspinlock') expect(aggEvents).toBeLessThanOrEqual(detEvents);
        else expect(aggEvents).toBeLessThan(detEvents);
      }
    });
  }
});

describe('launch points in both modes', () => {
  // m7a.24xlarge restricted to 48 cores (6 CCXs): herds meet the qspinlock's
  // head waiters of their CCX (their merge chains must keep arrival order)
  // and CCX members that re-read after their CCX's fill (served where they
  // find the line then). r5.metal: the TOR; in common parent, a herd member
  // whose SMT sibling has a write in flight (its line handed over at the
  // snoop) must wait for that fill in both modes.
  for (const [model, restriction, k, l, seed, variant] of [
    ['m7a.24xlarge', { cores: 48 }, 10, 50, 'dbg', 'per-layer-idmap'],
    ['m7a.24xlarge', { cores: 48 }, 20, 20, 'herd', 'per-layer-idmap'],
    ['m7a.24xlarge', { cores: 48 }, 20, 10, 'a', 'per-layer-idmap'],
    ['m7a.24xlarge', {}, 20, 20, 'herd', 'per-layer-idmap'],
    ['r5.metal', {}, 20, 20, 'herd', 'per-layer-idmap'],
    ['r5.metal', {}, 50, 20, 's', 'common-parent'],
  ] as const) {
    it(`${model}${restriction.cores ? ` (${restriction.cores} cores)` : ''}, ${k} x ${l} layers, ${variant}: every metric the same but the event count`, () => {
      const agg = launch(model, restriction, k, l, seed, false, variant);
      const det = launch(model, restriction, k, l, seed, true, variant);
      expect({ ...agg, events: 0 }).toEqual({ ...det, events: 0 });
      const [aggEvents, detEvents] = withoutAdvance(() => [false, true].map((d) => launch(model, restriction, k, l, seed, d, variant).events));
      expect(aggEvents).toBeLessThan(detEvents);
    });
  }
});

describe('simulation.detailed and --detailed', () => {
  const text = (extra: string) =>
    `name: t\nkind: launch\nvariants:\n  - label: a\n    machine: { model: r5.metal }\nlaunch:\n  containers: [10]\n  layers: 5\n  variant: per-layer-idmap\n${extra}`;
  const write = (extra: string) => {
    const f = join(mkdtempSync(join(tmpdir(), 'locksim-herd-')), 's.yaml');
    writeFileSync(f, text(extra));
    return f;
  };

  it('reach the machine: aggregate by default, detailed from the file or the flag', () => {
    const plain = loadScenario(write(''));
    expect(modelsForPoint(resolvePoints(plain)[0]).machine.detailedSpinners).toBeUndefined();
    const fromFile = loadScenario(write('simulation: { detailed: true }\n'));
    expect(modelsForPoint(resolvePoints(fromFile)[0]).machine.detailedSpinners).toBe(true);
    const fromFlag = scenarioEdit({ detailed: true })!(plain);
    const p = resolvePoints(fromFlag)[0];
    expect(modelsForPoint(p).machine.detailedSpinners).toBe(true);
    // Not part of the point's key or seed: both modes draw the same streams.
    expect(p.seed).toBe(resolvePoints(plain)[0].seed);
  });

  it('a bad value is one error at its place in the file', () => {
    let err: unknown;
    try {
      loadScenario(write('simulation: { detailed: yes-please }\n'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/:10:25: simulation\.detailed: expected true or false, got "yes-please"$/);
  });
});
