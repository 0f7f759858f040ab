// Killing the node process of `locksim measure mountstorm` (issue 11), not
// only the probe: the probe must die with it (PR_SET_PDEATHSIG, probes/
// common.h and mountstorm.c), no mount may remain, and the hidden temp trace
// the killed run was writing is removed when the next measurement starts.
// Needs root and idmapped mounts; skipped with the reason otherwise.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProbes, canMountIdmapped } from '../src/host/probes.ts';

const built = buildProbes();
const cap = built.ok ? canMountIdmapped() : { ok: false, reason: `probes not built: ${built.message}` };
if (!cap.ok) console.warn(`skipped: ${cap.reason}`);

const work = mkdtempSync(join(tmpdir(), 'locksim-kill-priv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Pids of running processes whose command line contains `text`. */
function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, f: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!cap.ok)('SIGKILL of the node process of measure mountstorm', () => {
  it('takes the probe with it, leaves no mount, and the next start removes its temp trace', async () => {
    const dir = join(work, 'storm');
    // Large enough to be still running when killed: 32 containers x 200 layers, 3 runs.
    const node = spawn(process.execPath, [resolve('bin/locksim.js'), 'measure', 'mountstorm', '--variant', 'per-layer-idmap', '--containers', '32', '--layers', '200', '--repeat', '3', '--out', join(dir, 'm.json')], { stdio: 'ignore' });
    const marker = join(dir, '.m.run1.trace.jsonl.');
    // The probe is running and has created its temp trace (its command line names the file before it opens it).
    await until('the probe to start writing its trace', () => processesWith(marker).some((p) => p !== node.pid) && existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.tmp')));
    const probes = processesWith(marker).filter((p) => p !== node.pid);
    expect(probes.length).toBeGreaterThan(0);
    node.kill('SIGKILL');
    await new Promise((r) => node.once('exit', r));
    // PDEATHSIG is delivered at once; the probe's mount namespace dies with it.
    await until('the probe to die with its parent', () => processesWith(marker).length === 0, 10_000);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('locksim-mountstorm');
    const left = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
    expect(left.length, 'the killed run left its temp trace (what the next start must clean)').toBeGreaterThan(0);
    expect(existsSync(join(dir, 'm.json'))).toBe(false);

    // The next start (a small measurement into the same folder) removes temp files whose writer is gone.
    const next = spawn(process.execPath, [resolve('bin/locksim.js'), 'measure', 'mountstorm', '--variant', 'per-layer-idmap', '--containers', '1', '--layers', '1', '--out', join(dir, 'small.json')], { stdio: 'ignore' });
    const code = await new Promise((r) => next.once('exit', r));
    expect(code).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['small.json', 'small.trace.jsonl']);
  });
});
