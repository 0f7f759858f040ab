/**
 * Core-to-core ping-pong, as nviennot/core-to-core-latency measures it: two
 * threads pinned to two CPUs bounce one cache line, each waiting for the
 * other's value and then compare-and-swapping its own. One-way latency is the
 * round trip divided by two, which is what model files cite, so this
 * experiment checks that the fabric charges a pair what the model says.
 *
 * The waiting side spins without `pause` (the benchmark's loop has none), so
 * it reacts as soon as the line changes.
 */
import { Machine, type MachineSpec } from '../machine.ts';
import { Samples, percentile } from './stats.ts';

export interface PingpongParams {
  from: number;
  to: number;
  roundTrips: number;
}

export interface PingpongResult {
  oneWayMedianNs: number;
  oneWayMeanNs: number;
  roundTrips: number;
}

export function runPingpong(spec: MachineSpec, p: PingpongParams, seed: string): PingpongResult {
  if (p.from === p.to) throw new RangeError('ping-pong needs two different cpus');
  // No pause in the benchmark's spin loop: reaction to a change is immediate.
  const m = new Machine({ ...spec, pauseNs: 0 }, { seed, placement: 'compact' });
  const coh = m.coherence;
  const line = coh.newLine('flag');
  let flag = 0;
  const rtts = new Samples();
  let lastPing = 0;
  const side = (mine: number, theirs: number, measure: boolean) =>
    function* (t: import('../cpu/thread.ts').SimThread) {
      for (let i = 0; i < p.roundTrips + 1; i++) {
        while (flag !== mine) {
          coh.watch(t, line);
          yield;
        }
        if (coh.rmw(t, line)) yield;
        flag = theirs;
        coh.publish(t, line);
        if (measure) {
          // Skip the first round, which starts from a cold line.
          if (i > 0) rtts.push(t.localNow - lastPing);
          lastPing = t.localNow;
        }
      }
    };
  m.spawn('ping', side(0, 1, true), [p.from]);
  m.spawn('pong', side(1, 0, false), [p.to]);
  m.sim.run();
  const sorted = rtts.sorted();
  let sum = 0;
  for (const x of sorted) sum += x;
  return { oneWayMedianNs: percentile(sorted, 50) / 2, oneWayMeanNs: sum / sorted.length / 2, roundTrips: sorted.length };
}
