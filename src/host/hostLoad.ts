// How busy the machine is with other work when a probe runs. On a shared
// machine other processes take CPU time from the probe's threads, and a
// model of the machine alone then predicts the probe too fast (by 2-10x
// under a load average of 20 on 2 vCPUs, docs/validation.md). The count of
// runnable tasks (/proc/stat procs_running, which counts the reader itself)
// sampled over a short window before a run is what the simulator's
// host.backgroundRunnable takes.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** procs_running of a /proc/stat text; null when absent. */
export function procsRunning(statText: string): number | null {
  const m = /^procs_running\s+(\d+)$/m.exec(statText);
  return m ? Number(m[1]) : null;
}

/**
 * Mean number of runnable tasks other than this process over `samples`
 * readings `intervalMs` apart (null where /proc/stat cannot be read).
 */
export async function otherRunnable(samples = 40, intervalMs = 5, statFile = '/proc/stat'): Promise<number | null> {
  let sum = 0;
  for (let i = 0; i < samples; i++) {
    let text: string;
    try {
      text = readFileSync(statFile, 'utf8');
    } catch {
      return null;
    }
    const n = procsRunning(text);
    if (n === null) return null;
    // This process is running while it reads.
    sum += Math.max(0, n - 1);
    if (i < samples - 1) await sleep(intervalMs);
  }
  return sum / samples;
}
