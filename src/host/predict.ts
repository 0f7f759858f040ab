// `locksim predict`: a calibration's prediction for a configuration it did
// not measure, with a 90% interval for the mean of R runs (default 5).
//
// The interval is on the log scale (the fit's residuals are relative) and
// adds three independent parts, each a relative standard deviation:
//  - the fitted parameters' uncertainty: g^T C g, with C the covariance the
//    fit stored ((J^T J)^-1 x SSR/(n-p)) and g the prediction's relative
//    sensitivity to each parameter: one simulation per parameter, moved by
//    its standard error, as a secant on the log scale (parameterSpread);
//  - the run-to-run spread of a mean of R runs made one after another, in
//    two parts: the machine's state in the window the runs share (load,
//    frequency, other tenants: one offset for all R runs, which R does not
//    shrink) and the spread within a window (divided by sqrt(R)). A recording
//    made with `calibrate --record` interleaves its passes (every
//    configuration once, then all again), so run i of every configuration
//    shares pass i's window: a two-way analysis of variance on the log of the
//    runs (configuration x pass) separates the two (windowAndWithin). Sets
//    whose points do not all have the same number of runs give no pass
//    structure; their pooled coefficient of variation is taken as within-
//    window spread alone;
//  - the model's own miss: the calibration points' relative error of their
//    means beyond what their run-to-run spread explains, scaled by n/(n-p)
//    for the parameters fitted to those same points. Without it the interval
//    would claim the model is right up to noise, which the held-out sets
//    show it is not (docs/validation.md).
// Each part is estimated from few numbers (a reduced calibration set has
// eight launch points and three passes), so the interval's quantile is
// Student's t with the Welch-Satterthwaite degrees of freedom of the sum,
// not the normal one: with many points it tends to the normal quantile; with
// few, a normal quantile makes the interval too narrow as often as the
// estimated spread comes out small.
// Drift beyond the windows the recording saw (another hour, another day,
// another CPU behind the same host name) is not in the interval: it is
// reported beside the coverage in docs/validation.md instead.
// The level is 90% unless asked (`--level`): a test that checks two
// configurations at 90% each fails one run in five with a perfect model.

import { loadHardwareModel, type HardwareModel } from '../config/hardwareSchema.ts';
import { InputError } from '../config/errors.ts';
import { loadKernelModel, type KernelModel } from '../workload/kernelModel.ts';
import { ABSOLUTE_NS_GROUPS, getIn, hostMachineSpec, lockBounds, lockParameterValue, type LockParameter, withLockParameters, MOUNT_BOUNDS, MOUNT_GROUPS, type FitBounds, simulateLockbench, simulateMountstorm, type FitPoint, type FitReport } from './calibration/fit.ts';
import { coefficientOfVariation, DEFAULT_ITERATION_NS, type LockbenchPoint, type MountstormPoint } from './calibration/measurements.ts';
import type { CalibrationRecord } from './calibration/write.ts';
import type { MountstormVariant } from './probes.ts';
import type { MachineSpec } from '../machine.ts';
import { createRequire } from 'node:module';
import { mathjs } from '../mathjs.ts';

/** probes/lockbench.c's default `--sample-every` (calibration records made before it was stored do not say). */
const PROBE_SAMPLE_EVERY = 16;

/** Two-sided 90%: the normal distribution's 95th percentile. */
export const Z90 = 1.6449;

/**
 * The normal quantile of a two-sided interval at `level` (0.9 -> 1.645), by
 * bisection on mathjs's erf (loaded on first use, src/mathjs.ts: importing it
 * at the top put ~0.6 s on every locksim command's start; the CLI loads this
 * module, and only `--level` needs it).
 */
export function zOfLevel(level: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`a level in (0, 1), got ${level}`);
  const { erf } = mathjs();
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (erf(mid / Math.SQRT2) < level) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface PredictionInterval {
  /** Predicted mean: seconds (mount storm launch latency) or acquisitions/s (lockbench). */
  mean: number;
  low: number;
  high: number;
  /** The interval's parts as relative standard deviations (see the module comment). */
  parts: { parameters: number; runToRun: number; model: number };
  runs: number;
  /** Two-sided coverage the interval is for (0.9 unless asked). */
  level: number;
  /** Degrees of freedom of its spread (Welch-Satterthwaite; Infinity: the normal quantile). */
  dof: number;
}

/** Run-to-run noise as relative standard deviations: the window all R runs share, and the spread within one. */
export interface RunNoise {
  /** Spread of one run within a window (log scale). */
  withinCv: number;
  /** Spread of a window's offset, shared by the runs made in it (log scale). */
  windowCv: number;
  /** The model's miss beyond the runs' spread (log scale). */
  modelRel: number;
  /** Degrees of freedom of each estimate (absent: known exactly). */
  withinDof?: number;
  windowDof?: number;
  modelDof?: number;
}

/**
 * Window and within-window spread from points whose runs were interleaved
 * passes (run i of every point in pass i): a two-way analysis of variance
 * without replication on the log of the runs. The residual mean square is
 * the within-window variance; the pass mean square exceeds it by C x the
 * window variance (C points). Null when the points do not have that shape
 * (fewer than 2 points or 2 passes, or unequal run counts).
 */
export function windowAndWithin(points: { measured: number[] }[]): { windowCv: number; withinCv: number; withinDof: number; windowDof: number } | null {
  const c = points.length;
  const r = points[0]?.measured.length ?? 0;
  if (c < 2 || r < 2 || points.some((p) => p.measured.length !== r || p.measured.some((x) => !(x > 0)))) return null;
  const y = points.map((p) => p.measured.map(Math.log));
  const rowMean = y.map((row) => row.reduce((a, b) => a + b, 0) / r);
  const colMean = Array.from({ length: r }, (_, j) => y.reduce((a, row) => a + row[j]!, 0) / c);
  const grand = rowMean.reduce((a, b) => a + b, 0) / c;
  let ssRes = 0;
  for (let i = 0; i < c; i++) for (let j = 0; j < r; j++) ssRes += (y[i]![j]! - rowMean[i]! - colMean[j]! + grand) ** 2;
  const msRes = ssRes / ((c - 1) * (r - 1));
  const msPass = (c * colMean.reduce((a, m) => a + (m - grand) ** 2, 0)) / (r - 1);
  return { withinCv: Math.sqrt(msRes), windowCv: Math.sqrt(Math.max(0, (msPass - msRes) / c)), withinDof: (c - 1) * (r - 1), windowDof: r - 1 };
}

/**
 * Run-to-run noise and the model's miss beyond it, from the calibration
 * points whose measured runs are what is predicted (`fittedPoints`: how many
 * points the fit had in all).
 */
export function calibrationNoise(points: FitPoint[], parameters: number, fittedPoints = points.length): RunNoise {
  const withRuns = points.filter((p) => p.measured.length > 0);
  if (withRuns.length === 0) return { withinCv: 0, windowCv: 0, modelRel: 0 };
  const cv2 = withRuns.map((p) => coefficientOfVariation(p.measured) ** 2);
  const pooled = Math.sqrt(cv2.reduce((a, b) => a + b, 0) / cv2.length);
  const split = windowAndWithin(withRuns);
  const excess = withRuns.map((p, i) => {
    const m = p.measured.reduce((a, b) => a + b, 0) / p.measured.length;
    return Math.log(p.predicted / m) ** 2 - cv2[i]! / p.measured.length;
  });
  const n = withRuns.length;
  // The parameters were fitted to all fittedPoints (means and per-call medians), so they take p of those degrees of freedom.
  const dof = fittedPoints > parameters ? fittedPoints / (fittedPoints - parameters) : 1;
  const modelRel = Math.sqrt(Math.max(0, (excess.reduce((a, b) => a + b, 0) / n) * dof));
  // The miss is a mean of n squared errors less the p parameters' share of them (n/(n-p) above).
  const modelDof = Math.max(1, n * (fittedPoints > parameters ? (fittedPoints - parameters) / fittedPoints : 1));
  const pooledDof = withRuns.reduce((a, p) => a + Math.max(0, p.measured.length - 1), 0);
  return split
    ? { withinCv: split.withinCv, windowCv: split.windowCv, modelRel, withinDof: split.withinDof, windowDof: split.windowDof, modelDof }
    : { withinCv: pooled, windowCv: 0, modelRel, withinDof: Math.max(1, pooledDof), modelDof };
}

/**
 * Degrees of freedom of a sum of variance estimates (Welch-Satterthwaite):
 * (sum v)^2 / sum(v^2 / dof); parts with no dof given are known exactly.
 * Infinity when every part with a variance is exact (the normal quantile).
 */
export function sumDof(parts: { v: number; dof?: number }[]): number {
  const total = parts.reduce((a, p) => a + p.v, 0);
  const den = parts.reduce((a, p) => a + (p.dof !== undefined && p.v > 0 ? (p.v * p.v) / p.dof : 0), 0);
  return den > 0 ? (total * total) / den : Infinity;
}

/** The two-sided quantile of Student's t at `level` with `dof` degrees of freedom (the normal one for Infinity). */
export function tOfLevel(level: number, dof: number): number {
  if (!(dof < Infinity)) return level === 0.9 ? Z90 : zOfLevel(level);
  if (!(level > 0 && level < 1)) throw new RangeError(`a level in (0, 1), got ${level}`);
  // jStat, loaded on first use like mathjs above.
  const jStat = createRequire(import.meta.url)('jstat') as { studentt: { inv(p: number, dof: number): number } };
  return jStat.studentt.inv((1 + level) / 2, dof);
}

/** The interval from a prediction, its relative sensitivities to the parameters, the fit's covariance and the noise. */
export function intervalOf(mean: number, sensitivity: number[], fit: Pick<FitReport, 'covariance'> & { covarianceDof?: number }, noise: RunNoise, runs: number, level = 0.9): PredictionInterval {
  let v = 0;
  const c = fit.covariance;
  if (c) for (let a = 0; a < sensitivity.length; a++) for (let b = 0; b < sensitivity.length; b++) v += sensitivity[a]! * c[a]![b]! * sensitivity[b]!;
  const parameters = Math.sqrt(Math.max(0, v));
  // R runs in a row share one window: its offset does not average out.
  const runToRun = Math.sqrt(noise.windowCv ** 2 + noise.withinCv ** 2 / runs);
  const sd = Math.sqrt(parameters ** 2 + runToRun ** 2 + noise.modelRel ** 2);
  const dof = sumDof([
    { v: parameters ** 2, dof: fit.covarianceDof },
    { v: noise.windowCv ** 2, dof: noise.windowDof },
    { v: noise.withinCv ** 2 / runs, dof: noise.withinDof },
    { v: noise.modelRel ** 2, dof: noise.modelDof },
  ]);
  const z = tOfLevel(level, dof);
  return { mean, low: mean * Math.exp(-z * sd), high: mean * Math.exp(z * sd), parts: { parameters, runToRun, model: noise.modelRel }, runs, level, dof };
}

/**
 * The parameters' part of an interval: relative sensitivities and the
 * covariance they go with, for intervalOf.
 *
 * Each parameter is moved by its standard error, and its sensitivity is the
 * secant ln(f(moved) / f) / move. The fit's own small finite-difference step
 * gave the slope at the optimum, which the covariance then stretched over a
 * standard error as if the response were straight; a parameter the
 * calibration set barely sees has a huge standard error (w22's pause: 1 cycle
 * +- 281, at its lower bound), and the straight line through a 20-cycle
 * slope gave a held-out configuration that does see it (cs=0 with the
 * counter on the lock's line) a 90% interval of 0.004 to 347,000 M/s.
 * The parameter also cannot leave its bounds: where a standard error is more
 * than the room on either side, it moves to the bound with more room, and its
 * spread (its row and column of the covariance) is capped at that room. The
 * data can narrow a bounded parameter, never widen it beyond its box.
 * `simulate(j, delta)`: the prediction with parameter j moved by delta.
 */
export function parameterSpread(values: number[], covariance: number[][], bounds: FitBounds, mean: number, simulate: (j: number, delta: number) => number): { sensitivity: number[]; covariance: number[][] } {
  const moves = values.map((v, j) => {
    const sd = Math.sqrt(Math.max(0, covariance[j]![j]!));
    const up = bounds.max[j]! - v;
    const down = v - bounds.min[j]!;
    if (!(sd > 0)) return { delta: 0, cap: 1 };
    if (sd <= up) return { delta: sd, cap: 1 };
    if (sd <= down) return { delta: -sd, cap: 1 };
    const room = Math.max(up, down);
    return room > 0 ? { delta: up >= down ? room : -room, cap: room / sd } : { delta: 0, cap: 0 };
  });
  const sensitivity = moves.map((m, j) => (m.delta === 0 ? 0 : Math.log(simulate(j, m.delta) / mean) / m.delta));
  return { sensitivity, covariance: covariance.map((row, a) => row.map((c, b) => c * moves[a]!.cap * moves[b]!.cap)) };
}

/** A fit's parameter covariance with its degrees of freedom: its points less its parameters (at least 1). */
function covarianceOf(fit: Pick<FitReport, 'covariance' | 'points' | 'parameters'>): Pick<FitReport, 'covariance'> & { covarianceDof: number } {
  return { covariance: fit.covariance, covarianceDof: Math.max(1, fit.points.length - fit.parameters.length) };
}

function noCalibrated(what: string, file: string): InputError {
  return new InputError({ file, line: 1, column: 1, field: what, expected: `a calibration with ${what} measurements (it fitted none)`, got: 'null' });
}

/** The launch points of a mount storm fit (not the per-call medians it also fits). */
export function meanLaunchPoints(points: FitPoint[]): FitPoint[] {
  return points.filter((p) => p.label.endsWith('mean launch (s)'));
}

export interface MountstormConfig {
  variant: MountstormVariant;
  containers: number;
  layers: number;
  /** Runnable tasks of other work expected beside the storm (0: the machine is the storm's alone). */
  otherRunnable?: number;
  /** Each container unmounts pass 1's overlay before pass 2 (the probe's --unmount-inspection). */
  unmountInspection?: boolean;
  /** One process per container, forked one after another (the probe's --processes). */
  processes?: boolean;
}

function mountPoint(c: MountstormConfig): MountstormPoint {
  // No measured runs, no kept trace: the generator's trace of the variant stands in, unchecked (opCounts empty).
  return { file: '(prediction)', files: [], variant: c.variant, layers: c.layers, containers: c.containers, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable: c.otherRunnable ?? 0, ...(c.unmountInspection ? { unmountInspection: true } : {}), ...(c.processes ? { processes: true } : {}) };
}

/** The fitted kernel with parameter j moved by `delta` (a factor on its group, or ns for ABSOLUTE_NS_GROUPS). */
function perturbedKernel(fitted: KernelModel, record: NonNullable<CalibrationRecord['mountstorm']>, j: number, delta: number): KernelModel {
  const g = MOUNT_GROUPS[j]!;
  const k = structuredClone(fitted) as KernelModel;
  const scale = record.scales[g];
  for (const p of record.groups![g]) {
    const cell = getIn(k, p);
    // A factor group's values are base x scale, so a new scale multiplies them by (scale + delta) / scale.
    if (ABSOLUTE_NS_GROUPS.has(g)) cell.value = Math.max(0, scale + delta);
    else if (scale > 0) cell.value = (cell.value * (scale + delta)) / scale;
  }
  // The idle fast path is the base minus a measured saving: it moves with the base.
  const fast = k.mechanisms.rcuExpeditedIdleFastNs;
  if (g === 'rcuBase' && fast) fast.value = Math.max(500, fast.value + k.mechanisms.rcuExpeditedBaseNs.value - fitted.mechanisms.rcuExpeditedBaseNs.value);
  // A per-busy-CPU part held by a measured umount beside a busy CPU is what that grace period leaves over the base: it moves against the base.
  if (g === 'rcuBase' && record.busyUmount) k.mechanisms.rcuExpeditedPerCpuNs.value = Math.max(0, record.busyUmount.gracePeriodNs - k.mechanisms.rcuExpeditedBaseNs.value);
  return k;
}

/** Predicted mean launch latency (s) of a mount storm with its 90% interval for the mean of `runs` runs. */
export function predictMountstorm(record: CalibrationRecord, c: MountstormConfig, runs = 5, file = '(calibration)', level = 0.9): PredictionInterval {
  if (!record.mountstorm || !record.kernelModel) throw noCalibrated('mountstorm', file);
  return mountstormInterval(record, hostMachineSpec(loadHardwareModel(record.hardwareModel)), loadKernelModel(record.kernelModel), mountPoint(c), runs, true, level);
}

/**
 * The interval of a mount storm point (validate passes measured points, whose
 * kept traces are replayed). `fittedKernel`: the kernel is the record's own,
 * so its parameters can be perturbed; with another kernel the fit part is 0.
 */
export function mountstormInterval(record: CalibrationRecord, spec: MachineSpec, kernel: KernelModel, p: MountstormPoint, runs: number, fittedKernel: boolean, level = 0.9): PredictionInterval {
  const fit = record.mountstorm!;
  const mean = simulateMountstorm(spec, kernel, p);
  // Sensitivities only where the record says what each parameter scales
  // (records before it: fit part 0), and without other work: its waits are
  // random draws whose order a small perturbation reshuffles, so a finite
  // difference through them measures that reshuffling (it gave relative
  // sensitivities in the hundreds), not the parameter; they are measured, not
  // fitted, so the covariance says nothing about them anyway.
  const quiet = p.otherRunnable ? { ...p, otherRunnable: 0 } : p;
  const quietMean = quiet === p ? mean : simulateMountstorm(spec, kernel, quiet);
  const spread = fittedKernel && fit.groups && fit.covariance
    ? parameterSpread(MOUNT_GROUPS.map((g) => fit.scales[g]), fit.covariance, MOUNT_BOUNDS, quietMean, (j, delta) => simulateMountstorm(spec, perturbedKernel(kernel, fit, j, delta), quiet))
    : { sensitivity: [], covariance: fit.covariance };
  return intervalOf(mean, spread.sensitivity, { ...covarianceOf(fit), covariance: spread.covariance }, calibrationNoise(meanLaunchPoints(fit.points), fit.parameters.length, fit.points.length), runs, level);
}

export interface LockbenchConfig {
  lock: 'ttas' | 'ticket';
  threads: number;
  csNs: number;
  thinkNs: number;
  /** Where the protected counter lives (absent or none: no protected data). */
  data?: 'none' | 'same-line' | 'own-line';
}

/** Predicted acquisitions/s of a lockbench configuration with its 90% interval for the mean of `runs` runs. */
export function predictLockbench(record: CalibrationRecord, c: LockbenchConfig, runs = 5, file = '(calibration)', level = 0.9): PredictionInterval {
  if (!record.lockbench) throw noCalibrated('lockbench', file);
  const p: LockbenchPoint = { files: [], lock: c.lock, threads: c.threads, csNs: c.csNs, thinkNs: c.thinkNs, runsPerSec: [], clockReadNs: record.lockbench.clockReadNs ?? 0, iterationNs: record.lockbench.iterationNs ?? DEFAULT_ITERATION_NS, sampleEvery: record.lockbench.sampleEvery ?? PROBE_SAMPLE_EVERY, ...(c.data && c.data !== 'none' ? { data: c.data } : {}) };
  return lockbenchInterval(record, loadHardwareModel(record.hardwareModel), p, runs, true, level);
}

/** The interval of a lockbench point; `fittedHardware`: the model is the record's own, so its two parameters can be perturbed. */
export function lockbenchInterval(record: CalibrationRecord, hw: HardwareModel, p: LockbenchPoint, runs: number, fittedHardware: boolean, level = 0.9): PredictionInterval {
  const fit = record.lockbench!;
  const mean = simulateLockbench(hostMachineSpec(hw), p);
  // The fitted parameters by name (records before the pause was measured fitted sameL3 and the pause).
  const names = fit.parameters.map((q) => q.name as LockParameter);
  const base = names.map((n) => lockParameterValue(hw, n));
  const spread = fittedHardware && fit.covariance
    ? parameterSpread(base, fit.covariance, lockBounds(names), mean, (j, delta) => {
      const moved = base.map((v, i) => (i === j ? v + delta : v));
      return simulateLockbench(hostMachineSpec(withLockParameters(hw, names, moved)), p);
    })
    : { sensitivity: [], covariance: fit.covariance };
  return intervalOf(mean, spread.sensitivity, { ...covarianceOf(fit), covariance: spread.covariance }, calibrationNoise(fit.points, fit.parameters.length), runs, level);
}
