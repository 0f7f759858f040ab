/**
 * The TTAS hand-off between two cores that share no L3 (docs/validation.md,
 * "The TTAS hand-off"; measured on this project's 2-vCPU guest with the
 * vCPUs on different CCXs of the host). Two mechanisms of
 * CoherenceFabric and ExchangeLock, each with a test that fails without it:
 *
 * - x86 TSO: the release is a plain store; others read the lock free only
 *   once the store is visible (its read-for-ownership filled), while the
 *   releasing thread reads its own store at once and goes straight to its
 *   next exchange. So the holder takes its lock back, thousands of times in a
 *   row (bursts.c measured mean bursts of 640-13,000 acquisitions at 25-800 ns
 *   critical sections; 17-21 at none).
 * - A spinner re-reads when its copy is invalidated, not when the new value
 *   is published: its read waits at the line's home behind the write and
 *   takes the line back (shared) early in the next critical section, so each
 *   release needs the line again: one transfer per acquisition above the
 *   critical section (the probe: 210-260 ns per acquisition above it at
 *   25-800 ns, against a measured clean transfer of ~140-170 ns).
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/config/errors.ts';
import { Machine, type MachineSpec } from '../src/machine.ts';
import { makeSpinLock } from '../src/locks/spinlock.ts';
import { handMadeSpec } from './helpers/machines.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { calibrateLockbench, cpusApart, hostMachineSpec, lockbenchBaseModel, simulateLockbench, type LockbenchPoint } from '../src/host/calibrate.ts';
import { onSetPlacement, setTransferNs, withPlacement } from '../src/host/calibration/fit.ts';

/** Two cores in separate L3 groups (chiplet), `transferNs` apart, a 19 ns pause (this guest's PAUSE). */
function apart(transferNs: number): MachineSpec {
  const s = handMadeSpec('chiplet', 1, 2, 2);
  return { ...s, latencies: { ...s.latencies, crossL3: transferNs }, pauseNs: 19 };
}

/** Two threads taking a TTAS lock in a loop with a critical section of `csNs`: acquisitions/s, mean run of one thread's acquisitions in a row. */
function ttas(spec: MachineSpec, csNs: number): { perSec: number; burst: number; nsPerAcquisition: number } {
  const m = new Machine(spec, { seed: 'handoff', placement: 'spread' });
  const lock = makeSpinLock('ttas', 'l', m.coherence);
  const who: number[] = [];
  for (let i = 0; i < 2; i++) {
    m.spawn(`w${i}`, function* (t) {
      for (;;) {
        t.work(6);
        yield;
        yield lock.acquire(t);
        who.push(i);
        if (csNs > 0) {
          t.work(csNs);
          yield;
        }
        yield lock.release(t);
      }
    });
  }
  const durationNs = 1_000_000;
  m.sim.run(durationNs);
  let runs = 1;
  for (let k = 1; k < who.length; k++) if (who[k] !== who[k - 1]) runs++;
  return { perSec: (who.length / durationNs) * 1e9, burst: who.length / runs, nsPerAcquisition: durationNs / who.length };
}

describe('TTAS hand-off between cores that share no L3', () => {
  it('the holder takes its lock back: bursts of hundreds of acquisitions at 50-400 ns critical sections', () => {
    for (const cs of [50, 100, 400]) expect(ttas(apart(170), cs).burst, `cs ${cs}`).toBeGreaterThan(100);
  });

  it('each acquisition pays about one transfer above its critical section and loop (the spinner took the line back)', () => {
    for (const cs of [50, 100, 200]) {
      const r = ttas(apart(170), cs);
      // Critical section + the loop's 6 ns + one transfer, within a fifth of the transfer.
      expect(r.nsPerAcquisition, `cs ${cs}`).toBeGreaterThan(cs + 6 + 0.8 * 170);
      expect(r.nsPerAcquisition, `cs ${cs}`).toBeLessThan(cs + 6 + 1.2 * 170);
    }
  });

  it('with no critical section the holder runs on its own copy between the spinner\'s reads: tens of millions per second, bursts of tens', () => {
    const r = ttas(apart(170), 0);
    expect(r.perSec).toBeGreaterThan(15e6);
    expect(r.burst).toBeGreaterThan(3);
    expect(r.burst).toBeLessThan(10_000);
  });
});

describe('the host model of a lockbench calibration', () => {
  const hw = loadHardwareModel('generic-2core');

  it('puts the two cpus in separate L3 groups when their measured transfer is beyond a shared L3\'s', () => {
    expect(hw.topology.l3GroupsPerSocket).toBe(1);
    expect(cpusApart(hw, 30)).toBe(false);
    expect(cpusApart(hw, 240)).toBe(true);
    const { model, split } = lockbenchBaseModel(hw, 240, undefined, []);
    expect(split).toBe(true);
    expect(model.topology.l3GroupsPerSocket).toBe(2);
    expect(hostMachineSpec(model).layout.l3Groups).toBe(2);
  });

  it('takes the pause the probe measured and fits the transfer alone', () => {
    // (Transfers varying as this guest's probe measured them, jitterCv 0.014.)
    const truth = lockbenchBaseModel(hw, 240, 19, [], 0.014).model;
    truth.coreToCore.crossL3 = { value: 160, source: 't' };
    const spec = hostMachineSpec(truth);
    const points: LockbenchPoint[] = [50, 200, 800].map((cs) => {
      const p: LockbenchPoint = { files: [`cs${cs}`], lock: 'ttas', threads: 2, csNs: cs, thinkNs: 0, runsPerSec: [], clockReadNs: 26, sampleEvery: 16, iterationNs: 6, runsTransferNs: [240], pauseNs: 19, jitterCv: 0.014 };
      p.runsPerSec = [simulateLockbench(spec, p)];
      return p;
    });
    const fit = calibrateLockbench(hw, points);
    expect(fit.parameters.map((p) => p.name)).toEqual(['coreToCore.crossL3']);
    expect(fit.model.pause.cycles.value).toBeCloseTo(19 * hw.cpu.ghz.value, 0);
    expect(fit.parameters[0]!.value).toBeGreaterThan(150);
    expect(fit.parameters[0]!.value).toBeLessThan(170);
  });

  // Two threads passing a lock with no critical section: the holder's loop is a
  // few ns, a transfer ~150. With every transfer exactly its latency the
  // spinner's request always reaches the holder at one phase of its loop, and
  // which phase follows from the latency modulo the loop: the model gave 26 to
  // 57 M/s between 130 and 150 ns where the hardware gives 30-34 M/s in every
  // window. Transfers that vary as the probe measures them (transferSpread,
  // ~1-5%) spread the phases: the throughput then moves smoothly with the latency.
  it('at cs = 0 varies smoothly with the transfer once transfers vary as measured (coreToCore.jitterCv)', () => {
    const p: LockbenchPoint = { files: ['cs0'], lock: 'ttas', threads: 2, csNs: 0, thinkNs: 0, runsPerSec: [], clockReadNs: 36, sampleEvery: 16, iterationNs: 6, data: 'same-line', pauseNs: 19 };
    const at = (T: number) => {
      const m = lockbenchBaseModel(hw, 240, 19, [], 0.03).model;
      m.coreToCore.crossL3 = { value: T, source: 't' };
      return simulateLockbench(hostMachineSpec(m), p);
    };
    const r = [130, 140, 150, 160, 170].map(at);
    expect(Math.max(...r) / Math.min(...r)).toBeLessThan(1.25);
  });

  // w65: 4 of 15 runs were made with the vCPUs on one CCX (35 ns), where the
  // model is not the far one's; fitted beside them the far transfer went to
  // 231 ns, without them 133. Here the near runs measured half what the model
  // gives there: left out, the fit still finds the far runs' transfer.
  it('leaves runs made on another placement of the vcpus out of the fit', () => {
    const truth = lockbenchBaseModel(hw, 240, 19, []).model;
    truth.coreToCore.crossL3 = { value: 160, source: 't' };
    const spec = hostMachineSpec(truth);
    const points: LockbenchPoint[] = [50, 200, 800].map((cs) => {
      const one = (t: number): LockbenchPoint => ({ files: [`cs${cs}-${t}`], lock: 'ttas', threads: 2, csNs: cs, thinkNs: 0, runsPerSec: [], clockReadNs: 26, sampleEvery: 16, iterationNs: 6, runsTransferNs: [t], pauseNs: 19 });
      const far = simulateLockbench(spec, one(240));
      const near = simulateLockbench(spec, { ...one(35), runsTransferScale: [35 / 240] });
      return { ...one(240), files: [`cs${cs}-far`, `cs${cs}-far2`, `cs${cs}-near`], runsPerSec: [far, far, near / 2], runsTransferNs: [240, 240, 35] };
    });
    const kept = onSetPlacement(withPlacement(points, setTransferNs(points)));
    expect(kept.map((p) => p.files)).toEqual([50, 200, 800].map((cs) => [`cs${cs}-far`, `cs${cs}-far2`]));
    const fit = calibrateLockbench(hw, points);
    expect(fit.otherPlacementRuns).toBe(3);
    expect(fit.points.every((p) => p.measured.length === 2)).toBe(true);
    expect(fit.parameters[0]!.value).toBeGreaterThan(150);
    expect(fit.parameters[0]!.value).toBeLessThan(170);
  });

  // A reduced set (2 critical sections x 2 runs) whose runs split evenly
  // between the placements: the median of all four transfers was neither, so
  // every run was left out and the fitting library threw (2026-12-02).
  it('fits an even split on the faster placement\'s runs, or on the mount storms\' placement\'s; refuses one run per placement in one line', () => {
    const truth = lockbenchBaseModel(hw, 240, 19, []).model;
    truth.coreToCore.crossL3 = { value: 160, source: 't' };
    const spec = hostMachineSpec(truth);
    const points: LockbenchPoint[] = [50, 200].map((cs) => {
      const one: LockbenchPoint = { files: [`cs${cs}-far`, `cs${cs}-near`], lock: 'ttas', threads: 2, csNs: cs, thinkNs: 0, runsPerSec: [], clockReadNs: 26, sampleEvery: 16, iterationNs: 6, runsTransferNs: [240, 35], pauseNs: 19 };
      const far = simulateLockbench(spec, { ...one, runsTransferNs: [240] });
      const near = simulateLockbench(spec, { ...one, runsTransferNs: [35], runsTransferScale: [35 / 240] });
      return { ...one, runsPerSec: [far, near] };
    });
    expect(setTransferNs(points)).toBe(35);
    const fit = calibrateLockbench(hw, points);
    expect(fit.otherPlacementRuns).toBe(2);
    expect(fit.points.map((p) => p.files)).toEqual([['cs50-near'], ['cs200-near']]);
    // With the mount storms measured at the far placement the split goes to them: the kernel fit runs the storms on this hardware.
    const toStorms = calibrateLockbench(hw, points, { stormTransferNs: 236 });
    expect(toStorms.points.map((p) => p.files)).toEqual([['cs50-far'], ['cs200-far']]);
    expect(toStorms.transferNs).toBe(240);
    const single = points.map((p, i) => ({ ...p, files: [p.files[i]!], runsPerSec: [p.runsPerSec[i]!], runsTransferNs: [p.runsTransferNs![i]!] }));
    expect(() => calibrateLockbench(hw, single)).toThrow(InputError);
    expect(() => calibrateLockbench(hw, single)).toThrow(/cs50-far:1:1: results\.transferNs: expected at least 2 lockbench runs on one placement of the vCPUs .* got 2 runs at 35, 240 ns/);
  });
});

describe('a spinner re-reads when its copy is invalidated', () => {
  // Three cores of one mesh socket. S read the line and spins on it; W
  // writes the line (an atomic: its request takes S's copy halfway, at the
  // snoop); X reads the line ~10 ns after W's fill. S's re-read left when its
  // copy went (after the rest of a pause), so it is ahead of X at the TOR and
  // X waits for it: X's read completes two transfers after W's fill. Were S
  // to re-read only once the new value is published (W's fill, then the rest
  // of its pause, up to 100 ns here), X would be served first: one transfer.
  it('so its read waits at the home behind the write, ahead of a read made after the write\'s fill', () => {
    const s = handMadeSpec('mesh', 1, 4, 1);
    const spec: MachineSpec = { ...s, pauseNs: 100 };
    const m = new Machine(spec, { seed: 'inv', placement: 'spread' });
    const coh = m.coherence, line = coh.newLine('x'), T = spec.latencies.sameL3;
    let spinning = true;
    const cond = { waiting: () => spinning };
    const at: Record<string, number> = {};
    m.spawn('W', function* (t) {
      if (coh.rmw(t, line)) yield; // W holds it (M)
      t.work(1_000);
      yield;
      at.writeStart = t.sim.now;
      if (coh.rmw(t, line)) yield; // S holds a copy: a transfer
      at.writeFilled = t.sim.now;
      coh.publish(t, line);
    });
    m.spawn('S', function* (t) {
      t.work(300);
      yield;
      if (coh.load(t, line)) yield;
      yield coh.spinWhile(t, line, cond);
    });
    m.spawn('X', function* (t) {
      t.work(1_000 + 2 * T + 10);
      yield;
      at.xStart = t.sim.now;
      if (coh.load(t, line)) yield;
      at.xDone = t.sim.now;
      spinning = false;
    });
    m.sim.run(20_000);
    expect(at.writeFilled! - at.writeStart!).toBeCloseTo(T, 0);
    expect(at.xStart!).toBeGreaterThan(at.writeFilled!);
    expect(at.xDone! - at.writeFilled!).toBeGreaterThan(1.9 * T);
  });
});

describe('a write while a read of the line is on its way to another core', () => {
  // Two CCXs (crossL3 100 ns, sameL3 45). O holds the line; R, in the other
  // CCX, reads it: O loses its exclusivity at the read's snoop (halfway), and
  // until the data reaches R nobody else holds a copy yet. O writes in that
  // gap: its request must take R's incoming copy, a cross-CCX transfer, not
  // a fetch of a line nobody holds (charged sameL3, as memory). It starts at
  // once: the invalidation may pass R's data on its way (queued at the home
  // behind R's read instead, the lock microbenchmark's held-out error on w60
  // went from 7.4% to 13.0%; docs/validation.md, "The TTAS hand-off").
  it('pays the transfer to that core', () => {
    const spec = handMadeSpec('chiplet', 1, 2, 2);
    const m = new Machine(spec, { seed: 'inflight', placement: 'spread' });
    const coh = m.coherence, line = coh.newLine('x');
    const at: Record<string, number> = {};
    m.spawn('O', function* (t) {
      if (coh.rmw(t, line)) yield; // from memory: sameL3
      t.work(1_000 + 60 - spec.latencies.sameL3);
      yield;
      at.writeStart = t.sim.now;
      if (coh.rmw(t, line)) yield;
      at.writeDone = t.sim.now;
    });
    m.spawn('R', function* (t) {
      t.work(1_000);
      yield;
      at.readStart = t.sim.now;
      if (coh.load(t, line)) yield;
    });
    m.sim.run(10_000);
    // O's write began after R's snoop and before R's fill.
    expect(at.writeStart! - at.readStart!).toBeGreaterThan(spec.latencies.crossL3 / 2);
    expect(at.writeStart! - at.readStart!).toBeLessThan(spec.latencies.crossL3);
    expect(at.writeDone! - at.writeStart!).toBeCloseTo(spec.latencies.crossL3, 0);
  });
});

describe('a run on the other placement of the vCPUs', () => {
  it('is simulated with the cpus grouped as its own transfer says (one CCX near, two far)', () => {
    const far = apart(240);
    const near = ((s) => ({ ...s, latencies: { ...s.latencies, sameL3: 30, crossL3: 30 }, pauseNs: 19 }))(handMadeSpec('chiplet', 1, 2, 1));
    // With no critical section the grouping decides (two CCXs at 240 ns: ~31 M/s; one: ~2.5 M/s).
    const base: LockbenchPoint = { files: [], lock: 'ttas', threads: 2, csNs: 0, thinkNs: 0, runsPerSec: [0], clockReadNs: 26, sampleEvery: 16, iterationNs: 6 };
    // A set calibrated far (240 ns); this run measured 30 ns: scaled by 30 / 240 and in one L3 group.
    const moved = simulateLockbench(far, { ...base, runsTransferNs: [30], runsTransferScale: [30 / 240] });
    expect(Math.abs(moved / simulateLockbench(near, base) - 1)).toBeLessThan(0.005);
    // And back: a set calibrated near, a run far.
    const back = simulateLockbench(near, { ...base, runsTransferNs: [240], runsTransferScale: [240 / 30] });
    expect(Math.abs(back / simulateLockbench(far, base) - 1)).toBeLessThan(0.005);
  });
});

// measurements/transfer-kinds-2026-12-01 (AMD EPYC family 26): a locked
// exchange of a line its core wrote last and the other core read since took
// 340 ns; of a line the other core held modified, 170 ns. With the two
// transfers the lock microbenchmark with no critical section is where the
// hardware is at the clean transfer (twenty-fourth session).
describe('an atomic on a line its core holds shared with another core', () => {
  const s = apart(150);
  const timeRmw = (otherReads: boolean, sharedRmw?: number): number => {
    const spec: MachineSpec = { ...s, latencies: { ...s.latencies, ...(sharedRmw ? { sharedRmw } : {}) } };
    const m = new Machine(spec, { seed: 'rmw', placement: 'spread' });
    const coh = m.coherence, line = coh.newLine('x');
    let took = NaN;
    m.spawn('a', function* (t) {
      if (coh.rmw(t, line)) yield;
      t.work(2000);
      yield;
      const t0 = t.localNow;
      if (coh.rmw(t, line)) yield;
      took = t.localNow - t0;
    });
    m.spawn('b', function* (t) {
      t.work(1000);
      yield;
      // The other core reads the line (a shares it now), or takes it modified.
      if (otherReads ? coh.load(t, line) : coh.rmw(t, line)) yield;
    });
    m.sim.run(20_000);
    return took;
  };

  it('costs sharedRmwTransfers transfers; one when the other core holds it modified, and one without the field', () => {
    expect(timeRmw(false, 2)).toBeCloseTo(150, -1);
    expect(timeRmw(true, 2)).toBeCloseTo(300, -1);
    expect(timeRmw(true)).toBeCloseTo(150, -1);
  });
});
