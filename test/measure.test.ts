// `locksim measure` on this host (lockbench, pingpong with 2 threads), the
// measurement file format, and the CLI wiring of the host commands.
import { inputError } from './helpers/errors.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Command, CommanderError } from 'commander';
import { InputError } from '../src/config/errors.ts';
import { hardwareModelSchema } from '../src/config/hardwareSchema.ts';
import { loadMeasurement, measureLockbench, measurePingpong, measureWakeup, parseMeasurement, pingpongEvidence, wakeupEvidence } from '../src/host/measure.ts';
import { buildProbes } from '../src/host/probes.ts';
import { hostToModel, readSysfsTopology } from '../src/host/topology.ts';
import { registerHostCommands } from '../src/cli/hostCommands.ts';
import { parseTrace } from '../src/workload/trace.ts';

const hasCompiler = spawnSync('/bin/sh', ['-c', 'command -v cc'], { encoding: 'utf8' }).status === 0;
const built = hasCompiler ? buildProbes() : { ok: false, message: 'no C compiler (cc)' };
const online = process.platform === 'linux' ? readSysfsTopology('/').cpus.length : 0;
const canRun = built.ok && online >= 2;
if (!canRun) console.warn(`skipped: ${!built.ok ? `probes not built: ${built.message}` : 'needs a Linux host with 2 cpus'}`);

const work = mkdtempSync(join(tmpdir(), 'locksim-measure-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));


describe.skipIf(!canRun)('measure on this host', () => {
  it('lockbench, 2 threads on cpus 0,1: a measurement file that loads back', async () => {
    const out = join(work, 'lockbench.json');
    const before = Date.now();
    const written = await measureLockbench({ threads: 2, cpus: [0, 1], csNs: 50, durationMs: 200, lock: 'ticket' }, { out, invokedAs: ['locksim', 'measure', 'lockbench'] });
    const m = loadMeasurement(out);
    expect(m).toEqual(written);
    if (m.kind !== 'lockbench') throw new Error('wrong kind');
    expect(m.results.config).toMatchObject({ lock: 'ticket', threads: 2, cpus: [0, 1], csNs: 50 });
    expect(m.results.acquisitions).toBeGreaterThan(0);
    // Each acquisition holds the lock >= 50 ns, so one lock cannot pass more than 1e9/50 per second.
    expect(m.results.acquisitionsPerSec).toBeLessThanOrEqual(1e9 / 50);
    expect(basename(m.command[0]!)).toBe('lockbench');
    expect(m.command).toContain('--cpus');
    expect(m.host.topology.cpus).toBe(online);
    expect(m.host.kernel).toBe(spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim());
    const started = Date.parse(m.startedAt);
    expect(started).toBeGreaterThanOrEqual(before - 1000);
    expect(started).toBeLessThanOrEqual(Date.now());
  });

  it('pingpong on cpus 0,1: the matrix loads, and a model built from it takes its median as sameL3/crossL3/crossSocket', async () => {
    const out = join(work, 'pingpong.json');
    await measurePingpong({ cpus: [0, 1], samples: 20, iterations: 200 }, { out });
    const m = loadMeasurement(out);
    if (m.kind !== 'pingpong') throw new Error('wrong kind');
    const [[d0, ab], [ba, d1]] = m.results.matrixNs as [[null, number], [number, null]];
    expect([d0, d1]).toEqual([null, null]);
    expect(ab).toBeGreaterThan(0);
    expect(ba).toBeGreaterThan(0);
    const host = readSysfsTopology('/');
    const model = hostToModel(host, { pingpong: pingpongEvidence(out) });
    expect(hardwareModelSchema.safeParse(model).success).toBe(true);
    // Whatever kind the pair 0,1 is on this host, its entry is the median of the two directions.
    const a = host.cpus.find((c) => c.cpu === 0)!;
    const b = host.cpus.find((c) => c.cpu === 1)!;
    const kind = a.socket !== b.socket ? 'crossSocket' : a.core === b.core ? 'smtSibling' : a.l3 !== b.l3 ? 'crossL3' : 'sameL3';
    const entry = model.coreToCore[kind]!;
    // Model values are rounded to 0.01 ns.
    expect(Math.abs(entry.value - (ab + ba) / 2)).toBeLessThanOrEqual(0.005 + 1e-9);
    expect(entry.source.startsWith(`${out}: median of 2 `)).toBe(true);
  });

  it('wakeup on cpus 0,1: the file loads, and a model built from it takes the local median, the remote median at the shortest gap and the share that waited', async () => {
    const out = join(work, 'wakeup.json');
    await measureWakeup({ cpus: [0, 1], samples: 30, gapsUs: [200, 20], repeat: 3 }, { out });
    const m = loadMeasurement(out);
    if (m.kind !== 'wakeup') throw new Error('wrong kind');
    const host = readSysfsTopology('/');
    const model = hostToModel(host, { wakeup: wakeupEvidence(out) });
    expect(hardwareModelSchema.safeParse(model).success).toBe(true);
    const runs = m.results.runs;
    expect(runs).toHaveLength(3);
    // The load before the runs is kept (placements depend on it) and named in the model's sources.
    expect(m.host.otherRunnable).toBeGreaterThanOrEqual(0);
    expect(model.wakeup!.waitOnPreviousShare.source).toContain(`${m.host.otherRunnable} other runnable tasks on average`);
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    expect(model.wakeup!.localNs.value).toBe(mid(runs.map((r) => r.local.p50Ns)));
    expect(model.wakeup!.remoteNs.value).toBe(mid(runs.map((r) => r.remote.find((x) => x.gapNs === 20_000)!.latency.p50Ns)));
    expect(model.wakeup!.waitOnPreviousShare.value).toBeCloseTo(mid(runs.map((r) => r.placementSame.onWaker / 30)), 3);
    expect(model.wakeup!.preemptShare.value).toBeCloseTo(mid(runs.map((r) => r.placementBusy.onOtherWithin1ms / 30)), 3);
    expect(model.wakeup!.remoteNs.source).toContain(out);
    // The waker's own FUTEX_WAKE: onto the other cpu less with no waiter is what a remote wake-up costs the waker.
    const wakeCalls = runs.map((r) => r.wakeCall!);
    expect(wakeCalls.every((c) => c.noneP50Ns > 0 && c.noneP50Ns < c.remoteP50Ns)).toBe(true);
    expect(model.wakeup!.ipiSendNs!.value).toBe(Math.max(0, Math.round(mid(wakeCalls.map((c) => c.remoteP50Ns)) - mid(wakeCalls.map((c) => c.noneP50Ns)))));
    expect(model.wakeup!.ipiSendNs!.source).toContain('no waiter');
    // The interrupts: what an IPI (membarrier) and, as root, a grace period's IPI (an umount) took from a thread busy on the other cpu.
    // A source the probe could not use (no membarrier; no root for the mounts) says why and leaves its value out of the model.
    const stolen = (w: 'ipi' | 'gracePeriod') => runs.map((r) => r.interrupts![w]).map((x) => ('stolenPerCallNs' in x ? x.stolenPerCallNs.median : NaN));
    const skipped = (w: 'ipi' | 'gracePeriod') => runs.map((r) => r.interrupts![w]).find((x) => 'skipped' in x) as { skipped: string } | undefined;
    // A median under 0.5 ns (the spinner did not have its cpu: a loaded machine) is no measurement: left out too.
    if (skipped('ipi')) {
      console.warn(`skipped: the IPI cost (${skipped('ipi')!.skipped})`);
      expect(model.wakeup!.ipiNs).toBeUndefined();
    } else if (mid(stolen('ipi')) < 0.5) expect(model.wakeup!.ipiNs).toBeUndefined();
    else expect(model.wakeup!.ipiNs!.value).toBe(Math.round(mid(stolen('ipi'))));
    if (process.getuid?.() !== 0) expect(skipped('gracePeriod')).toEqual({ skipped: 'needs root (a private mount namespace for the bind mounts)' });
    if (skipped('gracePeriod')) {
      console.warn(`skipped: the grace period's IPI cost (${skipped('gracePeriod')!.skipped})`);
      expect(model.wakeup!.rcuExpeditedIpiNs).toBeUndefined();
      expect(model.wakeup!.busyUmountNs).toBeUndefined();
    } else if (mid(stolen('gracePeriod')) < 0.5) {
      // The spinner did not have its cpu, so the umount did not run beside a busy one either.
      expect(model.wakeup!.rcuExpeditedIpiNs).toBeUndefined();
      expect(model.wakeup!.busyUmountNs).toBeUndefined();
    } else {
      expect(model.wakeup!.rcuExpeditedIpiNs!.value).toBe(Math.round(mid(stolen('gracePeriod'))));
      expect(model.wakeup!.rcuExpeditedIpiNs!.source).toContain('synchronize_rcu_expedited');
      // The umount call itself, beside the busy cpu: what calibrate holds the per-busy-cpu grace period with.
      const calls = runs.map((r) => r.interrupts!.gracePeriod).map((x) => ('callNs' in x ? x.callNs.median : NaN));
      expect(model.wakeup!.busyUmountNs!.value).toBe(Math.round(mid(calls)));
      expect(model.wakeup!.busyUmountNs!.source).toContain('one busy cpu');
    }
    // The address-space rings: processes less threads, per ring the median over runs of each run's median batch (at least 0).
    const ring = (k: 'threads2' | 'processes2' | 'threads3' | 'processes3') => mid(runs.map((r) => r.addressSpace!).map((a) => ('handoffNs' in a ? [...a.handoffNs[k]].sort((x, y) => x - y)[2]! : NaN)));
    expect(model.wakeup!.addressSpaceSwitch!.recentNs.value).toBe(Math.max(0, Math.round(ring('processes2') - ring('threads2'))));
    expect(model.wakeup!.addressSpaceSwitch!.otherNs.value).toBe(Math.max(0, Math.round(ring('processes3') - ring('threads3'))));
    expect(model.wakeup!.addressSpaceSwitch!.otherNs.source).toContain('rings of 3');
    // A pingpong file is not a wakeup file.
    const pp = join(work, 'pp-for-wakeup.json');
    await measurePingpong({ cpus: [0, 1], samples: 5, iterations: 50 }, { out: pp });
    expect(inputError(() => wakeupEvidence(pp)).message).toContain('kind: expected a wakeup measurement');
  });

  it('a --cpus list naming a cpu this host lacks is an InputError before anything runs', async () => {
    await expect(measurePingpong({ cpus: [0, 4096] }, { out: join(work, 'never.json') })).rejects.toThrow(InputError);
    expect(() => readFileSync(join(work, 'never.json'))).toThrow();
  });
});

describe('measurement files', () => {
  it('an interrupt cost measured as nothing (a median under 0.5 ns: the spinner did not have its cpu) is left out, not 0', () => {
    const m = JSON.parse(readFileSync(new URL('../measurements/this-host-w19/measurements/wakeup.json', import.meta.url), 'utf8'));
    expect(wakeupEvidence('w19.json', parseMeasurement(JSON.stringify(m), 'w19.json')).ipiStolen!.ns).toBeGreaterThan(1000);
    for (const r of m.results.runs) r.interrupts.ipi.stolenPerCallNs = { min: 0, median: 0, max: 3 };
    const f = join(work, 'wakeup-no-ipi.json');
    writeFileSync(f, JSON.stringify(m));
    const ev = wakeupEvidence(f);
    expect(ev.ipiStolen).toBeUndefined();
    expect(ev.gracePeriodStolen!.ns).toBeGreaterThan(1000);
  });

  it('a wakeup file from before the address-space rings (or whose rings were skipped) gives no address-space switch', () => {
    const m = JSON.parse(readFileSync(new URL('../measurements/this-host-w19/measurements/wakeup.json', import.meta.url), 'utf8'));
    expect(wakeupEvidence('w19.json', parseMeasurement(JSON.stringify(m), 'w19.json')).addressSpace).toBeUndefined();
    const rings = { laps: 40, handoffNs: { threads2: [3700, 3800, 3900], processes2: [7000, 7100, 6900], threads3: [4400, 4500, 4300], processes3: [11000, 11100, 10900] } };
    m.results.runs.forEach((r: Record<string, unknown>, i: number) => (r.addressSpace = i === 0 ? { skipped: 'a ring of pipes failed (pipe, fork or pthread_create)' } : rings));
    expect(wakeupEvidence('w19.json', parseMeasurement(JSON.stringify(m), 'w19.json')).addressSpace).toBeUndefined();
    m.results.runs[0].addressSpace = rings;
    expect(wakeupEvidence('w19.json', parseMeasurement(JSON.stringify(m), 'w19.json')).addressSpace).toMatchObject({ recentNs: 7000 - 3800, otherNs: 11000 - 4400 });
  });

  const sample = {
    format: 'locksim-measurement',
    version: 1,
    kind: 'pingpong',
    host: { topology: { sockets: 1, cores: 2, cpus: 2, l3Groups: 1, cpuMap: [{ cpu: 0, socket: 0, core: 0, l3: 0, thread: 0 }, { cpu: 1, socket: 0, core: 1, l3: 0, thread: 0 }] }, kernel: '6.6.0', cpuModel: 'AMD EPYC' },
    command: ['probes/build/pingpong', '--samples', '20'],
    config: { cpus: null, samples: 20, iterations: 200 },
    results: { probe: 'pingpong', method: 'cas-round-trip-half', samples: 20, iterations: 200, cpus: [0, 1], matrixNs: [[null, 30], [31, null]] },
    startedAt: '2025-01-01T00:00:00.000Z',
  };
  const text = JSON.stringify(sample, null, 2) + '\n';

  it('a complete file loads', () => {
    expect(parseMeasurement(text, 'm.json').kind).toBe('pingpong');
  });

  it('a truncated file is an InputError at the line where it ends', () => {
    const cut = text.slice(0, Math.floor(text.length / 2));
    const file = join(work, 'truncated.json');
    writeFileSync(file, cut);
    const e = inputError(() => loadMeasurement(file));
    expect(e.file).toBe(file);
    expect(e.field).toBe('(json)');
    expect(e.line).toBe(cut.split('\n').length);
    expect(e.message).toMatch(/truncated/);
  });

  it('a syntax error mid-file is reported at its line', () => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.includes('"cpuModel"'));
    lines[at] = lines[at]!.replace('"cpuModel":', '"cpuModel" ');
    const e = inputError(() => parseMeasurement(lines.join('\n'), 'm.json'));
    expect(e.line).toBe(at + 1);
  });

  it('a wrong value is an InputError naming the field at its line', () => {
    const bad = text.replace('"iterations": 200\n  },', '"iterations": -5\n  },');
    expect(bad).not.toBe(text);
    const e = inputError(() => parseMeasurement(bad, 'm.json'));
    expect(e.field).toBe('config.iterations');
    expect(e.line).toBe(bad.split('\n').findIndex((l) => l.includes('-5')) + 1);
  });

  it('a lockbench file given as --pingpong is refused', () => {
    const file = join(work, 'kind.json');
    writeFileSync(file, text.replace('"kind": "pingpong"', '"kind": "lockbench"'));
    // The lockbench schema then fails on config/results; either way an InputError.
    expect(() => pingpongEvidence(file)).toThrow(InputError);
  });
});

describe('CLI wiring', () => {
  function program(): { cmd: Command; out: string[] } {
    const out: string[] = [];
    const cmd = new Command().name('locksim').exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
    registerHostCommands(cmd);
    return { cmd, out };
  }

  for (const args of [['host', 'topology'], ['measure', 'lockbench'], ['measure', 'pingpong'], ['measure', 'wakeup'], ['measure', 'mountstorm'], ['import-strace']]) {
    it(`${args.join(' ')} --help`, async () => {
      const { cmd, out } = program();
      // Commander reports help as an "error" with exit code 0.
      const err = await cmd.parseAsync([...args, '--help'], { from: 'user' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommanderError);
      expect((err as CommanderError).exitCode).toBe(0);
      expect(out.join('')).toMatch(new RegExp(`Usage: locksim ${args.join(' ')}`));
      expect(out.join('')).toMatch(/--out|--help/);
    });
  }

  it('host topology --root FIXTURE writes a model with a header naming the command', async () => {
    const { cmd } = program();
    const out = join(work, 'fixture-host.yaml');
    const root = join(import.meta.dirname, 'fixtures', 'sysfs', '2s-2l3-2c-smt');
    await cmd.parseAsync(['host', 'topology', '--root', root, '--out', out], { from: 'user' });
    const text = readFileSync(out, 'utf8');
    expect(text.split('\n')[0]).toContain(`locksim host topology --root ${root} --out ${out}`);
    expect(text).toContain('name: fixture-host');
  });

  it('import-strace FILE --out TRACE writes a trace parseTrace accepts', async () => {
    const { cmd } = program();
    const out = join(work, 'imported.jsonl');
    const file = join(import.meta.dirname, 'fixtures', 'strace', 'mountstorm-per-layer-idmap-k3-l4.strace');
    await cmd.parseAsync(['import-strace', file, '--out', out, '--variant', 'per-layer-idmap'], { from: 'user' });
    const trace = parseTrace(readFileSync(out, 'utf8'), out);
    expect(trace.header.variant).toBe('per-layer-idmap');
    // Three container threads plus the probe's main thread, whose setup mounts
    // (tmpfs, the idmap check) strace sees too (test/fixtures/strace/README.md).
    expect(trace.header.containers).toHaveLength(4);
    expect(trace.ops.count).toBeGreaterThan(3 * 2 * 4 * 3);
  });

  it('measure wakeup: bad --cpus, --gaps-us, --samples or --repeat are refused before the probe runs, and nothing is written', async () => {
    const out = join(work, 'wakeup-never.json');
    for (const bad of [['--cpus', '0'], ['--gaps-us', '0'], ['--gaps-us', Array.from({ length: 17 }, (_, i) => i + 1).join(',')], ['--samples', '100001'], ['--repeat', '101']]) {
      const { cmd } = program();
      const err = await cmd.parseAsync(['measure', 'wakeup', ...bad, '-o', out], { from: 'user' }).catch((e: unknown) => e);
      // commander's own argument errors (exit 2 in the CLI) or one InputError line
      expect(err instanceof InputError || (err instanceof CommanderError && err.exitCode !== 0), `${bad.join(' ')}: ${String(err)}`).toBe(true);
    }
    expect(() => readFileSync(out)).toThrow();
  });

  it('import-strace of a missing file is an InputError', async () => {
    const { cmd } = program();
    await expect(cmd.parseAsync(['import-strace', join(work, 'nope.strace'), '--out', join(work, 'x.jsonl')], { from: 'user' })).rejects.toThrow(InputError);
  });
});
