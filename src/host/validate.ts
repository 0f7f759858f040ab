// `locksim validate`: runs the simulator on configurations measured on this
// host with the models `locksim calibrate` fitted, and puts prediction beside
// measurement: per point the error, the run-to-run spread of the measurement
// (coefficient of variation of its repeated runs), MAPE per probe, and charts
// with a "measured" and a "predicted" curve.
//
// Validation is only honest on data the fit never saw: validate refuses a
// measurement file that calibration used, and a configuration (variant, K, L
// or lock, threads, cs) that calibration fitted, even from another run.

import { resolve } from 'node:path';
import { commandLineError, InputError } from '../config/errors.ts';
import { loadHardwareModel } from '../config/hardwareSchema.ts';
import { lineChartSpec, chartFilesOf } from '../report/charts.ts';
import type { OutputFile } from '../report/atomicWrite.ts';
import { csvField, formatNumber, type PointResult } from '../report/results.ts';
import { loadKernelModel } from '../workload/kernelModel.ts';
import {
  coefficientOfVariation,
  hostMachineSpec,
  loadLockbenchPoints,
  loadMountstormPoint,
  loadMountstormPoints,
  measurementKinds,
  shownPath,
  simulateLockbench,
  withPlacement,
  simulateMountstorm,
  type CalibrationRecord,
  type LockbenchPoint,
  type MountstormPoint,
} from './calibrate.ts';
import { lockbenchInterval, mountstormInterval, type PredictionInterval } from './predict.ts';
import { mean } from '../bench/stats.ts';
import { formatSpeedDrift, speedDrift, timedRuns, type SpeedDrift } from './speedDrift.ts';

export interface ValidationPoint {
  probe: 'mountstorm' | 'lockbench';
  /** Chart the point belongs to, e.g. "mountstorm-per-layer-idmap-L25". */
  series: string;
  label: string;
  x: number;
  files: string[];
  /** Each run's value: mean launch latency (s) or acquisitions/s. */
  measured: number[];
  measuredMean: number;
  predicted: number;
  /** (predicted - measured mean) / measured mean, in percent. */
  errorPct: number;
  /** Run-to-run coefficient of variation of the measurement, in percent. */
  cvPct: number;
  /** The prediction's 90% interval for the mean of this many runs (src/host/predict.ts); null when the calibration fitted nothing of this probe. */
  interval: { low: number; high: number; inside: boolean } | null;
}

export interface ValidationReport {
  points: ValidationPoint[];
  /** Mean absolute percentage error per probe (NaN when no points of it). */
  mapePct: { mountstorm: number; lockbench: number };
  /** Mean run-to-run CV per probe, percent: the noise floor the error is to be read against. */
  meanCvPct: { mountstorm: number; lockbench: number };
  /** Share of the points with an interval whose measured mean is inside it, percent (NaN: none). */
  coveragePct: { mountstorm: number; lockbench: number };
  /** How much the machine's speed moved while the held-out set was recorded (null: too few timed runs). */
  speedDrift: { mountstorm: SpeedDrift | null; lockbench: SpeedDrift | null };
  /** Which way the errors lean, per probe (null: no points of it). */
  bias: { mountstorm: ErrorBias | null; lockbench: ErrorBias | null };
}

/**
 * Which way a probe's errors lean: a model that misses only noise predicts
 * too high as often as too low, so many configurations on one side mean a
 * mechanism the model lacks in those shapes, however small the MAPE.
 */
export interface ErrorBias {
  /** Configurations predicted below / above their measured mean. */
  below: number;
  above: number;
  /** Mean signed error, percent. */
  meanErrorPct: number;
  /** Two-sided sign test: the chance of a split at least this uneven if each error were as likely below as above. */
  signTestP: number;
}

/** Two-sided sign test of `k` of `n` on one side, each side with probability 1/2 (exact binomial). */
export function signTestP(k: number, n: number): number {
  if (n === 0) return 1;
  const tail = Math.min(k, n - k);
  let term = 2 ** -n; // C(n, 0) / 2^n
  let sum = term;
  for (let i = 1; i <= tail; i++) {
    term *= (n - i + 1) / i;
    sum += term;
  }
  return Math.min(1, 2 * sum);
}

function errorBias(points: ValidationPoint[]): ErrorBias | null {
  if (points.length === 0) return null;
  const below = points.filter((p) => p.errorPct < 0).length;
  const above = points.filter((p) => p.errorPct > 0).length;
  return { below, above, meanErrorPct: mean(points.map((p) => p.errorPct)), signTestP: signTestP(below, below + above) };
}

const mountKey = (p: Pick<MountstormPoint, 'variant' | 'containers' | 'layers' | 'unmountInspection' | 'processes'>) => `${p.variant} K=${p.containers} L=${p.layers}${p.unmountInspection ? ' (inspection unmounted)' : ''}${p.processes ? ' (processes)' : ''}`;
const lockKey = (p: Pick<LockbenchPoint, 'lock' | 'threads' | 'csNs' | 'thinkNs' | 'data'>) => `${p.lock} threads=${p.threads} cs=${p.csNs} think=${p.thinkNs}${p.data ? ` data=${p.data}` : ''}`;

/**
 * Throws InputError when a held-out file, or its configuration, was part of
 * the calibration set.
 */
export function checkHeldOut(record: CalibrationRecord, mount: MountstormPoint[], lock: LockbenchPoint[]): void {
  const usedFiles = new Set([...(record.mountstorm?.files ?? []), ...(record.lockbench?.files ?? [])].map((f) => resolve(f)));
  for (const f of [...mount.flatMap((p) => p.files), ...lock.flatMap((p) => p.files)]) {
    if (usedFiles.has(resolve(f))) {
      throw new InputError({ file: f, line: 1, column: 1, field: '(file)', expected: 'a measurement that calibration did not use (validate on held-out runs)', got: 'a file of the calibration set' });
    }
  }
  const calMount = new Set((record.mountstorm?.files ?? []).map((f) => mountKey(loadMountstormPoint(f))));
  for (const p of mount) {
    if (calMount.has(mountKey(p))) {
      throw new InputError({ file: p.file, line: 1, column: 1, field: 'config', expected: 'a configuration calibration did not fit (held-out K, L or variant)', got: mountKey(p) });
    }
  }
  const calLock = new Set(loadLockbenchPoints(record.lockbench?.files ?? []).map(lockKey));
  for (const p of lock) {
    if (calLock.has(lockKey(p))) {
      throw new InputError({ file: p.files[0]!, line: 1, column: 1, field: 'config', expected: 'a configuration calibration did not fit (held-out critical-section length)', got: lockKey(p) });
    }
  }
}

function point(probe: ValidationPoint['probe'], series: string, label: string, x: number, files: string[], measured: number[], prediction: PredictionInterval | number): ValidationPoint {
  const m = mean(measured);
  const predicted = typeof prediction === 'number' ? prediction : prediction.mean;
  const interval = typeof prediction === 'number' ? null : { low: prediction.low, high: prediction.high, inside: m >= prediction.low && m <= prediction.high };
  return { probe, series, label, x, files, measured, measuredMean: m, predicted, errorPct: (predicted / m - 1) * 100, cvPct: coefficientOfVariation(measured) * 100, interval };
}

/** Predictions for held-out files with the models of a calibration record. */
export function validate(record: CalibrationRecord, files: string[], opts: { hardwareModel?: string; kernelModel?: string } = {}): ValidationReport {
  const kinds = measurementKinds(files);
  const mount = loadMountstormPoints(kinds.mountstorm);
  const lock = loadLockbenchPoints(kinds.lockbench);
  checkHeldOut(record, mount, lock);
  const hw = loadHardwareModel(opts.hardwareModel ?? record.hardwareModel);
  const spec = hostMachineSpec(hw);
  const points: ValidationPoint[] = [];
  if (mount.length > 0) {
    const kernelFile = opts.kernelModel ?? record.kernelModel;
    if (!kernelFile) {
      throw commandLineError('--kernel', 'a kernel model (the calibration had no mount storm files, so it fitted none)', 'none');
    }
    const kernel = loadKernelModel(kernelFile);
    // The probe runs nothing after the rootfs; a fitted model already says so, a hand-made one may not.
    const probeKernel = kernel.host.containerStartNs.value === 0 ? kernel : { ...kernel, host: { ...kernel.host, containerStartNs: { ...kernel.host.containerStartNs, value: 0 } } };
    for (const p of mount) {
      const runs = p.runsMeanNs.length;
      const prediction = record.mountstorm ? mountstormInterval(record, spec, probeKernel, p, runs, !opts.kernelModel) : simulateMountstorm(spec, probeKernel, p);
      points.push(point('mountstorm', `mountstorm-${p.variant}-L${p.layers}`, mountKey(p), p.containers, p.files, p.runsMeanNs.map((x) => x * 1e-9), prediction));
    }
  }
  // Held-out runs made while the host had the vCPUs elsewhere than in the calibration set are predicted there (withPlacement).
  const placed = withPlacement(lock, record.lockbench?.transferNs ?? NaN);
  for (const p of placed) {
    const prediction = record.lockbench ? lockbenchInterval(record, hw, p, p.runsPerSec.length, !opts.hardwareModel) : simulateLockbench(spec, p);
    points.push(point('lockbench', `lockbench-${p.lock}-t${p.threads}`, lockKey(p), p.csNs, p.files, p.runsPerSec, prediction));
  }
  points.sort((a, b) => a.series.localeCompare(b.series) || a.x - b.x);
  const mape = (probe: ValidationPoint['probe']) => {
    const ps = points.filter((p) => p.probe === probe);
    return ps.length ? mean(ps.map((p) => Math.abs(p.errorPct))) : NaN;
  };
  const cv = (probe: ValidationPoint['probe']) => {
    const ps = points.filter((p) => p.probe === probe);
    return ps.length ? mean(ps.map((p) => p.cvPct)) : NaN;
  };
  const coverage = (probe: ValidationPoint['probe']) => {
    const ps = points.filter((p) => p.probe === probe && p.interval);
    return ps.length ? (100 * ps.filter((p) => p.interval!.inside).length) / ps.length : NaN;
  };
  return {
    points,
    mapePct: { mountstorm: mape('mountstorm'), lockbench: mape('lockbench') },
    meanCvPct: { mountstorm: cv('mountstorm'), lockbench: cv('lockbench') },
    coveragePct: { mountstorm: coverage('mountstorm'), lockbench: coverage('lockbench') },
    speedDrift: (() => {
      const runs = timedRuns([...kinds.mountstorm, ...kinds.lockbench]);
      return { mountstorm: speedDrift(runs.mountstorm), lockbench: speedDrift(runs.lockbench) };
    })(),
    bias: { mountstorm: errorBias(points.filter((p) => p.probe === 'mountstorm')), lockbench: errorBias(points.filter((p) => p.probe === 'lockbench')) },
  };
}

/** One line on which way the errors lean, and whether that can be chance (a sign test at 5%). */
export function formatBias(probe: string, b: ErrorBias): string {
  const n = b.below + b.above;
  const p = b.signTestP < 0.001 ? b.signTestP.toExponential(1) : b.signTestP.toFixed(3);
  const side = b.below >= b.above ? `${b.below} of ${n} predicted below the measurement` : `${b.above} of ${n} predicted above the measurement`;
  const verdict = b.signTestP < 0.05 ? 'one-sided, not noise: a mechanism these shapes need is missing or mis-sized, or the machine changed since the calibration' : 'a split chance alone often gives';
  return `${probe} errors: ${side} (mean signed error ${b.meanErrorPct >= 0 ? '+' : ''}${b.meanErrorPct.toFixed(1)}%; sign test p = ${p}): ${verdict}`;
}

/** The table printed by the CLI (and pasted into docs/validation.md). */
export function formatValidation(r: ValidationReport): string {
  const lines = ['| probe | configuration | measured (mean of runs) | predicted | 90% interval | error | run-to-run CV |', '|---|---|---|---|---|---|---|'];
  const show = (p: ValidationPoint, v: number) => (p.probe === 'mountstorm' ? `${(v * 1e3).toFixed(2)} ms` : `${(v / 1e6).toFixed(3)} M/s`);
  for (const p of r.points) {
    const iv = p.interval ? `${show(p, p.interval.low)} - ${show(p, p.interval.high)}${p.interval.inside ? '' : ' (outside)'}` : 'n/a';
    lines.push(`| ${p.probe} | ${p.label} | ${show(p, p.measuredMean)} | ${show(p, p.predicted)} | ${iv} | ${p.errorPct >= 0 ? '+' : ''}${p.errorPct.toFixed(1)}% | ${p.cvPct.toFixed(1)}% |`);
  }
  lines.push('');
  for (const probe of ['mountstorm', 'lockbench'] as const) {
    if (Number.isNaN(r.mapePct[probe])) continue;
    const what = probe === 'mountstorm' ? 'mean launch latency' : 'throughput';
    lines.push(`${probe}: MAPE ${r.mapePct[probe].toFixed(1)}% of ${what} over ${r.points.filter((p) => p.probe === probe).length} held-out configurations; measurement run-to-run CV ${r.meanCvPct[probe].toFixed(1)}% on average${Number.isNaN(r.coveragePct[probe]) ? '' : `; 90% interval coverage ${r.coveragePct[probe].toFixed(0)}%`}`);
    const b = r.bias[probe];
    if (b) lines.push(formatBias(probe, b));
    const drift = formatSpeedDrift(`${probe} held-out runs`, r.speedDrift[probe]);
    if (drift) lines.push(drift);
  }
  return lines.join('\n') + '\n';
}

/** validation.json, validation.csv and one chart per series (measured and predicted curves, the runs' range as a band). */
export async function validationOutputs(r: ValidationReport, meta: { command: string; calibration: string }): Promise<OutputFile[]> {
  const files: OutputFile[] = [];
  const json = { format: 'locksim-validation', version: 1, command: meta.command, calibration: shownPath(meta.calibration), mapePct: r.mapePct, meanCvPct: r.meanCvPct, coveragePct: r.coveragePct, speedDrift: r.speedDrift, bias: r.bias, points: r.points.map((p) => ({ ...p, files: p.files.map(shownPath) })) };
  files.push({ name: 'validation.json', content: JSON.stringify(json, null, 2) + '\n' });
  const header = ['probe', 'series', 'configuration', 'x', 'measuredMean', 'predicted', 'errorPct', 'cvPct', 'runs'];
  const rows = r.points.map((p) => [p.probe, p.series, p.label, formatNumber(p.x), formatNumber(p.measuredMean), formatNumber(p.predicted), formatNumber(p.errorPct), formatNumber(p.cvPct), p.measured.map(formatNumber).join(' ')].map(csvField).join(','));
  files.push({ name: 'validation.csv', content: [header.join(','), ...rows].join('\n') + '\n' });
  const charts: Parameters<typeof chartFilesOf>[0] = [];
  for (const series of [...new Set(r.points.map((p) => p.series))]) {
    const ps = r.points.filter((p) => p.series === series);
    const isMount = ps[0]!.probe === 'mountstorm';
    const scale = isMount ? 1e3 : 1e-6;
    const chartPoints = ps.flatMap((p): PointResult[] => [
      { variant: 'measured', x: p.x, key: `measured/${p.x}`, seed: '', metrics: { y: p.measuredMean * scale, lo: Math.min(...p.measured) * scale, hi: Math.max(...p.measured) * scale } },
      { variant: 'predicted', x: p.x, key: `predicted/${p.x}`, seed: '', metrics: { y: p.predicted * scale } },
    ]);
    const spec = lineChartSpec({
      title: isMount ? `${series.replace(/^mountstorm-/, 'mount storm ')}: mean launch latency, measured vs predicted` : `${series}: throughput, measured vs predicted`,
      points: chartPoints,
      xLabel: isMount ? 'containers launched together (K)' : 'critical section (ns)',
      yMetric: 'y',
      yLabel: isMount ? 'mean launch latency (ms)' : 'acquisitions per second (millions)',
      // A critical section of 0 ns has no place on a log axis (held-out lockbench points include cs=0).
      xScale: ps.every((p) => p.x > 0) ? 'log' : 'linear',
      yScale: isMount ? 'log' : 'linear',
      band: { lo: 'lo', hi: 'hi' },
    });
    charts.push({ name: series, spec });
  }
  files.push(...(await chartFilesOf(charts)));
  return files;
}
