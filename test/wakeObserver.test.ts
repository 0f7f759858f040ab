// The scheduler's wake observer (scripts/wake-census.ts): it is told of every
// placed wake-up with where the wakee last ran, and listening changes nothing.
import { describe, expect, it } from 'vitest';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, probeLaunchParams, traceOf, type MountstormPoint } from '../src/host/calibrate.ts';
import { Machine } from '../src/machine.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { simulateLaunch } from '../src/workload/launch.ts';

const hw = structuredClone(loadHardwareModel('generic-2core'));
hw.wakeup = { localNs: { value: 3_000, source: 't' }, remoteNs: { value: 12_000, source: 't' }, waitOnPreviousShare: { value: 0.5, source: 't' }, preemptShare: { value: 1, source: 't' } };
const spec = hostMachineSpec(hw);
const kernel = loadKernelModel('linux-6.6');
const point: MountstormPoint = { file: 't', files: [], variant: 'per-layer-idmap', containers: 2, layers: 10, runsMeanNs: [], opCounts: {}, traces: [] };
const storm = (listen: boolean) => {
  const m = new Machine(spec, { seed: 'observer' });
  const seen: { prev: number; waker: number; state: string; lastCpu: number }[] = [];
  if (listen) m.scheduler.wakeObserver = (t, prev, waker, state) => seen.push({ prev, waker, state, lastCpu: t.lastCpu });
  const r = simulateLaunch(m, kernel, probeLaunchParams(point), traceOf(point), {});
  return { seen, meanS: r.metrics.rootfsMeanS, events: m.sim.eventsFired };
};

describe("the scheduler's wake observer", () => {
  it('sees the wake-ups of a storm, each with the CPU its wakee last ran on, and changes nothing', () => {
    const quiet = storm(false), heard = storm(true);
    // Every unmount's grace period wakes its caller at least: 2 x 2 x 10 of them.
    expect(heard.seen.length).toBeGreaterThanOrEqual(40);
    for (const s of heard.seen) {
      expect(s.prev).toBe(s.lastCpu);
      expect(s.prev === 0 || s.prev === 1).toBe(true);
    }
    expect(heard.seen.some((s) => s.prev === s.waker) && heard.seen.some((s) => s.prev !== s.waker)).toBe(true);
    expect(heard.meanS).toBe(quiet.meanS);
    expect(heard.events).toBeGreaterThan(0);
    expect(heard.events).toBe(quiet.events);
  });
});
