/**
 * The scheduler keeps, per CPU, how many of its SMT siblings have a thread
 * (`busySiblings`, updated where a CPU changes hands) so that `slowdown`
 * (every piece of work, every transfer) and `coreSaturated` (a transfer from
 * an owner's core) do not loop over the siblings; and how many CPUs are
 * busy (`demand`, read by the background sampler). Checked against the
 * definition, from `threadOn`, at every instant of busy runs with
 * preemption, sleeps, yields and threads ending.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/machine.ts';
import { handMadeSpec } from './helpers/machines.ts';

describe('SMT sibling occupancy', () => {
  it('slowdown and coreSaturated match the siblings on their CPUs at every instant', () => {
    for (const smt of [2, 4]) {
      const spec = { ...handMadeSpec('mesh', 1, 3, 1, smt), quantumNs: 2_000 };
      const m = new Machine(spec, { seed: `sib${smt}` });
      const cpus = spec.siblings.length;
      for (let i = 0; i < 3 * cpus; i++) {
        m.spawn(`t${i}`, function* (t) {
          for (let n = 0; n < 40; n++) {
            const r = t.rng.uniform();
            if (r < 0.5) {
              t.work(200 + 3_000 * t.rng.uniform());
              yield;
            } else if (r < 0.8) {
              t.sleepFor(500 + 2_000 * t.rng.uniform());
              yield;
            } else {
              t.yieldCpu();
              yield;
            }
          }
        });
      }
      let checks = 0;
      let saturated = 0;
      let busyAtOnce = 0;
      const check = {
        fire: () => {
          const s = m.scheduler;
          for (let cpu = 0; cpu < cpus; cpu++) {
            const sibs = spec.siblings[cpu];
            const busy = sibs.filter((c) => s.threadOn(c) !== null).length;
            expect(s.slowdown(cpu)).toBe(busy > 0 ? spec.smtSlowdown * s.sharedCpuFactor : s.sharedCpuFactor);
            const all = s.threadOn(cpu) !== null && busy === sibs.length;
            expect(s.coreSaturated(cpu)).toBe(all);
            if (all) saturated++;
          }
          let running = 0;
          for (let cpu = 0; cpu < cpus; cpu++) if (s.threadOn(cpu) !== null) running++;
          busyAtOnce = Math.max(busyAtOnce, running);
          expect(s.demand).toBe(running + s.queued);
          checks++;
          if (s.liveThreads > 0) m.sim.schedule(97, check);
        },
      };
      m.sim.schedule(0, check);
      m.sim.run();
      expect(checks).toBeGreaterThan(100);
      expect(saturated).toBeGreaterThan(0);
      expect(busyAtOnce).toBeGreaterThan(cpus / 2);
      expect(m.scheduler.liveThreads).toBe(0);
      // Everyone gone: no CPU counts a busy sibling.
      for (let cpu = 0; cpu < cpus; cpu++) expect(m.scheduler.slowdown(cpu)).toBe(m.scheduler.sharedCpuFactor);
    }
  });
});
