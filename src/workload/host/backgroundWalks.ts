/**
 * Path walks by everything else on the machine: mount_lock seqlock readers
 * that spin while a mount writer holds it. They are simulated in aggregate,
 * as reader pressure on mount_lock's cache line (src/hardware/readerPressure.ts),
 * at a base rate plus a rate per launch in flight.
 */
import { ReaderPressure } from '../../hardware/readerPressure.ts';
import type { LaunchState } from './launchState.ts';

export function startBackgroundWalks(s: LaunchState): ReaderPressure {
  const { m, host, path } = s;
  const perLaunch = host.pathLookupsPerSecPerLaunch * 1e-9;
  const base = host.pathLookupsPerSec * 1e-9;
  const pressure = new ReaderPressure((_now) => base + perLaunch * s.activeLaunches, m.random.stream('background-readers'));
  path.mountLock.line.pressure = base > 0 || perLaunch > 0 ? pressure : null;
  // The background's CPU demand (its walks and its spinning) is sampled every
  // 100 us; with the simulated threads' demand it sets the fair-share slowdown.
  if (path.mountLock.line.pressure) {
    const periodNs = 100_000;
    const walkNs = s.kernel.host.pathLookupNs.value;
    let lastSpin = 0;
    const sampler = {
      fire: () => {
        const spin = pressure.spinNs - lastSpin;
        lastSpin = pressure.spinNs;
        const walks = (base + perLaunch * s.activeLaunches) * periodNs * walkNs;
        // A closed population: walkers spinning on the sequence hold their
        // CPUs and issue no new walks, so the background can take at most
        // every CPU, however long mount_lock stays odd.
        const backgroundCpus = Math.min(m.cpus, (spin + walks) / periodNs);
        // Bounded only to keep a runaway finite; the bound is far above any sane run.
        m.scheduler.sharedCpuFactor = Math.min(1000, Math.max(1, (backgroundCpus + m.scheduler.demand) / m.cpus));
      },
    };
    // A tick of the simulator's loop, not an event in its heap (Simulator.every): the same samples at the same instants.
    m.sim.every(periodNs, sampler);
  }
  return pressure;
}

/** Walks the background made: its rate integrated over the run (launches still running count to the end). */
export function backgroundWalks(s: LaunchState): number {
  const containers = s.trace.header.containers;
  let running = s.launchTimeNs;
  for (let i = 0; i < containers.length; i++) if (Number.isNaN(s.launchNs[i])) running += s.end - containers[i].start_ns;
  return s.host.pathLookupsPerSec * s.end * 1e-9 + s.host.pathLookupsPerSecPerLaunch * running * 1e-9;
}
