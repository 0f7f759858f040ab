// The measurement format's propagation and reader fields, and the flag checks
// of `measure mountstorm --propagation/--peers/--reader/--read-size`: bad
// combinations are input errors (exit 2, one located line) on any host, before
// any privilege check.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/config/errors.ts';
import { measureMountstorm, parseMeasurement, runStatistics } from '../src/host/measure.ts';
import { mountstormSummarySchema } from '../src/host/probes.ts';

const work = mkdtempSync(join(tmpdir(), 'locksim-measure-prop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = {
  probe: 'mountstorm',
  variant: 'per-layer-idmap',
  layers: 2,
  containers: 1,
  passes: 2,
  kernel: '6.18',
  failedContainers: 0,
  wallNs: 1000,
  launchNs: [900],
  meanNs: 900,
  p50Ns: 900,
  p99Ns: 900,
  maxNs: 900,
  opCounts: { open_tree: 4, umount: 4 },
  opP50Ns: { open_tree: 30000, umount: 90000 },
  opCpuP50Ns: { open_tree: 29000, umount: 60000 },
  propagation: { mode: 'shared', peers: 1000, peerGroup: 1, peersSetupNs: 5 },
  reader: {
    mode: 'slave',
    readSize: 4096,
    reads: [
      { startNs: -300, durNs: 100, cpuNs: 90, bytes: 9000, syscalls: 4, lines: 1010, duringStorm: false },
      { startNs: -200, durNs: 120, cpuNs: 95, bytes: 9000, syscalls: 4, lines: 1010, duringStorm: false },
      { startNs: 10, durNs: 400, cpuNs: 100, bytes: 9100, syscalls: 4, lines: 1020, duringStorm: true },
      { startNs: 500, durNs: 700, cpuNs: 100, bytes: 9100, syscalls: 4, lines: 1020, duringStorm: true },
    ],
  },
};

function file(r: unknown): string {
  return JSON.stringify(
    {
      format: 'locksim-measurement',
      version: 1,
      kind: 'mountstorm',
      host: { topology: { sockets: 1, cores: 2, cpus: 2, l3Groups: 1, cpuMap: [] }, kernel: '6.18', cpuModel: 'AMD EPYC' },
      command: ['probes/build/mountstorm'],
      startedAt: '2026-11-29T18:00:00Z',
      config: { variant: 'per-layer-idmap', layers: 2, containers: 1, repeat: 1, propagation: 'shared', peers: 1000, reader: 'slave', readSize: 4096, idleReads: 2 },
      results: { runs: [r], traces: [], spread: {} },
    },
    null,
    2,
  );
}

describe('measurement format: propagation and reader', () => {
  it('loads a file with them, and per-run statistics include op CPU times and idle and storm reads', () => {
    const m = parseMeasurement(file(run), 'm.json');
    if (m.kind !== 'mountstorm') throw new Error('wrong kind');
    expect(m.results.runs[0]!.reader!.reads).toHaveLength(4);
    expect(runStatistics(m.results.runs[0]!)).toMatchObject({ 'op.umount': 90000, 'opCpu.umount': 60000, 'read.idleP50Ns': 110, 'read.idleCpuP50Ns': 92.5, 'read.stormP50Ns': 550, 'read.stormMaxNs': 700 });
  });

  it('a wrong reader mode is one located error', () => {
    const text = file({ ...run, reader: { ...run.reader, mode: 'rslave' } });
    const e = (() => {
      try {
        parseMeasurement(text, 'm.json');
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(InputError);
    const line = text.split('\n').findIndex((l) => l.includes('"rslave"')) + 1;
    expect((e as InputError).message).toMatch(new RegExp(`^m\\.json:${line}:\\d+: results\\.runs\\[0\\]\\.reader\\.mode: expected one of slave, private`));
  });

  it('the probe output schema refuses a read without its CPU time', () => {
    const bad = { ...run, reader: { ...run.reader, reads: [{ startNs: 1, durNs: 1, bytes: 1, syscalls: 1, lines: 1, duringStorm: true }] } };
    expect(mountstormSummarySchema.safeParse(bad).success).toBe(false);
    expect(mountstormSummarySchema.safeParse(run).success).toBe(true);
  });
});

describe('measure mountstorm flag checks (before privilege)', () => {
  const cases: [Parameters<typeof measureMountstorm>[0], RegExp][] = [
    [{ variant: 'per-layer-idmap', layers: 1, containers: 1, peers: 10 }, /--peers: expected with --propagation shared/],
    [{ variant: 'per-layer-idmap', layers: 1, containers: 1, propagation: 'private', peers: 10 }, /--peers: expected with --propagation shared/],
    [{ variant: 'per-layer-idmap', layers: 1, containers: 1, readSize: 1024 }, /--read-size: expected with --reader/],
    [{ variant: 'per-layer-idmap', layers: 1, containers: 1, idleReads: 3 }, /--idle-reads: expected with --reader/],
    [{ variant: 'per-layer-idmap', layers: 1, containers: 1, umountDetach: true }, /--umount-detach: expected with --propagation/],
  ];
  for (const [opts, msg] of cases) {
    it(`${JSON.stringify(opts)} is an input error and writes nothing`, async () => {
      const out = join(work, 'x.json');
      await expect(measureMountstorm(opts, { out })).rejects.toThrow(msg);
      await expect(measureMountstorm(opts, { out })).rejects.toBeInstanceOf(InputError);
      expect(readdirSync(work)).toEqual([]);
    });
  }

  it('the CLI: one line, exit 2, for a bad --reader choice and for --peers without shared', () => {
    const cli = join(import.meta.dirname, '..', 'bin', 'locksim.js');
    const badChoice = spawnSync(process.execPath, [cli, 'measure', 'mountstorm', '--reader', 'rslave', '-o', join(work, 'y.json')], { encoding: 'utf8' });
    expect(badChoice.status).toBe(2);
    expect(badChoice.stderr.trim().split('\n')).toHaveLength(1);
    expect(badChoice.stderr).toMatch(/--reader/);
    const peers = spawnSync(process.execPath, [cli, 'measure', 'mountstorm', '--peers', '5', '-o', join(work, 'y.json')], { encoding: 'utf8' });
    expect(peers.status).toBe(2);
    expect(peers.stderr).toBe('(command line):1:1: --peers: expected with --propagation shared (only a shared mount has peers), got 5\n');
    expect(readdirSync(work)).toEqual([]);
  });
});
