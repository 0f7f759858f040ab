// `locksim calibrate --record --validate` for real: records a reduced
// calibration set with the probes (and a reduced held-out set, pass for
// pass, validated after the fit), fits, then predicts two configurations it did not record
// and measures them: each measured mean of 5 runs must fall in its 98%
// interval (Student's t: the spread is estimated from the reduced set's few
// points), measured while a recorded configuration still measures as it did. At 90% each, a perfect model would fail this test one run in
// five (0.9^2); at 98% one in twenty-five. The 90% intervals' coverage is
// judged on a whole held-out set in docs/validation.md, not here.
// The privileged group runs after the others (vitest.config.ts groupOrder),
// so that the suite's own load cannot fall on the held-out runs and not on
// the recording (or the reverse). Skipped with the reason where the host cannot run the probes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCalibrationRecord } from '../src/host/calibrate.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { machineIdentity } from '../src/host/machineIdentity.ts';
import { measureMountstorm } from '../src/host/measure.ts';
import { calibrationNoise, meanLaunchPoints, predictMountstorm, tOfLevel } from '../src/host/predict.ts';
import { buildProbes, canMountIdmapped } from '../src/host/probes.ts';
import { readSysfsTopology } from '../src/host/topology.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const built = buildProbes();
const cap = process.getuid?.() !== 0 ? { ok: false, reason: 'needs root (mount namespaces, idmapped mounts)' } : built.ok ? canMountIdmapped() : { ok: false, reason: `probes not built: ${built.message}` };
const reason = !cap.ok ? cap.reason : readSysfsTopology().cpus.length < 2 ? 'lockbench needs 2 cpus' : '';
if (reason) console.warn(`skipped: ${reason}`);

const work = mkdtempSync(join(tmpdir(), 'locksim-record-priv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(reason !== '')('calibrate --record on this host', () => {
  it('records a reduced set, fits, and the intervals of two unrecorded configurations hold their measured means', async (ctx) => {
    const dir = join(work, 'cal');
    const r = spawnSync(process.execPath, [join(repo, 'bin/locksim.js'), 'calibrate', '--record', dir, '--set', 'reduced', '--validate'], { encoding: 'utf8', cwd: repo, timeout: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['calibration.json', 'hardware.yaml', 'kernel.yaml', 'validation/validation.json']) expect(existsSync(join(dir, f))).toBe(true);
    // --validate: the reduced held-out set (K=3 L=10, K=6 L=5, cs=100 ns; 3 passes) recorded pass for pass
    // with the calibration set, then validated: the table, MAPE and how much the machine moved meanwhile.
    const held = readdirSync(join(dir, 'heldout'));
    expect(held.filter((f) => /^per-layer-idmap-K(3-L10|6-L5)\.r[123]\.json$/.test(f))).toHaveLength(6);
    expect(held.filter((f) => /^ttas-t2-cs100-run[123]\.json$/.test(f))).toHaveLength(3);
    expect(held.some((f) => f.endsWith('.trace.jsonl'))).toBe(false);
    expect(r.stdout).toMatch(/validation on the held-out set/);
    expect(r.stdout).toMatch(/mountstorm: MAPE [\d.]+% of mean launch latency over 2 held-out configurations/);
    expect(r.stdout).toMatch(/mountstorm held-out runs: the machine ran \d+% (slower|faster) at the end than at the start/);
    // Interleaved: the held-out set's first run starts before the calibration set's last.
    const startOf = (f: string) => Date.parse(JSON.parse(readFileSync(f, 'utf8')).startedAt);
    const calStarts = readdirSync(join(dir, 'measurements')).filter((f) => /\.r\d+\.json$/.test(f)).map((f) => startOf(join(dir, 'measurements', f)));
    expect(startOf(join(dir, 'heldout', 'per-layer-idmap-K3-L10.r1.json'))).toBeLessThan(Math.max(...calStarts));
    // Only the small storms' traces are kept (K <= 4).
    expect(readdirSync(join(dir, 'measurements')).filter((f) => f.endsWith('.trace.jsonl')).every((f) => /-K[124]-/.test(f))).toBe(true);
    // The wake-up probe ran first and its medians are the base hardware model's `wakeup`.
    const hw = loadHardwareModel(join(dir, 'hardware.yaml'));
    expect(hw.wakeup?.remoteNs.source).toContain(join(dir, 'measurements', 'wakeup.json'));
    const record = loadCalibrationRecord(join(dir, 'calibration.json'));
    expect(record.machine).toEqual(machineIdentity());
    expect(record.mountstorm!.covariance).not.toBeNull();
    // The runtime-shaped storm (one process per container) measured the fork: set, not fitted.
    const kernel = loadKernelModel(join(dir, 'kernel.yaml'));
    expect(kernel.host.processForkNs?.source).toMatch(/--processes runs/);
    expect(kernel.host.processForkNs!.value).toBeGreaterThan(1000);
    // ... and each container process's page faults (counted and timed by the probe): set, not fitted.
    expect(kernel.host.processFaultNs?.source).toMatch(/page faults per container process/);
    expect(kernel.host.processFaultNs!.value).toBeGreaterThan(0);

    // The interval covers the run-to-run noise of the window the recording
    // saw, not a machine that changed since (docs/validation.md: drift is
    // reported beside the coverage, not in the interval). So each held-out
    // configuration is measured beside a recorded one (the guard): when the
    // guard's mean has left its recorded runs' 98% band, the machine is not
    // the recorded one any more (another tenant, a frequency change) and the
    // pair is measured again, up to three times.
    const guard = { variant: 'per-layer-idmap' as const, containers: 2, layers: 20 };
    const guardPoint = record.mountstorm!.points.find((pt) => pt.label === `per-layer-idmap K=2 L=20: mean launch (s)`)!;
    const noise = calibrationNoise(meanLaunchPoints(record.mountstorm!.points), record.mountstorm!.parameters.length, record.mountstorm!.points.length);
    const guardMean = guardPoint.measured.reduce((a, b) => a + b, 0) / guardPoint.measured.length;
    const guardBand = tOfLevel(0.98, noise.withinDof ?? Infinity) * Math.sqrt(noise.windowCv ** 2 + noise.withinCv ** 2 / 3 + noise.withinCv ** 2 / guardPoint.measured.length);
    const meanOf = async (c: typeof guard, repeat: number, name: string) => {
      const m = await measureMountstorm({ ...c, repeat }, { out: join(work, `${name}.json`) });
      if (m.kind !== 'mountstorm') throw new Error('a mountstorm measurement');
      return m.results.runs.reduce((a, x) => a + x.meanNs, 0) / m.results.runs.length / 1e9;
    };
    for (const c of [{ variant: 'per-layer-idmap' as const, containers: 2, layers: 10 }, { variant: 'per-layer-idmap' as const, containers: 6, layers: 20 }]) {
      const p = predictMountstorm(record, c, 5, '(calibration)', 0.98);
      let mean = NaN;
      const drifted: string[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const g = await meanOf(guard, 3, `guard-K${c.containers}-L${c.layers}-${attempt}`);
        mean = await meanOf(c, 5, `held-K${c.containers}-L${c.layers}-${attempt}`);
        console.warn(`K=${c.containers} L=${c.layers} attempt ${attempt}: guard ${(g * 1e3).toFixed(3)} ms (recorded ${(guardMean * 1e3).toFixed(3)} ms, band x${Math.exp(guardBand).toFixed(2)}), held-out ${(mean * 1e3).toFixed(3)} ms`);
        if (Math.abs(Math.log(g / guardMean)) <= guardBand) break;
        drifted.push(`attempt ${attempt}: guard K=2 L=20 ${(g * 1e3).toFixed(3)} ms against ${(guardMean * 1e3).toFixed(3)} ms recorded (band x${Math.exp(guardBand).toFixed(2)})`);
      }
      if (drifted.length === 3) {
        // Not the machine the intervals are for: say so rather than judge them on it.
        const why = `skipped: the machine drifted from the recording in all three attempts at K=${c.containers} L=${c.layers} (${drifted.join('; ')})`;
        console.warn(why);
        ctx.skip(why);
      }
      expect(mean, `K=${c.containers} L=${c.layers}: measured ${mean} s, interval ${p.low}-${p.high} s (${p.dof.toFixed(1)} dof); ${drifted.join('; ') || 'guard in its band'}`).toBeGreaterThanOrEqual(p.low);
      expect(mean, `K=${c.containers} L=${c.layers}: measured ${mean} s, interval ${p.low}-${p.high} s (${p.dof.toFixed(1)} dof); ${drifted.join('; ') || 'guard in its band'}`).toBeLessThanOrEqual(p.high);
    }
  }, 900_000);
});
