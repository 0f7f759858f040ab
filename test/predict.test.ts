// locksim predict: the interval's parts, each of which must move it, and the
// CLI (JSON output, one line and exit 2 on bad input, one line on stderr for
// a calibration of another machine, exit 3 for --record without root).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCalibrationRecord, mountGroupPaths, type CalibrationRecord } from '../src/host/calibrate.ts';
import { machineDifferences, machineIdentity, otherMachineNotice, type MachineIdentity } from '../src/host/machineIdentity.ts';
import { calibrationNoise, intervalOf, parameterSpread, predictLockbench, predictMountstorm, sumDof, tOfLevel, windowAndWithin, Z90, zOfLevel } from '../src/host/predict.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const fitted = join(repo, 'measurements/this-host-2026-11/fitted');
const work = mkdtempSync(join(tmpdir(), 'locksim-predict-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cli = (args: string[]) => spawnSync(process.execPath, [join(repo, 'bin/locksim.js'), ...args], { encoding: 'utf8', cwd: repo });

/**
 * The committed calibration (written before records kept the covariance) with
 * what predict reads added: a diagonal covariance from its standard errors,
 * the groups of its kernel, and a machine identity.
 */
function fixture(machine: MachineIdentity, covarianceScale = 1): string {
  const r = JSON.parse(readFileSync(join(fitted, 'calibration.json'), 'utf8')) as CalibrationRecord;
  const diag = (ps: { stdError: number }[]) => ps.map((p, i) => ps.map((q, j) => (i === j ? covarianceScale * q.stdError ** 2 : 0)));
  const rec = {
    ...r,
    machine,
    hardwareModel: join(fitted, 'hardware.yaml'),
    kernelModel: join(fitted, 'kernel.yaml'),
    lockbench: { ...r.lockbench!, covariance: diag(r.lockbench!.parameters), steps: [2, 8], clockReadNs: 23 },
    mountstorm: { ...r.mountstorm!, covariance: diag(r.mountstorm!.parameters), steps: [0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.2], groups: mountGroupPaths(loadKernelModel(join(fitted, 'kernel.yaml'))) },
  };
  const file = join(work, `calibration-${covarianceScale}-${machine.kernelRelease}.json`);
  writeFileSync(file, JSON.stringify(rec));
  return file;
}
const here = machineIdentity();
const calibration = fixture(here);

describe('prediction interval', () => {
  it('adds its three parts on the log scale, and narrows with more runs only in the run-to-run part', () => {
    const noise = { withinCv: 0.2, windowCv: 0, modelRel: 0.1 };
    const one = intervalOf(2, [1, 0], { covariance: [[0.01, 0], [0, 5]] }, noise, 1);
    const sd = Math.sqrt(0.01 + 0.04 + 0.01);
    expect(one.low).toBeCloseTo(2 * Math.exp(-Z90 * sd), 12);
    expect(one.high).toBeCloseTo(2 * Math.exp(Z90 * sd), 12);
    const four = intervalOf(2, [1, 0], { covariance: [[0.01, 0], [0, 5]] }, noise, 4);
    expect(four.parts.runToRun).toBeCloseTo(0.1, 12);
    expect(four.parts.parameters).toBeCloseTo(one.parts.parameters, 12);
    expect(four.high - four.low).toBeLessThan(one.high - one.low);
  });

  it('separates the window all runs of a pass share from the spread within it (interleaved passes)', () => {
    // Three configurations x four passes: pass offsets x1, x1.3, x0.8, x1.1 shared by every configuration, plus a small per-run jitter.
    const offsets = [1, 1.3, 0.8, 1.1];
    const jitter = [[1.01, 0.99, 1.02, 0.98], [0.99, 1.02, 0.98, 1.01], [1.0, 0.99, 1.0, 1.01]];
    const points = [1, 5, 20].map((base, i) => ({ label: `p${i}`, files: [], measured: offsets.map((o, j) => base * o * jitter[i]![j]!), predicted: base }));
    const split = windowAndWithin(points)!;
    const logOffsets = offsets.map(Math.log);
    const m = logOffsets.reduce((a, b) => a + b, 0) / 4;
    const offsetSd = Math.sqrt(logOffsets.reduce((a, x) => a + (x - m) ** 2, 0) / 3);
    expect(split.windowCv).toBeGreaterThan(0.8 * offsetSd);
    expect(split.windowCv).toBeLessThan(1.2 * offsetSd);
    expect(split.withinCv).toBeLessThan(0.03);
    // The same runs with each configuration's passes shuffled differently: no shared window, the spread is within.
    const shuffled = points.map((p, i) => ({ ...p, measured: p.measured.map((_, j) => p.measured[(j + i) % 4]!) }));
    expect(windowAndWithin(shuffled)!.windowCv).toBeLessThan(split.windowCv / 2);
    // A mean of 5 runs in one window keeps the window's spread: more runs do not shrink it below windowCv.
    const noise = calibrationNoise(points, 1);
    const many = intervalOf(1, [], { covariance: null }, { ...noise, modelRel: 0 }, 1000);
    expect(many.parts.runToRun).toBeGreaterThanOrEqual(split.windowCv);
    // Unequal run counts: no pass structure, all the spread counted within.
    expect(windowAndWithin([{ measured: [1, 2, 3] }, { measured: [1, 2] }])).toBeNull();
  });

  it('a level widens the interval by its normal quantile', () => {
    expect(zOfLevel(0.9)).toBeCloseTo(Z90, 3);
    expect(zOfLevel(0.99)).toBeCloseTo(2.5758, 3);
    const noise = { withinCv: 0.2, windowCv: 0.1, modelRel: 0.1 };
    const i90 = intervalOf(1, [], { covariance: null }, noise, 5);
    const i99 = intervalOf(1, [], { covariance: null }, noise, 5, 0.99);
    expect(Math.log(i99.high) / Math.log(i90.high)).toBeCloseTo(2.5758 / Z90, 3);
    expect(i99.level).toBe(0.99);
  });

  it('takes Student\'s t quantile for spreads estimated from few numbers (Welch-Satterthwaite), the normal one for exact ones', () => {
    expect(tOfLevel(0.9, Infinity)).toBe(Z90);
    expect(tOfLevel(0.98, 5)).toBeCloseTo(3.3649, 3);
    expect(tOfLevel(0.95, 2)).toBeCloseTo(4.3027, 3);
    // One part: its own dof. Two equal parts of 4 dof each: 8.
    expect(sumDof([{ v: 0.04, dof: 7 }])).toBeCloseTo(7, 12);
    expect(sumDof([{ v: 0.01, dof: 4 }, { v: 0.01, dof: 4 }])).toBeCloseTo(8, 12);
    expect(sumDof([{ v: 0.01 }, { v: 0 , dof: 2 }])).toBe(Infinity);
    // The model's miss from a handful of points widens the interval beyond the normal quantile's.
    const noise = { withinCv: 0.05, windowCv: 0, modelRel: 0.15 };
    const exact = intervalOf(1, [], { covariance: null }, noise, 5);
    const few = intervalOf(1, [], { covariance: null }, { ...noise, modelDof: 5, withinDof: 40 }, 5);
    expect(exact.dof).toBe(Infinity);
    expect(few.dof).toBeGreaterThan(5);
    expect(few.dof).toBeLessThan(7);
    expect(Math.log(few.high) / Math.log(exact.high)).toBeCloseTo(tOfLevel(0.9, few.dof) / Z90, 6);
    expect(few.high).toBeGreaterThan(exact.high);
    // calibrationNoise gives each estimate its dof: passes - 1 for the window, (points - 1)(passes - 1) within, launch points less the parameters' share for the miss.
    const pts = [1, 2, 3].map((b, i) => ({ label: `p${i}`, files: [], measured: [b, b * 1.1, b * 0.95], predicted: b * 1.2 }));
    expect(calibrationNoise(pts, 2, 6)).toMatchObject({ windowDof: 2, withinDof: 4, modelDof: 2 });
  });

  it('counts as model miss only the error beyond what the runs\' spread explains', () => {
    const exact = [{ label: 'a', files: [], measured: [1, 1, 1], predicted: 1 }, { label: 'b', files: [], measured: [2, 2], predicted: 2 }];
    expect(calibrationNoise(exact, 1)).toMatchObject({ withinCv: 0, windowCv: 0, modelRel: 0 });
    const off = [{ label: 'a', files: [], measured: [1, 1, 1], predicted: 1.2 }, { label: 'b', files: [], measured: [2, 2], predicted: 2 / 1.2 }];
    // Two points, one parameter fitted to 4 points: mean log error^2 x 4/3.
    expect(calibrationNoise(off, 1, 4).modelRel).toBeCloseTo(Math.sqrt(Math.log(1.2) ** 2 * (4 / 3)), 12);
  });

  it('mount storm: the fit covariance widens the interval (perturbing the stored cost groups)', () => {
    const c = { variant: 'per-layer-idmap' as const, containers: 4, layers: 10 };
    const without = predictMountstorm(loadCalibrationRecord(fixture(here, 0)), c);
    const withCov = predictMountstorm(loadCalibrationRecord(fixture(here, 100)), c);
    expect(withCov.mean).toBeCloseTo(without.mean, 15);
    expect(without.parts.parameters).toBe(0);
    expect(withCov.parts.parameters).toBeGreaterThan(0.01);
    expect(withCov.low).toBeLessThan(without.low);
    expect(withCov.low).toBeLessThan(withCov.mean);
    expect(withCov.high).toBeGreaterThan(withCov.mean);
  });

  it('moves each parameter by its standard error (a secant on the log scale), within its bounds', () => {
    // A response that saturates: f = 2 - exp(-x). At x = 1 its slope times a
    // standard error of 3 overshoots what moving x by 3 does.
    const f = (x: number) => 2 - Math.exp(-x);
    const bounds = { min: [0, 1], max: [10, 500], step: [0.1, 8] };
    const values = [1, 1];
    const covariance = [[9, 0], [0, 280 ** 2]];
    // Parameter 1 sits at its lower bound with a standard error of 280 and room 499 above: it moves up by 280.
    const g = (x: number) => 1 + 0.5 * Math.tanh(x / 100);
    const { sensitivity, covariance: c } = parameterSpread(values, covariance, bounds, f(1) * g(1), (j, d) => (j === 0 ? f(1 + d) * g(1) : f(1) * g(1 + d)));
    expect(sensitivity[0]).toBeCloseTo(Math.log(f(4) / f(1)) / 3, 12);
    expect(sensitivity[1]).toBeCloseTo(Math.log(g(281) / g(1)) / 280, 12);
    expect(c).toEqual(covariance);
    // So its share of the interval is what moving it by one standard error does, not the slope's straight line.
    const slope = Math.exp(-1) / f(1);
    expect(Math.abs(sensitivity[0]!) * 3).toBeLessThan(slope * 3);
    // Beyond its room on both sides (a box of 0-10, standard error 30): it moves to the far bound and its spread is capped at that room.
    const wide = parameterSpread([4], [[900]], { min: [0], max: [10], step: [0.1] }, f(4), (_j, d) => f(4 + d));
    expect(wide.sensitivity[0]).toBeCloseTo(Math.log(f(10) / f(4)) / 6, 12);
    expect(wide.covariance[0]![0]).toBeCloseTo(36, 9);
    // A parameter the fit held (no spread) needs no simulation and adds nothing.
    const held = parameterSpread([4], [[0]], { min: [0], max: [10], step: [0.1] }, f(4), () => { throw new Error('not simulated'); });
    expect(held.sensitivity).toEqual([0]);
  });

  it('lockbench: an unidentified pause at its bound gives a finite interval (w22\'s calibration)', () => {
    // w22's fit left pause at 1 cycle +- 281 (the calibration set barely sees
    // it); cs=0 with the counter on the lock's line does. The slope's
    // straight line gave 0.004 to 347,000 M/s.
    const rec = loadCalibrationRecord(join(repo, 'measurements/this-host-w22/calibration.json'));
    const i = predictLockbench(rec, { lock: 'ttas', threads: 2, csNs: 0, thinkNs: 0, data: 'same-line' });
    expect(i.high / i.low).toBeLessThan(100);
    expect(i.low).toBeGreaterThan(0.1 * i.mean);
  });

  it('lockbench: a longer critical section predicts fewer acquisitions', () => {
    const rec = loadCalibrationRecord(calibration);
    const short = predictLockbench(rec, { lock: 'ttas', threads: 2, csNs: 100, thinkNs: 0 });
    const long = predictLockbench(rec, { lock: 'ttas', threads: 2, csNs: 800, thinkNs: 0 });
    expect(long.mean).toBeLessThan(short.mean);
    expect(short.parts.parameters).toBeGreaterThan(0);
  });
});

describe('machine identity', () => {
  it('names each field that differs, and says nothing for the same machine', () => {
    const other = { ...here, family: (here.family ?? 0) + 1, kernelRelease: '5.10.0-other' };
    expect(machineDifferences(here, here)).toEqual([]);
    expect(otherMachineNotice(here, here, 'c.json')).toBeNull();
    const notice = otherMachineNotice(other, here, 'c.json')!;
    expect(notice.split('\n')).toHaveLength(1);
    expect(notice).toMatch(/family .* kernelRelease "5\.10\.0-other"/);
    expect(otherMachineNotice(undefined, here, 'c.json')).toMatch(/records no machine identity/);
  });
});

describe('locksim predict (CLI)', () => {
  it('--json prints meanS, lowS, highS with low < mean < high; nothing on stderr on the same machine', () => {
    const r = cli(['predict', 'mountstorm', '--calibration', calibration, '--variant', 'per-layer-idmap', '-K', '2', '-L', '10', '--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout) as Record<string, number>;
    expect(Object.keys(j)).toEqual(['meanS', 'lowS', 'highS']);
    expect(j.lowS!).toBeLessThan(j.meanS!);
    expect(j.meanS!).toBeLessThan(j.highS!);
    const lb = cli(['predict', 'lockbench', '--calibration', calibration, '--cs', '100', '--json']);
    expect(lb.status).toBe(0);
    expect(Object.keys(JSON.parse(lb.stdout))).toEqual(['meanPerSec', 'lowPerSec', 'highPerSec']);
    const wide = cli(['predict', 'mountstorm', '--calibration', calibration, '--variant', 'per-layer-idmap', '-K', '2', '-L', '10', '--level', '0.99', '--json']);
    const w = JSON.parse(wide.stdout) as Record<string, number>;
    expect(w.meanS).toBeCloseTo(j.meanS!, 12);
    expect(w.lowS!).toBeLessThan(j.lowS!);
    expect(w.highS!).toBeGreaterThan(j.highS!);
    expect(cli(['predict', 'lockbench', '--calibration', calibration, '--cs', '100', '--level', '0.99']).stdout).toMatch(/99% interval/);
  });

  it('the committed calibration of the development machine (measurements/this-host) names its machine and predicts, at its old path too', () => {
    const current = join(repo, 'measurements/this-host/calibration.json');
    const record = loadCalibrationRecord(current);
    // A record without the machine's identity cannot say when it is used elsewhere.
    expect(record.machine).toMatchObject({ vendor: expect.any(String), family: expect.any(Number), kernelRelease: expect.any(String) });
    // It is a link into its window: the files it names resolve where it really is (validate reads them to refuse them as held-out data).
    const named = [...record.mountstorm!.files, ...(record.lockbench?.files ?? []), record.hardwareModel, record.kernelModel!];
    expect(named.filter((f) => !existsSync(f))).toEqual([]);
    const args = ['--variant', 'per-layer-idmap', '-K', '8', '-L', '25', '--json'];
    const now = cli(['predict', 'mountstorm', '--calibration', current, ...args]);
    const old = cli(['predict', 'mountstorm', '--calibration', join(repo, 'measurements/this-host/fitted/calibration.json'), ...args]);
    expect(now.status).toBe(0);
    expect(old.stdout).toBe(now.stdout);
    const p = JSON.parse(now.stdout) as { meanS: number; lowS: number; highS: number };
    expect(p.lowS).toBeLessThan(p.meanS);
    expect(p.highS).toBeGreaterThan(p.meanS);
  });

  it('says in one stderr line when the calibration was recorded on another machine', () => {
    const other = fixture({ ...here, modelName: 'Another CPU', kernelRelease: '5.10.0-other' });
    const r = cli(['predict', 'lockbench', '--calibration', other, '--cs', '200']);
    expect(r.status).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/recorded on another machine .*kernelRelease/);
    expect(r.stdout).toMatch(/90% interval for the mean of 5 runs/);
  });

  it('bad input: one line, exit 2', () => {
    const wakeupFile = join(repo, 'measurements/this-host-w9/measurements/wakeup.json');
    const bad = join(work, 'not-json.json');
    writeFileSync(bad, '{"format": ');
    const cases = [
      ['predict', 'mountstorm', '--calibration', calibration, '--variant', 'per-layer-idmap', '-K', '0', '-L', '10'],
      ['predict', 'mountstorm', '--calibration', calibration, '--variant', 'no-such-variant', '-K', '2', '-L', '10'],
      ['predict', 'mountstorm', '--calibration', calibration, '-K', '2', '-L', '10'],
      ['predict', 'mountstorm', '--calibration', bad, '--variant', 'per-layer-idmap', '-K', '2', '-L', '10'],
      ['predict', 'lockbench', '--calibration', join(work, 'missing.json'), '--cs', '100'],
      ['predict', 'lockbench', '--calibration', calibration, '--cs', '-5'],
      ['predict', 'lockbench', '--calibration', calibration, '--cs', '100', '--level', '1.5'],
      // A calibration written before these mechanisms: its kernel model has no fork cost and no umount_overlay.
      ['predict', 'mountstorm', '--calibration', calibration, '--variant', 'common-parent', '-K', '2', '-L', '10', '--processes'],
      ['predict', 'mountstorm', '--calibration', calibration, '--variant', 'common-parent', '-K', '2', '-L', '10', '--unmount-inspection'],
      ['predict', 'lockbench', '--calibration', calibration, '--cs', '100', '--level', '90%'],
      ['calibrate', '--record', join(work, 'rec'), join(fitted, '../mountstorm/per-layer-idmap-K1-L10.json')],
      ['calibrate'],
      // --validate records a held-out set beside the calibration set: only with --record.
      ['calibrate', join(fitted, '../mountstorm/per-layer-idmap-K1-L10.json'), join(fitted, '../mountstorm/per-layer-idmap-K1-L50.json'), '--validate', '-o', join(work, 'never')],
      // Two wake-up measurements, or one beside --hardware (which already says what wake-ups cost).
      ['calibrate', wakeupFile, wakeupFile, join(fitted, '../mountstorm/per-layer-idmap-K1-L10.json'), '-o', join(work, 'never')],
      ['calibrate', wakeupFile, join(fitted, '../mountstorm/per-layer-idmap-K1-L10.json'), '--hardware', 'models/hardware/generic-2core.yaml', '-o', join(work, 'never')],
    ];
    for (const args of cases) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(join(work, 'rec'))).toBe(false);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('a hand-edited calibration record fails at the field predict reads, not as a NaN interval', () => {
    type Rec = { lockbench: Record<string, unknown>; mountstorm: Record<string, unknown>; [k: string]: unknown };
    const rec = JSON.parse(readFileSync(join(repo, 'measurements/this-host-w22/refit-busy/calibration.json'), 'utf8')) as Rec;
    const w22 = join(repo, 'measurements/this-host-w22/refit-busy');
    const abs = (r: Rec): Rec => ({ ...r, hardwareModel: join(w22, 'hardware.yaml'), kernelModel: join(w22, 'kernel.yaml') });
    const edits: [string, (r: Rec) => void, string][] = [
      ['busy-umount', (r) => ((r.mountstorm.busyUmount as Record<string, unknown>).gracePeriodNs = 'x'), 'mountstorm.busyUmount.gracePeriodNs'],
      ['covariance', (r) => ((r.lockbench.covariance as unknown[][])[0]![1] = 'x'), 'lockbench.covariance[0][1]'],
      ['scales', (r) => ((r.mountstorm.scales as Record<string, unknown>).rcuBase = -1), 'mountstorm.scales.rcuBase'],
    ];
    for (const [name, edit, field] of edits) {
      const r = abs(structuredClone(rec));
      edit(r);
      const file = join(work, `edited-${name}.json`);
      writeFileSync(file, JSON.stringify(r, null, 2));
      const out = cli(['predict', 'mountstorm', '--calibration', file, '--variant', 'per-layer-idmap', '-K', '2', '-L', '10']);
      expect(out.status, name).toBe(2);
      expect(out.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(out.stderr, name).toContain(field);
      expect(out.stderr, name).toMatch(/:\d+:\d+/);
    }
  });

  const setpriv = spawnSync('/bin/sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim();
  const reason = process.getuid?.() !== 0 ? '' : !setpriv ? 'setpriv not found, cannot drop root to test the refusal' : '';
  if (reason) console.warn(`skipped: ${reason}`);
  it.skipIf(reason !== '')('calibrate --record without root: one line, exit 3, nothing written', () => {
    const dir = join(work, 'unprivileged');
    const args = [join(repo, 'bin/locksim.js'), 'calibrate', '--record', dir, '--set', 'reduced'];
    const r = process.getuid?.() === 0
      ? spawnSync(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args], { encoding: 'utf8', cwd: repo })
      : spawnSync(process.execPath, args, { encoding: 'utf8', cwd: repo });
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/needs root/);
    expect(existsSync(dir)).toBe(false);
  });
});
