// `locksim import-strace --pid/--comm` from the command line: the probe's
// setup and preflight threads are left out when the container threads are
// named; a filter that matches nothing is one located line and exit 2.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve('bin/locksim.js');
const fixture = resolve('test/fixtures/strace/mountstorm-per-layer-idmap-k3-l4.strace');

describe('locksim import-strace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'locksim-strace-cli-'));
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'import-strace', fixture, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });

  it('--pid keeps only the named threads (3 containers, not the setup thread of the probe)', () => {
    const all = run('--out', 'all.jsonl');
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/ of 4 containers/); // 3 container threads and the probe's setup thread
    const some = run('--out', 'some.jsonl', '--pid', '12275,12276,12277');
    expect(some.status, some.stderr).toBe(0);
    expect(some.stdout).toMatch(/ of 3 containers/);
    const header = JSON.parse(readFileSync(join(dir, 'some.jsonl'), 'utf8').split('\n')[0]!);
    expect(header.containers.map((c: { id: string }) => c.id).sort()).toEqual(['pid12275', 'pid12276', 'pid12277']);
  });

  it('a filter that matches nothing: exit 2, one line, no file', () => {
    const r = run('--out', 'none.jsonl', '--comm', 'containerd');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^.*mountstorm-per-layer-idmap-k3-l4\.strace:1:1: --comm: expected mount calls of command containerd .*got none\n$/);
    expect(existsSync(join(dir, 'none.jsonl'))).toBe(false);
  });

  it('a bad --pid list is refused', () => {
    const r = run('--out', 'bad.jsonl', '--pid', '12,x');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--pid/);
  });
});
