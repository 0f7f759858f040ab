// `locksim predict`: a calibration's prediction for a configuration it did
// not measure, with a 90% interval for the mean of R runs (default 5).
//
// The interval is on the log scale (the fit's residuals are relative) and
// adds three independent parts, each a relative standard deviation:
//  - the fitted parameters' uncertainty: g^T C g, with C the covariance the
//    fit stored ((J^T J)^-1 x SSR/(n-p)) and g the prediction's relative
//    sensitivity to each parameter (one simulation per parameter, perturbed
//    by the fit's own finite-difference step);
//  - the run-to-run spread: the calibration set's pooled coefficient of
//    variation of its runs, divided by sqrt(R) for a mean of R runs;
//  - the model's own miss: the calibration points' relative error of their
//    means beyond what their run-to-run spread explains, scaled by n/(n-p)
//    for the parameters fitted to those same points. Without it the interval
//    would claim the model is right up to noise, which the held-out sets
//    show it is not (docs/validation.md).
// Drift between the recording and the run being predicted (the machine
// changes from one half hour to the next) is not in the interval: it is
// reported beside the coverage in docs/validation.md instead.

import { loadHardwareModel, type HardwareModel } from '../config/hardwareSchema.ts';
import { InputError } from '../config/errors.ts';
import { loadKernelModel, type KernelModel } from '../workload/kernelModel.ts';
import { ABSOLUTE_NS_GROUPS, getIn, hostMachineSpec, MOUNT_GROUPS, simulateLockbench, simulateMountstorm, type FitPoint, type FitReport } from './calibration/fit.ts';
import type { LockbenchPoint, MountstormPoint } from './calibration/measurements.ts';
import type { CalibrationRecord } from './calibration/write.ts';
import type { MountstormVariant } from './probes.ts';
import type { MachineSpec } from '../machine.ts';

/** Two-sided 90%: the normal distribution's 95th percentile. */
export const Z90 = 1.6449;

export interface PredictionInterval {
  /** Predicted mean: seconds (mount storm launch latency) or acquisitions/s (lockbench). */
  mean: number;
  low: number;
  high: number;
  /** The interval's parts as relative standard deviations (see the module comment). */
  parts: { parameters: number; runToRun: number; model: number };
  runs: number;
}

function coefficientOfVariation(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) / m;
}

/**
 * Run-to-run CV (pooled as a root mean square) and the model's miss beyond
 * it, from the calibration points whose measured runs are what is predicted
 * (`fittedPoints`: how many points the fit had in all).
 */
export function calibrationNoise(points: FitPoint[], parameters: number, fittedPoints = points.length): { runCv: number; modelRel: number } {
  const withRuns = points.filter((p) => p.measured.length > 0);
  if (withRuns.length === 0) return { runCv: 0, modelRel: 0 };
  const cv2 = withRuns.map((p) => coefficientOfVariation(p.measured) ** 2);
  const runCv = Math.sqrt(cv2.reduce((a, b) => a + b, 0) / cv2.length);
  const excess = withRuns.map((p, i) => {
    const m = p.measured.reduce((a, b) => a + b, 0) / p.measured.length;
    return Math.log(p.predicted / m) ** 2 - cv2[i]! / p.measured.length;
  });
  const n = withRuns.length;
  // The parameters were fitted to all fittedPoints (means and per-call medians), so they take p of those degrees of freedom.
  const dof = fittedPoints > parameters ? fittedPoints / (fittedPoints - parameters) : 1;
  return { runCv, modelRel: Math.sqrt(Math.max(0, (excess.reduce((a, b) => a + b, 0) / n) * dof)) };
}

/** The interval from a prediction, its relative sensitivities to the parameters, the fit's covariance and the noise. */
export function intervalOf(mean: number, sensitivity: number[], fit: Pick<FitReport, 'covariance'>, noise: { runCv: number; modelRel: number }, runs: number): PredictionInterval {
  let v = 0;
  const c = fit.covariance;
  if (c) for (let a = 0; a < sensitivity.length; a++) for (let b = 0; b < sensitivity.length; b++) v += sensitivity[a]! * c[a]![b]! * sensitivity[b]!;
  const parameters = Math.sqrt(Math.max(0, v));
  const runToRun = noise.runCv / Math.sqrt(runs);
  const sd = Math.sqrt(parameters ** 2 + runToRun ** 2 + noise.modelRel ** 2);
  return { mean, low: mean * Math.exp(-Z90 * sd), high: mean * Math.exp(Z90 * sd), parts: { parameters, runToRun, model: noise.modelRel }, runs };
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
}

function mountPoint(c: MountstormConfig): MountstormPoint {
  // No measured runs, no kept trace: the generator's trace of the variant stands in, unchecked (opCounts empty).
  return { file: '(prediction)', files: [], variant: c.variant, layers: c.layers, containers: c.containers, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable: c.otherRunnable ?? 0 };
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
  return k;
}

/** Predicted mean launch latency (s) of a mount storm with its 90% interval for the mean of `runs` runs. */
export function predictMountstorm(record: CalibrationRecord, c: MountstormConfig, runs = 5, file = '(calibration)'): PredictionInterval {
  if (!record.mountstorm || !record.kernelModel) throw noCalibrated('mountstorm', file);
  return mountstormInterval(record, hostMachineSpec(loadHardwareModel(record.hardwareModel)), loadKernelModel(record.kernelModel), mountPoint(c), runs, true);
}

/**
 * The interval of a mount storm point (validate passes measured points, whose
 * kept traces are replayed). `fittedKernel`: the kernel is the record's own,
 * so its parameters can be perturbed; with another kernel the fit part is 0.
 */
export function mountstormInterval(record: CalibrationRecord, spec: MachineSpec, kernel: KernelModel, p: MountstormPoint, runs: number, fittedKernel: boolean): PredictionInterval {
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
  const sens = fittedKernel && fit.groups && fit.covariance
    ? MOUNT_GROUPS.map((_, j) => {
      const h = fit.steps[j]!;
      return (simulateMountstorm(spec, perturbedKernel(kernel, fit, j, h), quiet) / quietMean - 1) / h;
    })
    : [];
  return intervalOf(mean, sens, fit, calibrationNoise(meanLaunchPoints(fit.points), fit.parameters.length, fit.points.length), runs);
}

export interface LockbenchConfig {
  lock: 'ttas' | 'ticket';
  threads: number;
  csNs: number;
  thinkNs: number;
}

function withLockParams(m: HardwareModel, sameL3: number, pause: number): HardwareModel {
  const c = structuredClone(m) as HardwareModel;
  c.coreToCore.sameL3 = { ...c.coreToCore.sameL3, value: sameL3 };
  c.pause.cycles = { ...c.pause.cycles, value: pause };
  return c;
}

/** Predicted acquisitions/s of a lockbench configuration with its 90% interval for the mean of `runs` runs. */
export function predictLockbench(record: CalibrationRecord, c: LockbenchConfig, runs = 5, file = '(calibration)'): PredictionInterval {
  if (!record.lockbench) throw noCalibrated('lockbench', file);
  const p: LockbenchPoint = { files: [], lock: c.lock, threads: c.threads, csNs: c.csNs, thinkNs: c.thinkNs, runsPerSec: [], clockReadNs: record.lockbench.clockReadNs ?? 0 };
  return lockbenchInterval(record, loadHardwareModel(record.hardwareModel), p, runs, true);
}

/** The interval of a lockbench point; `fittedHardware`: the model is the record's own, so its two parameters can be perturbed. */
export function lockbenchInterval(record: CalibrationRecord, hw: HardwareModel, p: LockbenchPoint, runs: number, fittedHardware: boolean): PredictionInterval {
  const fit = record.lockbench!;
  const mean = simulateLockbench(hostMachineSpec(hw), p);
  const base = [hw.coreToCore.sameL3.value, hw.pause.cycles.value];
  const sens = fittedHardware && fit.covariance
    ? base.map((_, j) => {
      const h = fit.steps[j]!;
      const moved = base.map((v, i) => (i === j ? v + h : v));
      return (simulateLockbench(hostMachineSpec(withLockParams(hw, moved[0]!, moved[1]!)), p) / mean - 1) / h;
    })
    : [];
  return intervalOf(mean, sens, fit, calibrationNoise(fit.points, fit.parameters.length), runs);
}
