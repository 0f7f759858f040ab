// Fits the mount propagation costs of this host from `locksim measure
// mountstorm --propagation ... [--reader ...]` files (docs/validation.md,
// "Mount propagation, measured"):
//
// - per peer, per operation: a clone made by open_tree(OPEN_TREE_CLONE) from a
//   shared mount joins that mount's peer group; move_mount onto the shared
//   mount runs propagate_mnt over the group and umount runs propagate_umount
//   over it (fs/pnode.c). An op's median duration against the number of
//   pre-built peers N is a line, ns = a + b N; b is the per-peer cost.
// - per ring step, in a mountinfo read: in a slave mount namespace
//   show_mountinfo calls get_dominating_id for each slave line, which walks the
//   master's peer ring, so a full read costs lines x peers steps on top of the
//   per-line cost a private namespace pays:
//   ns = a + perLine lines + perRingStep slaveLines peers,
//   fitted to the reader thread's CPU time per read (see fitReadCost).
//
// Both are ordinary least squares with standard errors (sigma^2 (X'X)^-1); the
// measured points are per run (not per configuration) so the run-to-run noise
// is in the residual. Callers pick a held-out subset by peer count and compare
// predictions with the held-out medians and their run-to-run spread.

import { mathjs } from '../mathjs.ts';
import type { Measurement } from './measure.ts';
import { median } from '../bench/stats.ts';

export interface LinearFit {
  /** One name per coefficient, in the order of the design matrix's columns. */
  names: string[];
  coef: number[];
  /** Standard error of each coefficient (NaN when there are no residual degrees of freedom). */
  stdErr: number[];
  /** Points used. */
  n: number;
  /** Residual standard deviation, sqrt(SSR / (n - p)). */
  residualSd: number;
}

/** Ordinary least squares y ~ X with the coefficients' standard errors. Throws when X'X is singular. */
export function leastSquares(names: string[], X: number[][], y: number[]): LinearFit {
  const p = names.length;
  if (X.length !== y.length) throw new Error(`leastSquares: ${X.length} rows but ${y.length} values`);
  if (X.length < p) throw new Error(`leastSquares: ${X.length} points cannot fit ${p} coefficients`);
  if (X.some((row) => row.length !== p)) throw new Error(`leastSquares: every row needs ${p} columns`);
  // Columns are scaled to unit size first: a ring-step column of ~1e7 beside
  // an intercept of 1 would make X'X too ill-conditioned to invert accurately.
  const scale = names.map((_, j) => Math.max(...X.map((r) => Math.abs(r[j]!))) || 1);
  const Xs = X.map((r) => r.map((v, j) => v / scale[j]!));
  const { inv, multiply, transpose } = mathjs();
  const Xt = transpose(Xs);
  const xtxInv = inv(multiply(Xt, Xs) as number[][]) as number[][];
  const beta = (multiply(xtxInv, multiply(Xt, y)) as number[]).map((b) => b);
  const residuals = Xs.map((r, i) => y[i]! - r.reduce((s, v, j) => s + v * beta[j]!, 0));
  const dof = X.length - p;
  const ssr = residuals.reduce((s, r) => s + r * r, 0);
  const sigma2 = dof > 0 ? ssr / dof : NaN;
  return {
    names,
    coef: beta.map((b, j) => b / scale[j]!),
    stdErr: beta.map((_, j) => Math.sqrt(sigma2 * xtxInv[j]![j]!) / scale[j]!),
    n: X.length,
    residualSd: Math.sqrt(sigma2),
  };
}

/** The fit's value at one design row. */
export function predict(fit: LinearFit, row: number[]): number {
  return row.reduce((s, v, j) => s + v * fit.coef[j]!, 0);
}

/** A measurement with the file it came from. */
export interface LoadedMeasurement {
  file: string;
  m: Measurement;
}

// ---------------------------------------------------------------------------
// Per-peer cost of binds and umounts

export const PEER_OPS = ['open_tree', 'move_mount', 'umount'] as const;
export type PeerOp = (typeof PEER_OPS)[number];

/** One run of a shared-propagation storm without a reader: each op's median duration at N peers. */
export interface PeerPoint {
  file: string;
  peers: number;
  containers: number;
  layers: number;
  /** Median wall time of each op in the run. */
  opNs: Partial<Record<PeerOp, number>>;
  /** Median CPU time of each op in the run (absent in files from before the probe measured it). */
  opCpuNs: Partial<Record<PeerOp, number>>;
}

/**
 * The runs that measure per-peer costs: shared propagation, no reader (a
 * slave reader adds a slave copy per peer, which propagate_mnt also visits),
 * and per-op medians present. Only one container count may be mixed in a fit;
 * pass `containers` to choose it (default 1: no lock contention in the op times),
 * and one umount kind (`umountDetach`: MNT_DETACH runs, default the busy-checked ones).
 */
export function peerPoints(files: LoadedMeasurement[], containers = 1, umountDetach = false): PeerPoint[] {
  const out: PeerPoint[] = [];
  for (const { file, m } of files) {
    if (m.kind !== 'mountstorm' || m.config.propagation !== 'shared' || m.config.reader || m.config.containers !== containers) continue;
    if ((m.config.umountDetach ?? false) !== umountDetach) continue;
    for (const run of m.results.runs) {
      if (!run.opP50Ns || !run.propagation) continue;
      const opNs: Partial<Record<PeerOp, number>> = {};
      const opCpuNs: Partial<Record<PeerOp, number>> = {};
      for (const op of PEER_OPS) {
        if (run.opP50Ns[op] !== undefined) opNs[op] = run.opP50Ns[op];
        if (run.opCpuP50Ns?.[op] !== undefined) opCpuNs[op] = run.opCpuP50Ns[op];
      }
      out.push({ file, peers: run.propagation.peers, containers: run.containers, layers: run.layers, opNs, opCpuNs });
    }
  }
  return out;
}

/**
 * Per op: ns = base + perPeer x N over the given runs, of the ops' CPU time
 * (default) or wall time. CPU time is the work done, with the locks held or
 * spinning for them; wall time adds what the op waited: for a cpu on a loaded
 * machine, and for umount an RCU grace period after it dropped the locks
 * (namespace_unlock), tens of us to ms here, which would bury the walk.
 */
export function fitPerPeer(points: PeerPoint[], clock: 'cpu' | 'wall' = 'cpu'): Record<PeerOp, LinearFit> {
  const out = {} as Record<PeerOp, LinearFit>;
  const value = (p: PeerPoint, op: PeerOp) => (clock === 'cpu' ? p.opCpuNs[op] : p.opNs[op]);
  for (const op of PEER_OPS) {
    const pts = points.filter((p) => value(p, op) !== undefined);
    out[op] = leastSquares(['baseNs', 'perPeerNs'], pts.map((p) => [1, p.peers]), pts.map((p) => value(p, op)!));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Per-ring-step cost of a mountinfo read in a slave namespace

/** One run's idle mountinfo reads (before the storm), summarized. */
export interface ReadPoint {
  file: string;
  mode: 'slave' | 'private';
  readSize: number;
  peers: number;
  /** Lines of the reader's mountinfo (median over the run's idle reads). */
  lines: number;
  /** read() calls per full read (median). */
  syscalls: number;
  /** Median duration (wall clock) of the run's idle full reads. */
  idleNs: number;
  /** Median CPU time of the reader thread per idle full read: the work, without waiting for a cpu. */
  idleCpuNs: number;
  /** Median and slowest full read during the storm, when a read fell inside it. */
  stormP50Ns?: number;
  stormMaxNs?: number;
}

export function readPoints(files: LoadedMeasurement[]): ReadPoint[] {
  const out: ReadPoint[] = [];
  for (const { file, m } of files) {
    if (m.kind !== 'mountstorm' || !m.config.reader) continue;
    for (const run of m.results.runs) {
      if (!run.reader) continue;
      const idle = run.reader.reads.filter((r) => r.startNs < 0 && !r.duringStorm);
      if (!idle.length) continue;
      const storm = run.reader.reads.filter((r) => r.duringStorm).map((r) => r.durNs);
      out.push({
        file,
        mode: run.reader.mode,
        readSize: run.reader.readSize,
        peers: run.propagation?.peers ?? 0,
        lines: median(idle.map((r) => r.lines)),
        syscalls: median(idle.map((r) => r.syscalls)),
        idleNs: median(idle.map((r) => r.durNs)),
        idleCpuNs: median(idle.map((r) => r.cpuNs)),
        ...(storm.length ? { stormP50Ns: median(storm), stormMaxNs: Math.max(...storm) } : {}),
      });
    }
  }
  return out;
}

/**
 * The ring steps of one full read: in a slave namespace, each slave line (one
 * per peer, plus the shared mount's own copy) walks the master's ring of
 * peers + 1 mounts; a private namespace has no slave lines.
 */
export function ringSteps(p: Pick<ReadPoint, 'mode' | 'peers'>): number {
  return p.mode === 'slave' ? (p.peers + 1) * (p.peers + 1) : 0;
}

export function readDesignRow(p: Pick<ReadPoint, 'mode' | 'peers' | 'lines'>): number[] {
  return [1, p.lines, ringSteps(p)];
}

/**
 * CPU time of an idle full read = base + perLine lines + perRingStep ring
 * steps. CPU time, not wall time: on a shared machine a read of a few ms is
 * time-sliced with other work, which would add the machine's load to every
 * coefficient; the work itself does not change. No per-read() term: the
 * seq_file renders a page at a time whatever the read() size, and on this
 * host 4x the read() calls (1 KB vs 4 KB) changed a private read's CPU time
 * by less than its run-to-run spread, so such a term is not identifiable.
 */
export function fitReadCost(points: ReadPoint[]): LinearFit {
  return leastSquares(['baseNs', 'perLineNs', 'perRingStepNs'], points.map(readDesignRow), points.map((p) => p.idleCpuNs));
}

// ---------------------------------------------------------------------------
// Held-out comparison

export interface HeldOutRow {
  label: string;
  /** Median of the held-out runs and their min..max. */
  measuredNs: number;
  minNs: number;
  maxNs: number;
  runs: number;
  predictedNs: number;
  /** (predicted - measured) / measured, in percent. */
  errorPct: number;
  /** (max - min) / median of the runs, in percent: the run-to-run spread beside the error. */
  spreadPct: number;
}

export function heldOutRow(label: string, measured: number[], predicted: number): HeldOutRow {
  const s = [...measured].sort((a, b) => a - b);
  const med = median(s);
  return {
    label,
    measuredNs: med,
    minNs: s[0]!,
    maxNs: s[s.length - 1]!,
    runs: s.length,
    predictedNs: predicted,
    errorPct: ((predicted - med) / med) * 100,
    spreadPct: ((s[s.length - 1]! - s[0]!) / med) * 100,
  };
}

/** Groups values by a key, keeping first-seen key order. */
export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = out.get(k) ?? [];
    list.push(t);
    out.set(k, list);
  }
  return out;
}
