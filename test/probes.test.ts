import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProbes, PROBES_DIR, ProbeError, probePath, runProbe, type BuildResult } from '../src/host/probes.ts';

let build: BuildResult = { ok: false, message: 'not built yet' };
const hasCompiler = spawnSync('/bin/sh', ['-c', 'command -v cc'], { encoding: 'utf8' }).status === 0;
if (!hasCompiler) console.warn('skipped: no C compiler (cc), so the probes cannot be built here');

beforeAll(() => {
  if (hasCompiler) build = buildProbes();
});

describe('probes/build.sh', () => {
  it('without a C compiler prints the one-line hint and exits 0 so npm install succeeds', () => {
    const r = spawnSync('/bin/sh', [join(PROBES_DIR, 'build.sh')], { encoding: 'utf8', env: { ...process.env, CC: 'no-such-compiler-locksim' } });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['locksim: no C compiler found (no-such-compiler-locksim); probes disabled: install gcc to enable `locksim measure`']);
  });

  it.skipIf(!hasCompiler)('builds all three probes with the C compiler', () => {
    expect(build).toEqual({ ok: true, message: '' });
  });
});

describe.skipIf(!hasCompiler)('lockbench', () => {
  for (const lock of ['ttas', 'ticket'] as const) {
    it(`${lock}: two pinned threads make progress and latency percentiles are ordered`, async () => {
      const r = await runProbe('lockbench', ['--lock', lock, '--threads', '2', '--cs-ns', '50', '--duration-ms', '200']);
      expect(r.config.lock).toBe(lock);
      expect(r.config.threads).toBe(2);
      expect(r.acquisitionsPerSec).toBeGreaterThan(0);
      // Both threads must have acquired the lock: a lock that starves one thread entirely is broken.
      expect(r.perThreadAcquisitions).toHaveLength(2);
      for (const n of r.perThreadAcquisitions) expect(n).toBeGreaterThan(0);
      expect(r.perThreadAcquisitions.reduce((a, b) => a + b, 0)).toBe(r.acquisitions);
      // Throughput is acquisitions over the measured time, within rounding.
      expect(r.acquisitionsPerSec).toBeCloseTo((r.acquisitions * 1e9) / r.elapsedNs, 0);
      // One sample every 16th acquisition per thread (the default).
      expect(r.latencyNs.samples).toBeGreaterThanOrEqual(Math.floor(r.acquisitions / 16) - 2);
      const { p50, p90, p99, max } = r.latencyNs;
      expect(p50).toBeGreaterThan(0);
      expect(p50).toBeLessThanOrEqual(p90);
      expect(p90).toBeLessThanOrEqual(p99);
      expect(p99).toBeLessThanOrEqual(max);
    });
  }

  const spreadMeasured = ['x64', 'ia32'].includes(process.arch) && availableParallelism() >= 2;
  if (!spreadMeasured) console.warn('skipped: lockbench transferSpread needs x86 (its time stamp counter) and 2 CPUs');
  it.skipIf(!spreadMeasured)('times single one-way trips between its first two cpus (transferSpread), ordered, with the counter\'s step', async () => {
    const r = await runProbe('lockbench', ['--threads', '2', '--cs-ns', '50', '--duration-ms', '50']);
    const s = r.transferSpread!;
    expect(s.samples).toBe(2000);
    const q = [s.p5Ns, s.p16Ns, s.p25Ns, s.p50Ns, s.p75Ns, s.p84Ns, s.p95Ns];
    expect(q.slice(1).every((x, i) => x >= q[i]!)).toBe(true);
    // A trip is about two transfers: at least the CAS method's one-way transfer, and not more than a few.
    expect(s.p50Ns).toBeGreaterThan(0.5 * r.transferNs!.before);
    expect(s.p50Ns).toBeLessThan(6 * r.transferNs!.before + 200);
    expect(s.tickNs).toBeGreaterThan(0);
    expect(s.tickNs).toBeLessThan(s.p50Ns);
  });

  it('takes no page fault while its workers run: each writes its sample pages before the start', async () => {
    // Before: the samples' pages faulted in during the run (~600 in 100 ms at cs=0 on this project's
    // guest), each fault with the lock held stalling both threads.
    const r = await runProbe('lockbench', ['--threads', '2', '--cs-ns', '0', '--duration-ms', '100']);
    expect(r.latencyNs.samples).toBeGreaterThan(10_000);
    expect(r.pageFaultsDuringRun).toBeLessThanOrEqual(10);
  });

  it('a longer critical section lowers throughput (the timed busy wait really holds the lock)', async () => {
    const short = await runProbe('lockbench', ['--threads', '1', '--cs-ns', '0', '--duration-ms', '150']);
    const long = await runProbe('lockbench', ['--threads', '1', '--cs-ns', '2000', '--duration-ms', '150']);
    // With one thread, each acquisition costs at least cs-ns: at most 1e9/2000 = 500k per second.
    expect(long.acquisitionsPerSec).toBeLessThan(500_000 * 1.05);
    expect(long.acquisitionsPerSec).toBeGreaterThan(500_000 * 0.3);
    expect(short.acquisitionsPerSec).toBeGreaterThan(long.acquisitionsPerSec * 3);
  });

  it('--data same-line|own-line: the holder increments a counter on the lock\'s line or its own, and the output says where', async () => {
    for (const data of ['same-line', 'own-line'] as const) {
      const r = await runProbe('lockbench', ['--threads', '2', '--cs-ns', '0', '--duration-ms', '100', '--data', data]);
      expect(r.config.data).toBe(data);
      expect(r.acquisitions).toBeGreaterThan(0);
    }
    const plain = await runProbe('lockbench', ['--threads', '2', '--cs-ns', '0', '--duration-ms', '100']);
    expect(plain.config.data).toBeUndefined();
    const e = await runProbe('lockbench', ['--data', 'elsewhere']).catch((x: unknown) => x);
    expect((e as ProbeError).message).toContain('--data: expected none, same-line or own-line');
  });

  it('rejects a bad option with a ProbeError carrying exit code 2 and the probe message', async () => {
    const e = await runProbe('lockbench', ['--lock', 'mcs']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProbeError);
    expect((e as ProbeError).exitCode).toBe(2);
    expect((e as ProbeError).message).toContain('--lock: expected ttas or ticket');
  });
});

describe.skipIf(!hasCompiler)('pingpong', () => {
  const enoughCpus = availableParallelism() >= 2;
  if (!enoughCpus) console.warn('skipped: pingpong needs 2 CPUs');
  it.skipIf(!enoughCpus)('gives a 2x2 matrix with positive off-diagonal latencies and an empty diagonal', async () => {
    const r = await runProbe('pingpong', ['--cpus', '0,1', '--samples', '50', '--iterations', '500']);
    expect(r.cpus).toEqual([0, 1]);
    expect(r.matrixNs).toHaveLength(2);
    expect(r.matrixNs[0]![0]).toBeNull();
    expect(r.matrixNs[1]![1]).toBeNull();
    for (const v of [r.matrixNs[0]![1], r.matrixNs[1]![0]]) {
      expect(v).toBeGreaterThan(0);
      // A one-way cache-line transfer is tens to a few hundred ns on any real
      // machine; a microsecond would mean the threads were not both running.
      expect(v).toBeLessThan(5000);
    }
  });
});

describe.skipIf(!hasCompiler)('wakeup', () => {
  const enoughCpus = availableParallelism() >= 2;
  if (!enoughCpus) console.warn('skipped: wakeup needs 2 CPUs');
  it.skipIf(!enoughCpus)('wake-to-run latencies are positive and ordered p10 <= p50 <= p90; each placement accounts for every sample; the wakee ran where it was allowed', async () => {
    const r = await runProbe('wakeup', ['--cpus', '0,1', '--samples', '40', '--gaps-us', '20,200']);
    expect(r.cpus).toEqual([0, 1]);
    const stats = [r.local, ...r.remote.map((x) => x.latency)];
    expect(r.remote.map((x) => x.gapNs)).toEqual([20_000, 200_000]);
    for (const s of stats) {
      expect(s.samples).toBe(40);
      expect(s.p10Ns).toBeGreaterThan(0);
      expect(s.p10Ns).toBeLessThanOrEqual(s.p50Ns);
      expect(s.p50Ns).toBeLessThanOrEqual(s.p90Ns);
      // A futex wake-up runs within milliseconds on any machine that is not
      // overloaded for seconds; more would mean the probe's hand-off is broken.
      expect(s.p50Ns).toBeLessThan(50_000_000);
    }
    for (const p of [r.placement, r.placementSame]) expect(p.onWaker + p.onOther).toBe(40);
    expect(r.placement.lastCpu).toBe('other');
    expect(r.placementSame.lastCpu).toBe('waker');
    // The address-space rings: a hand-off of each ring in every batch, each a wake-up and a switch (microseconds, not seconds).
    const as = r.addressSpace;
    if (!as || !('handoffNs' in as)) throw new Error(`no address-space rings: ${JSON.stringify(as)}`);
    expect(as.laps).toBe(40);
    for (const ring of Object.values(as.handoffNs)) {
      expect(ring).toHaveLength(5);
      for (const ns of ring) expect(ns).toBeGreaterThan(0);
      for (const ns of ring) expect(ns).toBeLessThan(50_000_000);
    }
  });

  it('refuses bad options with exit 2 and one line', () => {
    for (const args of [['--cpus', '0'], ['--cpus', '1,1'], ['--samples', '0'], ['--gaps-us', 'x']]) {
      const r = spawnSync(probePath('wakeup'), args, { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
