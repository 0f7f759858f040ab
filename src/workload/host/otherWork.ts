/**
 * Other runnable work on a shared machine, which the simulator does not run
 * thread by thread: a thread that wakes from a sleep (a grace period, a
 * rw-semaphore) with `runnable` other tasks about sometimes finds its CPU
 * taken and waits out the other task's slice. Under a load of 10-18 other
 * runnable tasks on 2 vCPUs ~8% of a lone launch's unmounts returned after
 * 0.1-17 ms instead of ~35 us, and the mean launch was 3-9x the quiet one
 * (docs/validation.md). Modelled as: each wake-up waits, with probability
 * min(1, runnable x otherWorkWakeShare), an exponential time of mean
 * otherWorkWakeWaitNs (kernel model host section, measured by calibrate);
 * absent or runnable 0: no wait.
 */
import type { Machine } from '../../machine.ts';
import type { KernelModel } from '../kernelModel.ts';

export function waitBehindOtherWork(m: Machine, kernel: KernelModel, runnable: number): void {
  const share = kernel.host.otherWorkWakeShare?.value ?? 0;
  const meanNs = kernel.host.otherWorkWakeWaitNs?.value ?? 0;
  if (runnable <= 0 || share <= 0 || meanNs <= 0) return;
  m.scheduler.wakeWait = { probability: Math.min(1, runnable * share), meanNs, draws: m.random.stream('other-work-wake-wait') };
}
