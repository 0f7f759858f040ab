/**
 * Temporary files a killed run left behind (issue 11: 17 SIGKILLs of
 * `locksim measure mountstorm` left 30 hidden `.NAME.trace.jsonl.PID.HEX.tmp`
 * files of 1.7 MB each). Temp names carry the writer's pid (atomicWrite.ts,
 * measure.ts), so at the next start every such file of a process that no
 * longer exists is removed; a concurrent run's files are left alone.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp files of dead writers in `dir` whose name (without the leading dot) passes `match`; returns their names. */
export function removeStaleTemps(dir: string, match: (name: string) => boolean = () => true): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || !match(name.slice(1)) || alive(Number(m[1]))) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
