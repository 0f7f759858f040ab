// Validation against held-out measurements: the report's arithmetic (error,
// MAPE, run-to-run CV), the refusal of data the calibration saw, and the
// charts. Uses the measurements and calibration committed in measurements/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/config/errors.ts';
import { loadMeasurement } from '../src/host/measure.ts';
import { loadCalibrationRecord, loadMountstormPoint } from '../src/host/calibrate.ts';
import { checkHeldOut, formatBias, formatValidation, signTestP, validate, validationOutputs } from '../src/host/validate.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const data = join(repo, 'measurements/this-host-2026-11');
const calibrationFile = join(data, 'fitted/calibration.json');
const work = mkdtempSync(join(tmpdir(), 'locksim-validate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const heldOut = [
  join(data, 'mountstorm/per-layer-idmap-K2-L25.json'),
  join(data, 'mountstorm/per-layer-idmap-K8-L1.json'),
  join(data, 'mountstorm/common-parent-K8-L50.json'),
  join(data, 'lockbench/ttas-t2-cs400-run1.json'),
  join(data, 'lockbench/ttas-t2-cs400-run2.json'),
];

describe('validate', () => {
  const record = loadCalibrationRecord(calibrationFile);
  const report = validate(record, heldOut);

  it('puts each measurement\'s mean of runs beside the prediction, with the error and CV worked out from them', () => {
    const storm = loadMeasurement(heldOut[0]!);
    if (storm.kind !== 'mountstorm') throw new Error('fixture is a mountstorm file');
    const runs = storm.results.runs.map((r) => r.meanNs * 1e-9);
    const p = report.points.find((x) => x.label === 'per-layer-idmap K=2 L=25')!;
    const mean = runs.reduce((a, b) => a + b, 0) / runs.length;
    expect(p.measuredMean).toBeCloseTo(mean, 12);
    expect(p.errorPct).toBeCloseTo((p.predicted / mean - 1) * 100, 9);
    const sd = Math.sqrt(runs.reduce((a, x) => a + (x - mean) ** 2, 0) / (runs.length - 1));
    expect(p.cvPct).toBeCloseTo((sd / mean) * 100, 9);
    // Two lockbench files of one configuration are one point with two runs.
    const lock = report.points.filter((x) => x.probe === 'lockbench');
    expect(lock).toHaveLength(1);
    expect(lock[0]!.measured).toHaveLength(2);
  });

  it('MAPE is the mean absolute error of each probe\'s points', () => {
    const storm = report.points.filter((x) => x.probe === 'mountstorm');
    expect(storm).toHaveLength(3);
    expect(report.mapePct.mountstorm).toBeCloseTo(storm.reduce((a, p) => a + Math.abs(p.errorPct), 0) / 3, 9);
    expect(formatValidation(report)).toMatch(/mountstorm: MAPE \d+\.\d% of mean launch latency over 3 held-out configurations/);
  });

  it('says which way the errors lean, with an exact two-sided sign test', () => {
    // 1 of 18 on one side: 2 x (C(18,0) + C(18,1)) / 2^18; an even split is 1; 0 of 5 is 2 / 32; 2 of 6 is 2 x 22 / 64.
    expect(signTestP(1, 18)).toBeCloseTo((2 * 19) / 2 ** 18, 15);
    expect(signTestP(17, 18)).toBeCloseTo((2 * 19) / 2 ** 18, 15);
    expect(signTestP(9, 18)).toBe(1);
    expect(signTestP(0, 5)).toBeCloseTo(2 / 32, 15);
    expect(signTestP(2, 6)).toBeCloseTo((2 * 22) / 64, 15);
    const storm = report.points.filter((x) => x.probe === 'mountstorm');
    const b = report.bias.mountstorm!;
    expect(b.below).toBe(storm.filter((p) => p.errorPct < 0).length);
    expect(b.above).toBe(storm.filter((p) => p.errorPct > 0).length);
    expect(b.meanErrorPct).toBeCloseTo(storm.reduce((a, p) => a + p.errorPct, 0) / storm.length, 9);
    expect(formatValidation(report)).toContain(formatBias('mountstorm', b));
    expect(formatBias('mountstorm', { below: 17, above: 1, meanErrorPct: -21, signTestP: signTestP(1, 18) })).toMatch(/17 of 18 predicted below .*p = 1\.4e-4\): one-sided/);
    expect(formatBias('mountstorm', { below: 8, above: 10, meanErrorPct: 1, signTestP: signTestP(8, 18) })).toMatch(/10 of 18 predicted above .*: a split chance alone often gives/);
  });

  it('says how much the machine moved while the held-out runs were recorded, each run against its own configuration', () => {
    // Window w33's held-out runs (one run per file, five passes over 4 minutes) against that window's calibration.
    const w33 = join(repo, 'measurements/this-host-w33');
    const files = ['per-layer-idmap-K2-L25', 'per-layer-idmap-K8-L1'].flatMap((c) => [1, 2, 3, 4, 5].map((r) => join(w33, `heldout/${c}.r${r}.json`)));
    const r = validate(loadCalibrationRecord(join(w33, 'refit/calibration.json')), files);
    const d = r.speedDrift.mountstorm!;
    expect(d.runs).toBe(10);
    expect(d.configurations).toBe(2);
    expect(d.spanMinutes).toBeGreaterThan(1);
    expect(r.speedDrift.lockbench).toBeNull();
    expect(formatValidation(r)).toContain(`mountstorm held-out runs: the machine ran ${Math.abs(d.changePct).toFixed(0)}% ${d.changePct >= 0 ? 'slower' : 'faster'} at the end than at the start`);
    // The committed set above has one file per configuration (its runs share a start): no drift to say.
    expect(report.speedDrift.mountstorm).toBeNull();
  });

  it('refuses files and configurations the calibration used', () => {
    const used = record.mountstorm!.files[0]!;
    expect(() => validate(record, [used])).toThrow(/a measurement that calibration did not use/);
    // Another run of a calibration configuration is still not held out.
    const copy = join(work, 'copy.json');
    writeFileSync(copy, JSON.stringify(loadMeasurement(used)));
    expect(() => checkHeldOut(record, [loadMountstormPoint(copy)], [])).toThrow(InputError);
    expect(() => checkHeldOut(record, [loadMountstormPoint(copy)], [])).toThrow(/a configuration calibration did not fit/);
  });

  it('charts one series per variant and layer count, with a measured and a predicted curve', async () => {
    const files = await validationOutputs(report, { command: 'test', calibration: calibrationFile });
    const names = files.map((f) => f.name);
    expect(names).toContain('validation.json');
    expect(names).toContain('validation.csv');
    expect(names).toContain('mountstorm-per-layer-idmap-L25.vl.json');
    expect(names).toContain('lockbench-ttas-t2.png');
    const spec = files.find((f) => f.name === 'mountstorm-common-parent-L50.vl.json')!.content as string;
    expect(spec).toContain('"measured"');
    expect(spec).toContain('"predicted"');
  });

  it('a lockbench series with a 0 ns critical section is charted on a linear axis (a log axis has no 0)', async () => {
    const lock = report.points.find((p) => p.probe === 'lockbench')!;
    const withZero = { ...report, points: [...report.points, { ...lock, x: 0, label: `${lock.label} (cs 0)` }] };
    const files = await validationOutputs(withZero, { command: 'test', calibration: calibrationFile });
    // It used to throw "x axis uses a log scale but has the value 0" and write nothing.
    expect(files.map((f) => f.name)).toContain('lockbench-ttas-t2.png');
    expect(files.find((f) => f.name === 'lockbench-ttas-t2.vl.json')!.content as string).not.toContain('"log"');
  });
});

describe('locksim validate (CLI)', () => {
  it('a calibration file that is not JSON exits 2 with one located line', () => {
    const bad = join(work, 'calibration.json');
    writeFileSync(bad, '{"format": "locksim-calibration", ');
    const r = spawnSync(process.execPath, [join(repo, 'bin/locksim.js'), 'validate', heldOut[0]!, '--calibration', bad, '-o', join(work, 'out')], { encoding: 'utf8', cwd: repo });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/calibration\.json:1:1: \(json\): expected complete, valid JSON/);
    expect(r.stdout).toBe('');
  });
});

describe('locksim calibrate (CLI)', () => {
  it('a kernel model with a misspelled syscall exits 2 with one located line before writing anything', () => {
    const model = readFileSync(join(repo, 'models/kernel/linux-6.6.yaml'), 'utf8').replace('  mount_plain:\n', '  mount_plian:\n    description: typo\n    notifiesMountWatchers: false\n    steps:\n      - cpu: lockMountNs\n  mount_plain:\n');
    const bad = join(work, 'typo.yaml');
    writeFileSync(bad, model);
    const out = join(work, 'calibrated');
    const r = spawnSync(process.execPath, [join(repo, 'bin/locksim.js'), 'calibrate', '--kernel', bad, join(data, 'mountstorm/per-layer-idmap-K1-L10.json'), '-o', out], { encoding: 'utf8', cwd: repo });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/typo\.yaml:\d+:\d+: syscalls\.mount_plian: expected a trace op's syscall .* or one that containerStart names/);
    expect(existsSync(out)).toBe(false);
  });
});
