// How the machine's speed moved while a set of measurements was recorded.
//
// Why: on this project's host (a 2-vCPU guest on a shared machine) the same
// configurations ran up to 1.5x slower at the end of a 4-minute held-out
// recording than at its start, in some windows, and faster in others
// (docs/validation.md, "Fifteenth session"): the model's error against the
// runs of one pass went from 21% to 40% within one window. A prediction made
// from a calibration recorded minutes apart cannot follow that, so the
// report says how much the machine itself moved beside the model's error.
//
// The trend is fitted within each configuration (its runs are compared with
// each other, never with another configuration's), over the runs' start
// times: log(run) = a_config + b * minutes, by least squares. A run is its
// mean launch latency (mount storms) or its time per acquisition (lockbench,
// 1 / throughput): positive b is a machine getting slower.
import { loadMeasurement, type Measurement } from './measure.ts';
import { mean } from '../bench/stats.ts';

export interface SpeedDrift {
  /** Runs with a start time, and the configurations they fall in (each with 2 runs or more). */
  runs: number;
  configurations: number;
  /** From the first run's start to the last's, minutes. */
  spanMinutes: number;
  /** The fitted change of a run's length per minute (log scale), and its standard error. */
  logPerMinute: number;
  logPerMinuteStdError: number;
  /** The change over the span, percent: exp(b * span) - 1 (positive: slower at the end). */
  changePct: number;
  /** Its 1-standard-error range, percent. */
  changeLowPct: number;
  changeHighPct: number;
}

export interface TimedRun {
  /** The configuration the run belongs to (runs are only compared within one). */
  key: string;
  /** Start time, ms since the epoch. */
  atMs: number;
  /** The run's length: larger is slower (a latency, or 1 / throughput). */
  value: number;
}

/** The within-configuration trend of run length over time; null with fewer than 3 runs in configurations of 2 runs or more, or no spread of times. */
export function speedDrift(runs: TimedRun[]): SpeedDrift | null {
  const byKey = new Map<string, TimedRun[]>();
  for (const r of runs) {
    if (!(r.value > 0) || !Number.isFinite(r.atMs)) continue;
    let l = byKey.get(r.key);
    if (!l) byKey.set(r.key, (l = []));
    l.push(r);
  }
  const groups = [...byKey.values()].filter((g) => g.length >= 2);
  const used = groups.flat();
  if (used.length < 3) return null;
  const t0 = Math.min(...used.map((r) => r.atMs));
  const span = (Math.max(...used.map((r) => r.atMs)) - t0) / 60_000;
  let sxy = 0, sxx = 0;
  const centred: { dx: number; dy: number }[] = [];
  for (const g of groups) {
    const xs = g.map((r) => (r.atMs - t0) / 60_000), ys = g.map((r) => Math.log(r.value));
    const mx = mean(xs), my = mean(ys);
    xs.forEach((x, i) => {
      const dx = x - mx, dy = ys[i]! - my;
      centred.push({ dx, dy });
      sxy += dx * dy;
      sxx += dx * dx;
    });
  }
  if (!(sxx > 0)) return null;
  const b = sxy / sxx;
  // Residual variance with one mean per configuration and the slope fitted.
  const dof = used.length - groups.length - 1;
  const ssr = centred.reduce((a, { dx, dy }) => a + (dy - b * dx) ** 2, 0);
  const se = dof > 0 ? Math.sqrt(ssr / dof / sxx) : NaN;
  const pct = (x: number) => (Math.exp(x * span) - 1) * 100;
  return { runs: used.length, configurations: groups.length, spanMinutes: span, logPerMinute: b, logPerMinuteStdError: se, changePct: pct(b), changeLowPct: pct(b - se), changeHighPct: pct(b + se) };
}

/** Each mount storm or lockbench file's runs with their start time (a file's runs share its start: one run per file in recorded sets). */
export function timedRuns(files: string[]): { mountstorm: TimedRun[]; lockbench: TimedRun[] } {
  const out = { mountstorm: [] as TimedRun[], lockbench: [] as TimedRun[] };
  for (const f of files) {
    const m: Measurement = loadMeasurement(f);
    const atMs = Date.parse(m.startedAt);
    // Every field of the configuration but how many runs it asked for.
    const key = JSON.stringify({ ...m.config, repeat: undefined });
    if (m.kind === 'mountstorm') {
      if (m.config.idleMounts) continue;
      for (const r of m.results.runs) out.mountstorm.push({ key, atMs, value: r.meanNs });
    } else if (m.kind === 'lockbench') {
      out.lockbench.push({ key, atMs, value: 1 / m.results.acquisitionsPerSec });
    }
  }
  return out;
}

/** One line for the CLI: how much the machine moved while the set was recorded. */
export function formatSpeedDrift(what: string, d: SpeedDrift | null): string {
  if (!d) return '';
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(0)}%`;
  const dir = d.changePct >= 0 ? 'slower' : 'faster';
  return `${what}: the machine ran ${Math.abs(d.changePct).toFixed(0)}% ${dir} at the end than at the start (${sign(d.changeLowPct)} to ${sign(d.changeHighPct)}, 1 standard error), from ${d.runs} runs of ${d.configurations} configuration${d.configurations === 1 ? '' : 's'} over ${d.spanMinutes.toFixed(1)} minutes, each compared with its own configuration's runs`;
}
