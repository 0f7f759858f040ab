// The host's halt polling of idle vCPUs (hardware wakeup.haltPoll; KVM's
// adaptive window, src/cpu/scheduler.ts HaltPoll): a wake-up onto an idle
// vCPU costs remoteNs while the host still polls it and haltedNs once it has
// blocked it; the window grows with short halts up to maxNs and shrinks after
// long ones. The wakeup probe's gap sweep is replayed on the model, and
// probe evidence gives the parameters. The rule tested here is the model's,
// not the host's in full: replayed over the probe's own shortest-first
// sweep it blocks from 100 us of idle on, where the probe measured fast
// wake-ups up to 120 us (docs/validation.md, "Twenty-seventh session").
import { describe, expect, it } from 'vitest';
import { loadHardwareModel, type HardwareModel } from '../src/config/hardwareSchema.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { hostMachineSpec, probeLaunchParams, traceOf, type MountstormPoint } from '../src/host/calibrate.ts';
import { haltPollEvidence } from '../src/host/measure.ts';
import { Machine } from '../src/machine.ts';
import type { SimThread } from '../src/cpu/thread.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { simulateLaunch } from '../src/workload/launch.ts';

const REMOTE = 10_000;
const HALTED = 79_000;
const MAX = 135_000;
const src = 'test';

/** generic-2core with a measured-style wakeup section, with the host's halt polling (a blocked vCPU's wake-up `haltedNs`) or without. */
function hardware(halts: boolean, haltedNs = HALTED): HardwareModel {
  const hw = structuredClone(loadHardwareModel('generic-2core'));
  hw.wakeup = {
    localNs: { value: 2_300, source: src },
    remoteNs: { value: REMOTE, source: src },
    waitOnPreviousShare: { value: 0.5, source: src },
    preemptShare: { value: 1, source: src },
    ...(halts
      ? { haltPoll: { haltedNs: { value: haltedNs, source: src }, maxNs: { value: MAX, source: src }, growStartNs: { value: 10_000, source: src }, grow: { value: 2, source: src }, shrink: { value: 2, source: src } } }
      : {}),
  };
  return hw;
}

/**
 * Wake-ups onto CPU 1 after it idled each gap: the waker, pinned to CPU 0,
 * works the gap after the wakee (pinned to CPU 1) slept, wakes it, and
 * spins until it has answered, so only CPU 1 halts. Returns the median
 * wake-to-run latency at each gap, in the order given (the first two of
 * each gap unrecorded, as the probe's are).
 */
function gapSweep(halts: boolean, gapsUs: number[], samples = 30, observe?: (cpu: number, idleNs: number, halted: boolean) => void): number[] {
  const m = new Machine(machineSpecFromTopology(buildTopology(hardware(halts), {})), { seed: 'sweep' });
  m.scheduler.perCpuQueues = { balanceIntervalNs: 4_000_000 };
  if (observe) m.scheduler.remoteWakeObserver = observe;
  const medians: number[] = [];
  let lat: number[] = [];
  let wokeAt = 0;
  let answered = false;
  let wakee: SimThread | null = null;
  m.spawn('waker', function* (t) {
    for (const gap of gapsUs) {
      lat = [];
      for (let s = 0; s < samples + 2; s++) {
        t.work(gap * 1000);
        yield;
        answered = false;
        wokeAt = t.sim.now;
        wakee!.wake();
        while (!answered) {
          t.work(500);
          yield;
        }
      }
      const v = lat.slice(2).sort((a, b) => a - b);
      medians.push(v[v.length >> 1]!);
    }
    wakee!.wake();
  }, [0]);
  wakee = m.spawn('wakee', function* (t) {
    t.sleep();
    yield;
    for (;;) {
      if (lat.length > samples + 1 && medians.length === gapsUs.length) return;
      lat.push(t.sim.now - wokeAt);
      answered = true;
      t.sleep();
      yield;
    }
  }, [1]);
  m.sim.run(1e12);
  return medians;
}

describe("the host's halt polling (hardware wakeup.haltPoll)", () => {
  it('a vCPU woken after steady short idles is polled once its window has grown; idles that, with the host\'s wake-up, outlast the ceiling keep it blocked', () => {
    // A run starts with the window closed. 20, 40 and 60 us of idle plus the
    // blocked wake-up (79 us) stay under the 135 us ceiling: each blocked
    // halt doubles the window (from 10 us) until it covers the idle.
    // 100 us and more: every halt with its wake-up is over the ceiling, the
    // window only shrinks, and every wake-up pays the blocked one.
    const gaps = [20, 40, 60, 100, 150, 300];
    expect(gapSweep(true, gaps)).toEqual([REMOTE, REMOTE, REMOTE, HALTED, HALTED, HALTED]);
    // Without the host's polling modelled every wake-up onto the idle CPU costs remoteNs.
    expect(gapSweep(false, gaps)).toEqual(gaps.map(() => REMOTE));
  });

  it('hysteresis, as the probe shows it swept both ways: 80 us of idle is polled after shorter idles grew the window, blocked after long ones closed it; 40 us opens it again', () => {
    // After 60 us the window is 80 us (10, 20, 40, 80). After 300 us it is
    // closed, and 80 us plus the blocked wake-up is over the ceiling, so it
    // cannot grow; 40 us plus the wake-up is under it.
    expect(gapSweep(true, [20, 60, 80, 300, 80, 40])).toEqual([REMOTE, REMOTE, REMOTE, HALTED, HALTED, REMOTE]);
  });

  it('the diagnostic observer (scripts/wake-census.ts) is told of each wake-up onto the idle vCPU: how long it idled, and whether the host had blocked it', () => {
    const seen: { idleUs: number; halted: boolean }[] = [];
    const medians = gapSweep(true, [20, 300], 10, (cpu, idleNs, halted) => {
      expect(cpu).toBe(1);
      seen.push({ idleUs: idleNs / 1000, halted });
    });
    expect(medians).toEqual([REMOTE, HALTED]);
    // 12 wake-ups per gap, and the last one that lets the wakee end.
    expect(seen).toHaveLength(25);
    const short = seen.slice(0, 12), long = seen.slice(12, 24);
    for (const w of long) expect(w).toEqual({ idleUs: expect.closeTo(300, -1), halted: true });
    for (const w of short) expect(w.idleUs).toBeLessThan(25);
    // The window starts closed and has grown past 20 us after the first blocked halts.
    expect(short[0]!.halted).toBe(true);
    expect(short.slice(-5).every((w) => !w.halted)).toBe(true);
    // Without the host's polling modelled there is nothing to report.
    const none: number[] = [];
    gapSweep(false, [20], 5, (_c, idleNs) => none.push(idleNs));
    expect(none).toEqual([]);
  });

  it('a two-container storm of one layer: unmounts wait longer where the host blocks idle vCPUs, and a lone container does not', () => {
    const kernel = loadKernelModel('linux-6.6');
    const storm = (haltedNs: number, containers: number) => {
      const p: MountstormPoint = { file: 't', files: [], variant: 'per-layer-idmap', containers, layers: 1, runsMeanNs: [], opCounts: {}, traces: [] };
      const means: number[] = [];
      for (const seed of ['a', 'b', 'c', 'd']) {
        const r = simulateLaunch(new Machine(hostMachineSpec(hardware(true, haltedNs)), { seed }), kernel, probeLaunchParams(p), traceOf(p), {});
        means.push(r.metrics.rootfsMeanS);
      }
      return means.reduce((a, b) => a + b, 0) / means.length;
    };
    // Against the same machine whose blocked vCPUs wake as fast as polled
    // ones (the same placements, no blocked wake-up's cost): two containers
    // on two vCPUs hand grace periods and wake-ups across vCPUs that idled
    // while the other waited, and some find it blocked.
    expect(storm(HALTED, 2)).toBeGreaterThan(storm(REMOTE, 2) * 1.1);
    // One container keeps its grace periods on its own vCPU: nothing to wake there.
    expect(storm(HALTED, 1)).toBeCloseTo(storm(REMOTE, 1), 6);
  });
});

describe('halt polling in a hardware model file', () => {
  it('a model built from a wakeup measurement whose sweep shows blocked vCPUs (host topology --wakeup) carries it, sourced, and loads', async () => {
    const { hostToModel, readSysfsTopology } = await import('../src/host/topology.ts');
    const { hardwareModelSchema } = await import('../src/config/hardwareSchema.ts');
    const host = readSysfsTopology('/');
    const byGap = [20, 40, 60, 80, 100, 120, 150, 200, 300, 500, 1000].map((g, i) => ({ gapNs: g * 1000, p50Ns: (i < 6 ? 10.3 : 75) * 1000 }));
    const ev = { file: 'w.json', startedAt: '2026-12-01T10:00:00Z', cpus: host.cpus.length, runs: 5, localNs: 2_300, remoteNs: 10_300, remoteGapNs: 20_000, remoteByGap: byGap, waitOnPrevious: { share: 0.5, samples: 400 }, preemptOnPrevious: { share: 1, samples: 100 }, ...haltPollEvidence(byGap) };
    const model = hostToModel(host, { wakeup: ev });
    expect(hardwareModelSchema.safeParse(model).success).toBe(true);
    const h = model.wakeup!.haltPoll!;
    expect([h.haltedNs.value, h.maxNs.value, h.growStartNs.value, h.grow.value, h.shrink.value]).toEqual([75_000, 135_000, 10_000, 2, 2]);
    expect(h.maxNs.source).toContain('w.json');
    expect(h.maxNs.source).toContain('120.0 us');
    expect(h.shrink.source).toContain('aeb1b22a3ac8');
    // The same measurement with the coarse sweep of earlier probes: no halt polling.
    expect(hostToModel(host, { wakeup: { ...ev, haltPoll: undefined } }).wakeup!.haltPoll).toBeUndefined();
  });

  it('takes KVM\'s 0 for grow (never grow) and shrink (reset to 0), and refuses a negative one with the field named', async () => {
    const { hardwareModelSchema } = await import('../src/config/hardwareSchema.ts');
    const hw = hardware(true);
    hw.wakeup!.haltPoll!.shrink.value = 0;
    hw.wakeup!.haltPoll!.grow.value = 0;
    expect(hardwareModelSchema.safeParse(hw).success).toBe(true);
    hw.wakeup!.haltPoll!.shrink.value = -1;
    const r = hardwareModelSchema.safeParse(hw);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path.join('.')).toBe('wakeup.haltPoll.shrink.value');
  });
});

describe('the grace-period worker where the host blocks idle vCPUs', () => {
  it('is woken onto its caller\'s CPU, which the caller leaves at once (the kernel traces\' placement), and otherwise by the probe\'s shares', () => {
    const kernel = loadKernelModel('linux-6.6');
    const p: MountstormPoint = { file: 't', files: [], variant: 'per-layer-idmap', containers: 2, layers: 5, runsMeanNs: [], opCounts: {}, traces: [] };
    const placements = (halts: boolean) => {
      const m = new Machine(hostMachineSpec(hardware(halts)), { seed: 'worker' });
      const seen: boolean[] = [];
      m.scheduler.wakeObserver = (t, prev, waker) => {
        if (t.name === 'rcu_exp_gp_kthread_worker' && waker >= 0 && m.scheduler.threadOn(waker)?.name !== t.name) seen.push(prev === waker);
      };
      simulateLaunch(m, kernel, probeLaunchParams(p), traceOf(p), {});
      return seen;
    };
    const onCaller = placements(true);
    // Every unmount's grace period: 2 containers x (5 layer binds + the overlay's).
    expect(onCaller.length).toBeGreaterThanOrEqual(10);
    expect(onCaller.every(Boolean)).toBe(true);
    // Without the host's polling the worker keeps the CPU it last ran on, often the other one.
    expect(placements(false).some((x) => !x)).toBe(true);
  });
});

describe('halt polling from the probe\'s gap sweep (haltPollEvidence)', () => {
  const sweep = (p50Us: number[], gapsUs = [20, 40, 60, 80, 100, 120, 150, 200, 300, 500, 1000]) => gapsUs.map((g, i) => ({ gapNs: g * 1000, p50Ns: p50Us[i]! * 1000 }));

  it('the ceiling is the midpoint between the last fast gap and the first slow one after which all are slow; the blocked wake-up is the longest gap\'s', () => {
    const h = haltPollEvidence(sweep([10.2, 10.3, 10.3, 10.3, 10.4, 10.4, 69.4, 73.1, 69.8, 72.1, 79.2])).haltPoll!;
    expect(h.maxNs).toBe(135_000);
    expect(h.haltedNs).toBe(79_200);
    expect([h.lastFastGapNs, h.firstSlowGapNs]).toEqual([120_000, 150_000]);
    // A slow gap among fast ones (a wake-up the window had not grown to yet) is not the ceiling.
    expect(haltPollEvidence(sweep([10, 55, 10, 10, 10, 10, 70, 75, 70, 72, 79])).haltPoll!.maxNs).toBe(135_000);
  });

  it('nothing when the sweep shows no blocking, starts slow, is too short, is not shortest first, or is too coarse to place the step', () => {
    expect(haltPollEvidence(sweep([10, 10, 10, 10, 10, 10, 11, 11, 12, 12, 15]))).toEqual({});
    expect(haltPollEvidence(sweep([70, 10, 10, 10, 10, 10, 70, 75, 70, 72, 79]))).toEqual({});
    expect(haltPollEvidence(sweep([10, 80], [20, 1000]))).toEqual({});
    expect(haltPollEvidence(sweep([80, 10, 10], [1000, 100, 20]))).toEqual({});
    // The sweep of earlier probe versions: 100 us fast, 1 ms slow says the ceiling is somewhere in 10x.
    expect(haltPollEvidence(sweep([10.2, 10.4, 78.4], [20, 100, 1000]))).toEqual({});
  });
});
