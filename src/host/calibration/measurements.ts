// Loading the calibration set: measurement files become points (one per
// configuration, every run of it), and the kept traces give what calibrate
// sets directly or fits beside the means: per-call medians alone and
// contended, the probe's own work between syscalls, the calls' jitter.

import { readFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../../config/errors.ts';
import { mountTableDelta, parseTrace, OP_NAMES, type Trace } from '../../workload/trace.ts';
import { loadMeasurement, type Measurement } from '../measure.ts';
import type { MountstormSummary } from '../probes.ts';
import { lineFit, mean, median } from '../../bench/stats.ts';
import { kneeFit } from './kneeFit.ts';
import { byCodeUnit } from '../../report/results.ts';

// ---------------------------------------------------------------------------
// Measured points

export interface MountstormPoint {
  /** The first file of the configuration (errors and labels). */
  file: string;
  /** Every file of this configuration (several recording sessions merge into one point). */
  files: string[];
  variant: Extract<Measurement, { kind: 'mountstorm' }>['config']['variant'];
  layers: number;
  containers: number;
  /** Mean per-container launch latency of each run, ns (release to the end of the last mount op). */
  runsMeanNs: number[];
  /** Op counts of the first run, to check a regenerated trace does the same ops. */
  opCounts: Record<string, number>;
  /** Trace files of the runs that are still there (large ones are not kept). */
  traces: string[];
  /** Runnable tasks of other work when it was measured (mean over its files; 0 for files that do not say). */
  otherRunnable?: number;
  /** Each container unmounted pass 1's overlay before pass 2 (`measure mountstorm --unmount-inspection`). */
  unmountInspection?: boolean;
  /** One process per container (`measure mountstorm --processes`). */
  processes?: boolean;
  /** With processes: per run, when the first container's process started running after the release (its fork, with nothing else running yet). */
  firstForkNs?: number[];
  /** With --processes: page faults of every container process of every run, and each run's copy-on-write fault cost (ns); absent in older files. */
  processFaults?: number[];
  cowFaultNs?: number[];
  /** With --processes, per run that timed it: a fork's time to its child's start with the other CPU running, over the same with it idle (forkToChildNs). */
  forkBusyRatios?: number[];
  /**
   * With --processes, from files whose runs timed each process's life
   * (2026-12-01 on; absent before): per run the parent's CPU per fork
   * (forkLoopCpuNs over the containers), and per process its CPU before it
   * ran its own code, the page faults it took after that, and the CPU its
   * exit took.
   */
  forkCpuNs?: number[];
  processStartCpuNs?: number[];
  processFaultsAfterStart?: number[];
  processExitCpuNs?: number[];
}

/** The per-run and per-process lists that a point merges from several files of one configuration (loadMountstormPoints). */
const MERGED_LISTS = ['firstForkNs', 'processFaults', 'cowFaultNs', 'forkBusyRatios', 'forkCpuNs', 'processStartCpuNs', 'processFaultsAfterStart', 'processExitCpuNs'] as const;

/**
 * One syscall kind's duration in uncontended runs (K=1): the median of each
 * run's calls. These pin the scale factors to single-call costs, which the
 * mean launch latency alone mixes together.
 */
export interface IdleOpPoint {
  file: string;
  op: 'open_tree' | 'mount_setattr' | 'move_mount' | 'mount_overlay';
  layers: number;
  /** Median dur_ns of this op in each run's trace. */
  runsMedianNs: number[];
  /** Median number of mounts in the table when this op was called (its per-mount steps walk them). */
  medianTable: number;
}

/**
 * umount is left out: its expedited RCU grace period on this 2-vCPU guest is
 * bimodal at K=1 (~9 us when the other vCPU is idle, ~50 us when it is busy
 * and must be interrupted), while the model's grace period has one length.
 * The storms keep both vCPUs busy, so the means, not the idle medians, say
 * what the grace period costs there.
 */
export const IDLE_OPS = ['open_tree', 'mount_setattr', 'move_mount', 'mount_overlay'] as const;

/** Per-op medians from the kept traces of single-container runs (none for K > 1: there the durations include waiting). */
export function idleOpPoints(p: MountstormPoint): IdleOpPoint[] {
  if (p.containers !== 1 || p.traces.length === 0) return [];
  const perRun = p.traces.map((f) => tracedCalls(readTraceFile(f)));
  const out: IdleOpPoint[] = [];
  for (const op of IDLE_OPS) {
    const runs = runMedians(perRun, op);
    // The launch's own mounts in the probe's table at the median call (its tmpfs holds nothing else).
    if (runs) out.push({ file: p.file, op, layers: p.layers, runsMedianNs: runs, medianTable: median(perRun.flatMap((by) => by.get(op)!.tables)) });
  }
  return out;
}

/** One trace file, parsed once per process (calibration reads each kept trace several ways). */
const traceFiles = new Map<string, Trace>();
export function readTraceFile(f: string): Trace {
  let t = traceFiles.get(f);
  if (!t) {
    t = parseTrace(readFileSync(f, 'utf8'), f);
    traceFiles.set(f, t);
  }
  return t;
}

/**
 * A trace's timed calls by op kind: each call's duration, and how many
 * mounts the trace's own ops had put in the table when it started
 * (mountTableDelta: attached mounts add one, umount removes one).
 */
export function tracedCalls(t: Trace): Map<string, { durNs: number[]; tables: number[] }> {
  const by = new Map<string, { durNs: number[]; tables: number[] }>();
  let table = 0;
  for (let i = 0; i < t.ops.count; i++) {
    const op = OP_NAMES[t.ops.op[i]!]!;
    const d = t.ops.durNs?.[i];
    if (d !== undefined && !Number.isNaN(d)) {
      let calls = by.get(op);
      if (!calls) by.set(op, (calls = { durNs: [], tables: [] }));
      calls.durNs.push(d);
      calls.tables.push(table);
    }
    table += mountTableDelta(op);
  }
  return by;
}

/** open_tree's walk cost per mount, measured directly (measuredWalkNsPerMount). */
export interface WalkMeasurement {
  /** ns per mount in the list open_tree's has_locked_children walks. */
  ns: number;
  /** The slope's standard error, ns. */
  stdErrorNs: number;
  /** ns at an empty list (the rest of open_tree). */
  interceptNs: number;
  calls: number;
  /** The idle-mount counts of the series. */
  idleMounts: number[];
  files: string[];
  /**
   * Where the walk gets dearer per mount (absent: one slope fits the series):
   * up to `mounts` mounts each costs `ns`, each one beyond `beyondNs` (the
   * list no longer fits in a cache level, so every walk refetches it).
   */
  knee?: { mounts: number; beyondNs: number; beyondStdErrorNs: number };
}

/**
 * open_tree's cost per mount of the list it walks (__do_loopback ->
 * has_locked_children, fs/namespace.c: list_for_each_entry over the source
 * mount's children, is_subdir on each), measured directly: single-container
 * storms made beside N idle binds on the same mount (`measure mountstorm
 * --idle-mounts N`), a least-squares line through open_tree's median call at
 * each list length (N plus the storm's own mounts at the call). Fitted with
 * the six other groups from launch means instead, it swung between 7 and
 * 31 ns from one recording window to the next (docs/validation.md); the
 * series pins it, and the fit holds it.
 *
 * One point per run: its median open_tree call against N plus the median
 * number of the storm's own mounts at those calls. A run's median shrugs off
 * the odd call that waited for a CPU, which a line through single calls (or
 * through each list length's few calls) does not.
 */
export function measuredWalkNsPerMount(files: string[]): WalkMeasurement {
  const xs: number[] = [];
  const ys: number[] = [];
  const idleMounts = new Set<number>();
  let calls = 0;
  for (const file of files) {
    const m = loadMeasurement(file);
    if (m.kind !== 'mountstorm' || !m.config.idleMounts) throw wrongKind(file, 'mountstorm --idle-mounts', m.kind);
    if (m.config.containers !== 1) {
      throw new InputError({ file, line: 1, column: 1, field: 'config.containers', expected: '1 in a walk series (with more containers open_tree waits for the others, and the walk is not alone in its time)', got: String(m.config.containers) });
    }
    const n = m.config.idleMounts;
    idleMounts.add(n);
    const dir = dirname(file);
    for (const t of m.results.traces) {
      const path = join(dir, t);
      if (!existsSync(path)) throw new InputError({ file, line: 1, column: 1, field: 'results.traces', expected: `its trace ${t} beside it (a walk series is read from the traces)`, got: 'missing' });
      const c = tracedCalls(readTraceFile(path)).get('open_tree');
      if (!c || c.durNs.length === 0) continue;
      xs.push(n + median(c.tables));
      ys.push(median(c.durNs));
      calls += c.durNs.length;
    }
  }
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  if (idleMounts.size < 2 || xs.length < 3 || hi - lo < 100) {
    throw new InputError({ file: files[0]!, line: 1, column: 1, field: 'config.idleMounts', expected: 'a walk series of at least two idle-mount counts 100 or more apart, three runs or more with traces (one count gives no slope)', got: [...idleMounts].join(', ') });
  }
  const line = lineFit(xs, ys);
  const counts = [...idleMounts].sort((a, b) => a - b);
  const knee = walkKnee(xs, ys, line);
  if (knee) return { ns: Math.max(0, knee.below), stdErrorNs: knee.belowStdError, interceptNs: knee.intercept, calls, idleMounts: counts, files, knee: { mounts: knee.knee, beyondNs: knee.above, beyondStdErrorNs: knee.aboveStdError } };
  return { ns: Math.max(0, line.slope), stdErrorNs: line.slopeStdError, interceptNs: line.intercept, calls, idleMounts: counts, files };
}

/**
 * A knee in the walk series, when it has one: a two-segment line (kneeFit)
 * whose slope beyond the knee is at least 1.5 times the one before, the two
 * apart by more than twice their combined standard error, and whose
 * relative residual is less than half the single line's. Measured on the 2-vCPU
 * guest (kernel 6.18.44-fc-v782, 2026-11-30; docs/validation.md, "Fourteenth
 * session"): 8-9 ns per mount up to ~2,000 mounts, 22-33 ns beyond; a series
 * that stops short of the knee (the 250-2,000 of earlier recordings) shows
 * none, and storms whose own mounts reach 3,000-13,000 then walk at the
 * cheap rate. Candidates: 40 list lengths spaced geometrically between the
 * second-shortest and the second-longest of the series.
 */
function walkKnee(xs: number[], ys: number[], line: { slope: number; intercept: number }): ReturnType<typeof kneeFit> {
  const distinct = [...new Set(xs)].sort((a, b) => a - b);
  if (distinct.length < 4) return null;
  const lo = distinct[1]!, hi = distinct[distinct.length - 2]!;
  const candidates = Array.from({ length: 40 }, (_, i) => lo * (hi / lo) ** (i / 39));
  // Relative errors (weights 1 / y^2): the walks run from a few us to hundreds, and the longest are the noisiest in us.
  const w = ys.map((y) => 1 / Math.max(1, y) ** 2);
  const k = kneeFit(xs, ys, candidates, w);
  if (!k) return null;
  let lineRss = 0;
  for (let i = 0; i < xs.length; i++) lineRss += w[i]! * (ys[i]! - line.intercept - line.slope * xs[i]!) ** 2;
  const apart = k.above - k.below > 2 * Math.hypot(k.aboveStdError, k.belowStdError);
  return k.below > 0 && k.above >= 1.5 * k.below && apart && k.rss < 0.5 * lineRss ? k : null;
}

/** Each run's median duration of `op`, or null when some run has no timed call of it. */
export function runMedians(perRun: Map<string, { durNs: number[] }>[], op: string): number[] | null {
  const runs = perRun.map((by) => by.get(op)?.durNs).filter((x): x is number[] => x !== undefined && x.length > 0);
  return runs.length === perRun.length ? runs.map(median) : null;
}

/**
 * The probe's own work between two syscalls of a container (path formatting,
 * the untraced close() of each tree fd): in each single-container run, the
 * median gap from the end of one traced op to the start of the next. This is
 * what the simulator's runtime costs (host.runtimePerOpNs, runtimeStartNs,
 * runtimeOverlayPerLayerNs) stand for when it replays the probe, and it is
 * measured directly, so it is set rather than fitted: fitted with the
 * unlocked syscall costs, it soaked up the K=1 runs' RCU waits and made the
 * storms CPU-bound instead of serialized (docs/validation.md). The typical
 * gap is the median; what the gaps add beyond it (the wait before the first
 * op, the user namespace opened once, the lowerdir string before each
 * overlay) is per container or per layer, not per op. [] when no
 * single-container trace is kept.
 */
export interface ProbeRuntimeRun {
  /** Gaps between consecutive ops other than before the first op and before overlay mounts: how many, and their sum, ns. */
  plainGaps: number;
  plainGapSumNs: number;
  /** From release to the first op: the released thread getting going, ns. */
  startLatencyNs: number;
  /** Mean gap before an overlay mount (building the lowerdir option string), ns; NaN without one. */
  overlayGapNs: number;
  layers: number;
}

export interface MeasuredRuntime {
  /** The probe's CPU work between two syscalls, ns. */
  perOpNs: number;
  /** Its CPU work once per container (the user namespace opened once, ...), ns. */
  startNs: number;
  startLatencyNs: number;
  /** Before an overlay mount, beyond perOpNs, per lower layer, ns. */
  overlayPerLayerNs: number;
  runs: ProbeRuntimeRun[];
}

/**
 * The probe's own work from its single-container runs. The gaps between ops
 * sum to a per-container part plus a per-op part: a line through the median
 * gap sum of each op count (the runs of one layer count have one op count),
 * so one slow run does not move it; with one op count only, the per-op part
 * is the median gap. Null without runs.
 */
export function measuredRuntime(runs: ProbeRuntimeRun[]): MeasuredRuntime | null {
  if (runs.length === 0) return null;
  const byCount = new Map<number, number[]>();
  for (const r of runs) byCount.set(r.plainGaps, [...(byCount.get(r.plainGaps) ?? []), r.plainGapSumNs]);
  const pts = [...byCount].map(([n, sums]) => [n, median(sums)] as const);
  let perOpNs: number, startNs: number;
  if (pts.length >= 2) {
    const line = lineFit(pts.map(([n]) => n), pts.map(([, y]) => y));
    perOpNs = Math.max(0, line.slope);
    startNs = Math.max(0, line.intercept);
  } else {
    perOpNs = median(runs.map((r) => r.plainGapSumNs / r.plainGaps));
    startNs = 0;
  }
  const overlay = runs.filter((r) => Number.isFinite(r.overlayGapNs)).map((r) => Math.max(0, r.overlayGapNs - perOpNs) / r.layers);
  return {
    perOpNs,
    startNs,
    startLatencyNs: median(runs.map((r) => r.startLatencyNs)),
    overlayPerLayerNs: overlay.length > 0 ? median(overlay) : 0,
    runs,
  };
}

/** Ops with enough calls per single-container run, and one cost each, to show run-to-run variation. */
const JITTER_OPS = new Set(['open_tree', 'mount_setattr', 'move_mount']);

/**
 * How much one call's cost varies from call to call: in each single-container
 * run and for each of JITTER_OPS, (p90 - p10) / (2 x 1.2816 x p50) of its
 * durations, which is the coefficient of variation for a normal spread and
 * ignores the rare call interrupted by something else. One value per run
 * and op; [] for K > 1 (there waiting adds to the spread).
 */
export function probeJitterRuns(p: MountstormPoint): number[] {
  if (p.containers !== 1) return [];
  const out: number[] = [];
  for (const f of p.traces) {
    for (const [op, calls] of tracedCalls(readTraceFile(f))) {
      if (!JITTER_OPS.has(op) || calls.durNs.length < 10) continue;
      const ds = [...calls.durNs].sort((a, b) => a - b);
      const q = (x: number) => ds[Math.round(x * (ds.length - 1))]!;
      out.push((q(0.9) - q(0.1)) / (2 * 1.2816 * q(0.5)));
    }
  }
  return out;
}

export function probeRuntimeRuns(p: MountstormPoint): ProbeRuntimeRun[] {
  if (p.containers !== 1) return [];
  const out: ProbeRuntimeRun[] = [];
  for (const f of p.traces) {
    const t = readTraceFile(f);
    let end = 0;
    const plain: number[] = [];
    const overlay: number[] = [];
    let first = NaN;
    for (let i = 0; i < t.ops.count; i++) {
      const start = t.ops.startNs?.[i], dur = t.ops.durNs?.[i];
      if (start === undefined || dur === undefined || Number.isNaN(start) || Number.isNaN(dur)) continue;
      const gap = start - end;
      if (Number.isNaN(first)) first = gap;
      else if (OP_NAMES[t.ops.op[i]!] === 'mount_overlay') overlay.push(gap);
      else plain.push(gap);
      end = start + dur;
    }
    if (plain.length === 0 || !(first >= 0)) continue;
    out.push({ plainGaps: plain.length, plainGapSumNs: plain.reduce((a, g) => a + g, 0), startLatencyNs: first, overlayGapNs: overlay.length > 0 ? mean(overlay) : NaN, layers: p.layers });
  }
  return out;
}


export interface LockbenchPoint {
  files: string[];
  lock: 'ttas' | 'ticket';
  threads: number;
  csNs: number;
  thinkNs: number;
  /** acquisitions/s of each run (one file per run). */
  runsPerSec: number[];
  /** Mean cost of one clock read in the probe's runs: the busy wait's overshoot (see effectiveCsNs). */
  clockReadNs: number;
  /** The probe times one acquisition in this many (two clock reads each; see MicrobenchParams.timing). */
  sampleEvery: number;
  /** Mean time of one uncontended iteration of the probe's loop, measured by the probe (see ProbeTiming.loopNs). */
  iterationNs: number;
  /** Each run's one-way transfer between its first two cpus (the mean of the probe's before and after), NaN where not measured. */
  runsTransferNs?: number[];
  /**
   * Each run's transfer latency relative to the calibration's (withPlacement):
   * 1 on the calibration's placement of the vCPUs, else the measured ratio.
   * Absent: every run on the calibration's placement.
   */
  runsTransferScale?: number[];
  /** Where the protected counter lives (`measure lockbench --data`; absent: none). */
  data?: 'same-line' | 'own-line';
  /** One PAUSE of the host, ns, as the probe measured it (the set's median; absent: files recorded before the probe timed it). */
  pauseNs?: number;
  /** How much one transfer varies, standard deviation / mean, from the probe's transferSpread (transferJitterCv; the set's median over its runs; absent: files recorded before the probe measured it). */
  jitterCv?: number;
}

/**
 * One transfer's variation (standard deviation / mean) from a run's
 * transferSpread: a one-way trip is about two transfers (the writer's
 * upgrade, the spinner's read), so one transfer's spread is the trip's over
 * sqrt 2 and its mean half the trip's. The trip's standard deviation is taken
 * from the 16th and 84th percentiles (robust to the trips the host
 * interrupts), less the two time stamps' rounding to the counter's step
 * (variance tick^2 / 6).
 */
export function transferJitterCv(s: { p16Ns: number; p50Ns: number; p84Ns: number; tickNs: number }): number {
  const sd = (s.p84Ns - s.p16Ns) / 2;
  return (Math.SQRT2 * Math.sqrt(Math.max(0, sd * sd - (s.tickNs * s.tickNs) / 6))) / s.p50Ns;
}

function wrongKind(file: string, want: string, got: string): InputError {
  return new InputError({ file, line: 1, column: 1, field: 'kind', expected: `a ${want} measurement (\`locksim measure ${want}\`)`, got: JSON.stringify(got) });
}

export function loadMountstormPoint(file: string): MountstormPoint {
  const m = loadMeasurement(file);
  if (m.kind !== 'mountstorm') throw wrongKind(file, 'mountstorm', m.kind);
  const failed = m.results.runs.findIndex((r) => r.failedContainers > 0);
  if (failed >= 0) {
    throw new InputError({ file, line: 1, column: 1, field: `results.runs[${failed}].failedContainers`, expected: 'runs whose containers all succeeded (a failed launch has no latency to compare)', got: String(m.results.runs[failed]!.failedContainers) });
  }
  const dir = dirname(file);
  return {
    file,
    files: [file],
    variant: m.config.variant,
    layers: m.config.layers,
    containers: m.config.containers,
    runsMeanNs: m.results.runs.map((r) => r.meanNs),
    opCounts: m.results.runs[0]!.opCounts,
    traces: m.results.traces.map((t) => join(dir, t)).filter((t) => existsSync(t)),
    otherRunnable: m.host.otherRunnable ?? 0,
    ...(m.config.unmountInspection ? { unmountInspection: true } : {}),
    ...(m.config.processes ? processFields(m.results.runs) : {}),
  };
}

/** The --processes fields of one file's runs (see MountstormPoint). */
function processFields(runs: MountstormSummary[]): Partial<MountstormPoint> {
  // A run timed its processes' lives when it has every per-process list, one entry per process.
  const timed = runs.filter((r) => r.forkLoopCpuNs !== undefined && r.processStartNs?.length && [r.processStartCpuNs, r.processStartFaults, r.processExitCpuNs, r.processFaults].every((xs) => xs?.length === r.processStartNs!.length));
  return {
    processes: true,
    firstForkNs: runs.flatMap((r) => (r.processStartNs?.length ? [Math.min(...r.processStartNs)] : [])),
    processFaults: runs.flatMap((r) => r.processFaults ?? []),
    cowFaultNs: runs.flatMap((r) => (r.cowFaultNs !== undefined ? [r.cowFaultNs] : [])),
    forkBusyRatios: runs.flatMap((r) => (r.forkToChildNs && r.forkToChildNs.otherCpuIdle > 0 ? [r.forkToChildNs.otherCpuBusy / r.forkToChildNs.otherCpuIdle] : [])),
    ...(timed.length > 0
      ? {
          forkCpuNs: timed.map((r) => r.forkLoopCpuNs! / r.processStartNs!.length),
          processStartCpuNs: timed.flatMap((r) => r.processStartCpuNs!),
          processFaultsAfterStart: timed.flatMap((r) => r.processFaults!.map((f, k) => Math.max(0, f - r.processStartFaults![k]!))),
          processExitCpuNs: timed.flatMap((r) => r.processExitCpuNs!),
        }
      : {}),
  };
}

/**
 * Mount storm files of the same configuration (variant, K, L), from several
 * recording sessions, become one point with all their runs and kept traces,
 * as lockbench files of one configuration do: the fit and the comparison then
 * weigh each configuration once, by every run of it.
 */
export function loadMountstormPoints(files: string[]): MountstormPoint[] {
  const byKey = new Map<string, MountstormPoint>();
  for (const f of files) {
    const p = loadMountstormPoint(f);
    const key = `${p.variant}/${p.containers}/${p.layers}${p.unmountInspection ? '/unmount-inspection' : ''}${p.processes ? '/processes' : ''}`;
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, p);
      continue;
    }
    for (const [op, n] of Object.entries(p.opCounts)) {
      if (seen.opCounts[op] !== n) {
        throw new InputError({ file: f, line: 1, column: 1, field: `results.runs[0].opCounts.${op}`, expected: `${seen.opCounts[op]} ops, as ${seen.file} of the same configuration has`, got: String(n) });
      }
    }
    // The load of each file weighs by its runs.
    const otherRunnable = ((seen.otherRunnable ?? 0) * seen.runsMeanNs.length + (p.otherRunnable ?? 0) * p.runsMeanNs.length) / (seen.runsMeanNs.length + p.runsMeanNs.length);
    const merged: MountstormPoint = { ...seen, files: [...seen.files, f], runsMeanNs: [...seen.runsMeanNs, ...p.runsMeanNs], traces: [...seen.traces, ...p.traces], otherRunnable };
    for (const k of MERGED_LISTS) if (seen[k] || p[k]) merged[k] = [...(seen[k] ?? []), ...(p[k] ?? [])];
    byKey.set(key, merged);
  }
  return [...byKey.values()];
}

/**
 * One uncontended iteration of probes/lockbench's loop, ns, for files
 * recorded before the probe measured it: its `iterationNs` on this project's
 * host (AMD EPYC family 26 model 2, kernel 6.18.44-fc-v657) on 2026-11-30,
 * 4.95-5.15 ns over three runs of `probes/build/lockbench --threads 2
 * --cs-ns 0 --duration-ms 300`; a thread alone without clock reads ran 5.16
 * ns per acquisition (`--threads 1 --cs-ns 0 --sample-every 1000000`).
 */
export const DEFAULT_ITERATION_NS = 5.1;

/**
 * Lockbench files of the same configuration (lock, threads, cs, think) become
 * one point with their runs. The probe's clock read and uncontended iteration
 * are properties of the machine, measured by every run at its start (200,000
 * clock reads, 2 million iterations) where another process can slow them: one
 * run in six of this project's windows read 23-56 ns against 20.5-22 ns for
 * the rest. Every point gets the median over all the files given.
 */
export function loadLockbenchPoints(files: string[]): LockbenchPoint[] {
  const byKey = new Map<string, LockbenchPoint>();
  const clocks: number[] = [], iterations: number[] = [];
  const pauses: number[] = [], jitters: number[] = [];
  for (const file of files) {
    const m = loadMeasurement(file);
    if (m.kind !== 'lockbench') throw wrongKind(file, 'lockbench', m.kind);
    const c = m.config;
    const key = `${c.lock}/${c.threads}/${c.csNs}/${c.thinkNs}/${c.data ?? 'none'}`;
    let p = byKey.get(key);
    if (!p) byKey.set(key, (p = { files: [], lock: c.lock, threads: c.threads, csNs: c.csNs, thinkNs: c.thinkNs, runsPerSec: [], clockReadNs: 0, sampleEvery: m.results.config.sampleEvery, iterationNs: 0, runsTransferNs: [], ...(c.data ? { data: c.data } : {}) }));
    p.files.push(file);
    p.runsPerSec.push(m.results.acquisitionsPerSec);
    const t = measuredTransfer(m.results.transferNs);
    p.runsTransferNs!.push(t ? (t.before + t.after) / 2 : NaN);
    clocks.push(m.results.config.clockReadNs);
    iterations.push(m.results.config.iterationNs ?? DEFAULT_ITERATION_NS);
    if (m.results.config.pauseNs !== undefined) pauses.push(m.results.config.pauseNs);
    if (m.results.transferSpread) jitters.push(transferJitterCv(m.results.transferSpread));
  }
  const clockReadNs = median(clocks), iterationNs = median(iterations);
  const pause = pauses.length > 0 ? { pauseNs: median(pauses) } : {};
  const jitter = jitters.length > 0 ? { jitterCv: median(jitters) } : {};
  return [...byKey.values()]
    .map((p) => ({ ...p, clockReadNs, iterationNs, ...pause, ...jitter }))
    .sort((a, b) => a.threads - b.threads || a.csNs - b.csNs);
}

/**
 * Below this share of the run's wall time on its CPU a lockbench worker
 * shared its CPU with other processes, and the run's throughput is not the
 * lock's alone (a holder descheduled in its critical section). Measured on
 * this project's 2-vCPU guest (2026-11-30, `lockbench --threads 2 --cs-ns 50`):
 * quiet runs 0.81-0.95 (the hypervisor's steal), a busy loop on one CPU 0.50
 * for the worker there (155 ns per acquisition against 112-122).
 */
export const SHARED_CPU_SHARE = 0.75;

/**
 * A run whose transfer between its CPUs (the mean of the probe's before and
 * after) is this many times the set's median, or its inverse, or whose before
 * and after differ by as much, ran on another placement of the vCPUs: on this
 * project's guest the one-way transfer was 26-31 ns most of the time and 124
 * ns for stretches (2026-11-30 13:28 UTC, probes/pingpong), and a lock
 * hand-off costs one transfer.
 */
export const MOVED_TRANSFER_RATIO = 1.5;

/**
 * A run's transfer as measured, null when absent or when either end is 0: no
 * transfer between two CPUs takes no time, and a 0 (the schema allows it)
 * would be "another placement" of every run, its ratio to any other infinite.
 */
export function measuredTransfer(t: { before: number; after: number } | undefined): { before: number; after: number } | null {
  return t && t.before > 0 && t.after > 0 ? t : null;
}

/** Whether two transfers were measured on different placements of the vCPUs: one is MOVED_TRANSFER_RATIO times the other or more. */
export function otherPlacement(a: number, b: number): boolean {
  return Math.max(a, b) >= MOVED_TRANSFER_RATIO * Math.min(a, b);
}

/**
 * The one-way transfer of the placement of the vCPUs that most runs measured
 * (the set's placement), NaN for none: the transfers sorted and cut wherever
 * one is MOVED_TRANSFER_RATIO times the one before (a placement's own spread
 * is ~10%, this project's guest's two placements 4x apart), then the median
 * of the largest group. On a tie, the group nearest (by ratio) to
 * `tieBreakNs` when given (calibrate passes the mount storms' placement: the
 * kernel fit runs the storms on the fitted hardware), else the faster. The median of all
 * the runs is no placement when they split evenly: a reduced calibration set
 * whose four lockbench runs measured ~58 and ~230 ns had a median of ~145 ns,
 * "another placement" for every run, and its fit was left with none
 * (2026-12-02).
 */
export function placementTransferNs(transfers: readonly number[], tieBreakNs = NaN): number {
  const t = transfers.filter(Number.isFinite).sort((a, b) => a - b);
  if (t.length === 0) return NaN;
  const groups: number[][] = [[t[0]!]];
  for (let i = 1; i < t.length; i++) {
    if (otherPlacement(t[i]!, t[i - 1]!)) groups.push([]);
    groups[groups.length - 1]!.push(t[i]!);
  }
  const most = Math.max(...groups.map((g) => g.length));
  const largest = groups.filter((g) => g.length === most).map(median);
  if (!Number.isFinite(tieBreakNs)) return largest[0]!;
  const apart = (x: number) => Math.abs(Math.log(x / tieBreakNs));
  // reduce keeps the first of equals: the faster of two equally near.
  return largest.reduce((a, x) => (apart(x) < apart(a) ? x : a));
}

/**
 * The placement most of the mount storm runs among `files` measured
 * (placementTransferNs over each run's mean transfer, runs the host moved
 * during left out), NaN when none measured it.
 */
export function stormPlacementTransferNs(files: string[]): number {
  return steadyPlacementNs(files.flatMap((file) => {
    const m = loadMeasurement(file);
    return m.kind === 'mountstorm' ? runsOf(file, m) : [];
  }));
}

/** placementTransferNs over the runs that measured their transfer and were not moved during the run. */
function steadyPlacementNs(runs: Run[]): number {
  return placementTransferNs(runs.flatMap((r) => (r.transfer && !otherPlacement(r.transfer.before, r.transfer.after) ? [(r.transfer.before + r.transfer.after) / 2] : [])));
}

/** Why a run's result is not the one of the machine the set describes. */
export interface RunCondition {
  file: string;
  /** The run within a mount storm file (its runs array), absent for a lockbench file (one run each). */
  run?: number;
  /** The least share of the run a worker had on its CPU, when below SHARED_CPU_SHARE. */
  share?: number;
  /** The run's transfer (before, after) when it differs from the set's or moved during the run. */
  transferNs?: { before: number; after: number; setNs: number };
}

/**
 * The runs among `files` that ran on a shared machine (lockbench: a worker
 * below SHARED_CPU_SHARE of its cpu) or on another placement of the vCPUs
 * (lockbench and mount storms: a transfer MOVED_TRANSFER_RATIO off the
 * placement most runs of its kind measured, placementTransferNs, or moved
 * during the run). See RunCondition.
 */
export function runConditions(files: string[]): RunCondition[] {
  const lock: Run[] = [], storms: Run[] = [];
  for (const file of files) {
    const m = loadMeasurement(file);
    (m.kind === 'lockbench' ? lock : storms).push(...runsOf(file, m));
  }
  // An even split of the lockbench runs goes to the storms' placement, as in calibrateLockbench.
  return [...conditionsOf(lock, steadyPlacementNs(storms)), ...conditionsOf(storms)];
}

/** runConditions of one measurement already loaded (`measure` warns with it): its runs against their own placement (placementTransferNs). */
export function measurementRunConditions(file: string, m: Measurement): RunCondition[] {
  return conditionsOf(runsOf(file, m));
}

/** A measurement's runs as runConditions weighs them: a lockbench file is one run; a mount storm file has one per storm; others none. */
function runsOf(file: string, m: Measurement): Run[] {
  if (m.kind === 'lockbench') return [{ file, shares: m.results.workerCpuShare ?? [], transfer: measuredTransfer(m.results.transferNs) }];
  if (m.kind === 'mountstorm') return m.results.runs.map((r, run) => ({ file, run, shares: [], transfer: measuredTransfer(r.transferNs) }));
  return [];
}

interface Run {
  file: string;
  run?: number;
  shares: number[];
  transfer: { before: number; after: number } | null;
}

function conditionsOf(runs: Run[], tieBreakNs = NaN): RunCondition[] {
  const transfers = runs.flatMap((r) => (r.transfer ? [(r.transfer.before + r.transfer.after) / 2] : []));
  const setNs = placementTransferNs(transfers, tieBreakNs);
  const out: RunCondition[] = [];
  for (const r of runs) {
    const c: RunCondition = { file: r.file, ...(r.run !== undefined ? { run: r.run } : {}) };
    const least = r.shares.length ? Math.min(...r.shares) : 1;
    if (least < SHARED_CPU_SHARE) c.share = least;
    const t = r.transfer;
    if (t && (otherPlacement(t.before, t.after) || otherPlacement((t.before + t.after) / 2, setNs))) c.transferNs = { ...t, setNs };
    if (c.share !== undefined || c.transferNs) out.push(c);
  }
  return out;
}

/**
 * A note naming the runs of `runConditions`, one per line under a line that
 * says what they have in common, or an empty string when there are none (a
 * noisy host's set can have dozens: on one line they were kilobytes no one
 * could read).
 */
export function runConditionsNote(conditions: RunCondition[], show: (file: string) => string): string {
  if (conditions.length === 0) return '';
  const what = conditions.map((c) => {
    const parts = [
      ...(c.share !== undefined ? [`a worker had ${Math.round(c.share * 100)}% of its cpu`] : []),
      ...(c.transferNs ? [`transfers ${c.transferNs.before.toFixed(0)} -> ${c.transferNs.after.toFixed(0)} ns one way against ${c.transferNs.setNs.toFixed(0)} for the set`] : []),
    ];
    return `${show(c.file)}${c.run !== undefined ? ` run ${c.run + 1}` : ''} (${parts.join('; ')})`;
  });
  return [`note: ${conditions.length} run(s) did not run on the machine the set describes (other processes shared the cpus, or the host placed the vcpus elsewhere), so they measured another machine:`, ...what.map((w) => `  ${w}`)].join('\n');
}

/**
 * Splits measurement files by kind, so the CLI can take them in any order.
 * Mount storms made beside idle mounts (`measure mountstorm --idle-mounts`)
 * are the walk series: they measure open_tree's walk, not a launch.
 *
 * Each kind comes back in one canonical order (by file name, then path),
 * whatever order the files were given in. The order reaches the fit (the
 * order of points, of runs within a merged point, the float sums of their
 * loads) and the mount fit is chaotic in it: `calibrate --record D` (files
 * in recording order) and `calibrate D/measurements/*.json` (shell order)
 * fitted namespace_sem's write scale at 1.59 and 2.15 from the same files
 * of window w33 (docs/validation.md, fifteenth session).
 */
export function measurementKinds(files: string[]): { mountstorm: string[]; lockbench: string[]; walk: string[] } {
  const out = { mountstorm: [] as string[], lockbench: [] as string[], walk: [] as string[] };
  const byName = (a: string, b: string) => byCodeUnit(basename(a), basename(b)) || byCodeUnit(a, b);
  for (const f of [...files].sort(byName)) {
    const m = loadMeasurement(f);
    if (m.kind === 'mountstorm' && m.config.idleMounts) out.walk.push(f);
    else if (m.kind === 'mountstorm' || m.kind === 'lockbench') out[m.kind].push(f);
    else throw new InputError({ file: f, line: 1, column: 1, field: 'kind', expected: 'a mountstorm or lockbench measurement', got: JSON.stringify(m.kind) });
  }
  return out;
}

/** Coefficient of variation (sample standard deviation / mean) of the runs; 0 for one run. */
export function coefficientOfVariation(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  const v = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(v) / m;
}

/**
 * Per-op medians from the kept traces of runs with several containers (the
 * calibration set's small storms, K <= 4): unlike K=1's, these include the
 * waits, so they pin how long an umount's grace period and an overlay's
 * namespace_sem reads take when launches contend, which the mean latency
 * alone mixes with everything else.
 */
export interface ContendedOpPoint {
  /** Index of the storm point whose simulation predicts it. */
  point: number;
  file: string;
  op: string;
  containers: number;
  layers: number;
  runsMedianNs: number[];
}

export function contendedOpPoints(points: MountstormPoint[]): ContendedOpPoint[] {
  const out: ContendedOpPoint[] = [];
  points.forEach((p, point) => {
    if (p.containers === 1 || p.traces.length === 0) return;
    const perRun = p.traces.map((f) => tracedCalls(readTraceFile(f)));
    for (const op of [...IDLE_OPS, 'umount']) {
      const runs = runMedians(perRun, op);
      if (runs) out.push({ point, file: p.file, op, containers: p.containers, layers: p.layers, runsMedianNs: runs });
    }
  });
  return out;
}

/**
 * The bimodal wait of a lone unmount. On this 2-vCPU guest a single
 * container's umount calls take ~7 or ~35 us, and which one is a state of the
 * run, not of the call (traces of windows w3 and w5, docs/validation.md): the
 * first one or two calls of every run are slow (55-160 us, then ~30), after
 * which most runs settle at ~7 us for good and some stay at ~35 us for the
 * whole run. So the modes are measured on runs long enough to settle
 * (`MIN_SETTLED_UMOUNTS` calls or more): each run's median umount, split
 * into a fast and a slow mode at the largest gap between the sorted run
 * medians when that gap is at least 2x; `share` is the share of those runs
 * in the fast mode, and `warmupGps` the median count, over the fast runs, of
 * leading calls above the modes' geometric midpoint (the slow start every
 * run has). Runs with fewer calls (a common-parent storm unmounts a handful
 * of mounts) are all warm-up: they count for `warmupGps` only through the
 * simulation, which charges a run's first `warmupGps` lone grace periods the
 * slow length. The model's fast grace period is set from `fastNs` (see
 * withRcuFastPath).
 *
 * One mode only: when every settled run's median is under half the median
 * unmount of the contended runs (K > 1, where the other vCPU is busy and the
 * grace period takes its slow path), every run settled fast (`allFast`:
 * share 1, and the fast grace period is the lone call's median minus the
 * rest of umount's cost in the model, see withRcuFastPath).
 * Null with fewer than 2 settled runs, or one mode that is not clearly fast.
 */
export interface RcuFastPath {
  share: number;
  fastNs: number;
  slowNs: number;
  runMediansNs: number[];
  /** Lone grace periods at the start of every run that take the slow length, fast runs included. */
  warmupGps: number;
  /** Every lone run was fast (no slow mode among them): slowNs is then the contended runs' median unmount. */
  allFast?: boolean;
}

/** Runs with fewer lone umount calls than this are all warm-up: they do not say which mode a run settles in. */
export const MIN_SETTLED_UMOUNTS = 8;

/** Each single-container traced run's umount call durations (ns), in call order. */
export function umountRunSequences(p: MountstormPoint): number[][] {
  if (p.containers !== 1 || p.traces.length === 0) return [];
  return p.traces.map((f) => tracedCalls(readTraceFile(f)).get('umount')?.durNs ?? []).filter((d) => d.length > 0);
}

export function measuredRcuFastPath(runs: number[][], contendedUmountNs?: number): RcuFastPath | null {
  const settled = runs.filter((r) => r.length >= MIN_SETTLED_UMOUNTS);
  if (settled.length < 2) return null;
  const runMediansNs = settled.map(median);
  const s = [...runMediansNs].sort((a, b) => a - b);
  let at = -1;
  let gap = 0;
  for (let i = 1; i < s.length; i++) {
    const g = s[i]! / Math.max(1, s[i - 1]!);
    if (g > gap) [gap, at] = [g, i];
  }
  // Leading calls above the midpoint in each run that settled fast: the warm-up.
  const warmup = (fastNs: number, slowNs: number) => {
    const mid = Math.sqrt(fastNs * slowNs);
    const counts = settled.filter((r) => median(r) < mid).map((r) => {
      let n = 0;
      while (n < r.length && r[n]! > mid) n++;
      return n;
    });
    return counts.length ? Math.round(median(counts)) : 0;
  };
  if (gap < 2) {
    // One mode: fast when even the slowest settled run is under half the contended unmount.
    if (contendedUmountNs === undefined || !(s[s.length - 1]! < contendedUmountNs / 2)) return null;
    const fastNs = median(s);
    return { share: 1, fastNs, slowNs: contendedUmountNs, runMediansNs, warmupGps: warmup(fastNs, contendedUmountNs), allFast: true };
  }
  const fastNs = median(s.slice(0, at)), slowNs = median(s.slice(at));
  return { share: at / s.length, fastNs, slowNs, runMediansNs, warmupGps: warmup(fastNs, slowNs) };
}

/**
 * Waiting behind other work after a wake-up, from the single-container runs
 * recorded while other tasks were runnable (host.otherRunnable > 0): an
 * unmount that returns more than 4x its run's median (and 50 us over it)
 * waited for a CPU after its grace period. `share` is such waits per
 * unmount per other runnable task, `waitNs` their mean excess over the
 * median. Null without such runs or without a long wait in them.
 */
export interface OtherWorkWake {
  share: number;
  waitNs: number;
  /** Unmounts looked at, long waits among them, and the mean other runnable tasks of their runs. */
  umounts: number;
  longWaits: number;
  meanOtherRunnable: number;
}

export function measuredOtherWorkWake(points: MountstormPoint[]): OtherWorkWake | null {
  let exposure = 0, umounts = 0, longWaits = 0, excess = 0, others = 0;
  for (const p of points) {
    if (p.containers !== 1 || !(p.otherRunnable && p.otherRunnable > 0)) continue;
    for (const f of p.traces) {
      const d = tracedCalls(readTraceFile(f)).get('umount')?.durNs ?? [];
      if (d.length === 0) continue;
      const med = median(d);
      const long = d.filter((x) => x > 4 * med && x > med + 50_000);
      umounts += d.length;
      exposure += d.length * p.otherRunnable;
      others += d.length * p.otherRunnable;
      longWaits += long.length;
      excess += long.reduce((a, x) => a + (x - med), 0);
    }
  }
  if (longWaits === 0) return null;
  return { share: longWaits / exposure, waitNs: excess / longWaits, umounts, longWaits, meanOtherRunnable: others / umounts };
}
