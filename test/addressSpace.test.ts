// A context switch into another process's memory (hardware
// wakeup.addressSpaceSwitch, measured by the wakeup probe's rings): on this
// project's 2-vCPU guest, a shadow-paging virtual machine, it adds ~3.3 us
// back to the process the CPU left just before and ~6.7-8 us to any other
// (docs/validation.md, "Twentieth session"). Without it a storm of one
// process per container switched between them for free.
import { describe, expect, it } from 'vitest';
import { wakeAwareSpec } from './helpers/machines.ts';
import { Machine } from '../src/machine.ts';
import { ThreadState, type SimThread } from '../src/cpu/thread.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema, type LaunchParams } from '../src/workload/launchParams.ts';

const specWith = (cost?: { recentNs: number; otherNs: number }) =>
  wakeAwareSpec({ waitOnPrevious: 0, preempt: 0 }, cost ? { addressSpaceSwitch: { recentNs: { value: cost.recentNs, source: 't' }, otherNs: { value: cost.otherNs, source: 't' } } } : {});

const ROUNDS = 20;

/**
 * When the last member finishes a baton passed round a ring of threads pinned to CPU 0, each running 1 us
 * per turn: every hand-off is a wake-up and a switch on the one CPU. A member
 * is a process's thread (its address space) or, for 'kernel', a kernel thread.
 */
function ringEnd(members: (number | 'kernel')[], cost?: { recentNs: number; otherNs: number }): number {
  const m = new Machine(specWith(cost), { seed: 'address space' });
  const n = members.length;
  let baton = 0;
  let end = 0;
  const threads: SimThread[] = [];
  members.forEach((space, i) => {
    const body = function* (t: SimThread) {
      for (let r = 0; r < ROUNDS; r++) {
        while (baton !== i) {
          t.sleep();
          yield;
        }
        t.work(1_000);
        yield;
        baton = (i + 1) % n;
        // A member not asleep yet finds the baton when it next looks (a kernel thread starts at its first wake); a finished one never looks again.
        const next = threads[(i + 1) % n]!;
        if (next.state === ThreadState.Asleep || (next.daemon && next.state === ThreadState.New)) next.wake();
      }
      end = Math.max(end, t.sim.now);
    };
    if (space === 'kernel') {
      const t = m.spawnDaemon(`k${i}`, body);
      t.affinity = [0];
      threads.push(t);
    } else threads.push(m.spawn(`p${i}`, body, [0], space));
  });
  m.sim.run();
  return end;
}

describe('a context switch into another address space', () => {
  const cost = { recentNs: 3_000, otherNs: 7_000 };

  it('costs nothing between threads of one process, and nothing when the hardware model does not say', () => {
    expect(ringEnd([0, 0], cost)).toBe(ringEnd([0, 0]));
    expect(ringEnd([0, 0, 0], cost)).toBe(ringEnd([0, 0, 0]));
    expect(ringEnd([1, 2])).toBe(ringEnd([0, 0]));
  });

  it('costs recentNs back to the process the CPU left just before (a ring of 2), otherNs to another (a ring of 3)', () => {
    // Every CPU starts in address space 0: the first two switches, into 1 and then 2, are to neither the loaded one nor the one before it.
    const two = ringEnd([1, 2], cost) - ringEnd([1, 2]);
    expect(two).toBe(2 * cost.otherNs + (2 * ROUNDS - 2) * cost.recentNs);
    // With three, the CPU always comes back to the one it left two switches ago.
    const three = ringEnd([1, 2, 3], cost) - ringEnd([1, 2, 3]);
    expect(three).toBe(3 * ROUNDS * cost.otherNs);
  });

  it('a kernel thread borrows the loaded address space: a process, a kernel thread and the same process again switch nothing', () => {
    // Only the first dispatch of the process (address space 1, from 0) pays.
    expect(ringEnd([1, 'kernel'], cost) - ringEnd([1, 'kernel'])).toBe(cost.otherNs);
  });
});

describe('a storm of one process per container', () => {
  const kernel = loadKernelModel('linux-6.6');
  const storm = (processes: boolean, cost?: { recentNs: number; otherNs: number }) => {
    const params: LaunchParams = launchSchema.parse({ containers: [8], variant: 'per-layer-idmap', layers: 10, processPerContainer: processes, host: { baseMounts: 40, systemd: false, pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0 } });
    return simulateLaunch(new Machine(specWith(cost), { seed: 's' }), kernel, params, buildLaunchTrace(params, 8, kernel, 's')).metrics;
  };

  it('pays for switching between the containers\' processes; threads of one process do not', () => {
    const cost = { recentNs: 3_300, otherNs: 6_700 };
    const withCost = storm(true, cost), without = storm(true);
    expect(withCost.unfinished).toBe(0);
    // Eight processes of 10 layers on 2 CPUs sleep and wake at every contended lock and grace period: at least 20 switches each (2.7 ms in all when written).
    expect(withCost.rootfsMeanS - without.rootfsMeanS).toBeGreaterThan((8 * 20 * cost.recentNs) / 1e9);
    expect(storm(false, cost).rootfsMeanS).toBe(storm(false).rootfsMeanS);
  });
});
