/**
 * Runs a list of points, in this thread or on a piscina worker pool. Results
 * come back in the order of the list, whatever order workers finish in, and
 * each point is seeded by its own key, so 1 or N workers give identical bytes.
 *
 * A run can be stopped with an AbortSignal (Ctrl-C): no new point is started,
 * points under way on workers are abandoned, and `simulatePoints` rejects with
 * `InterruptedError`. Every point reported through `onResult` before that is
 * complete, so a caller that saved them (the checkpoint) loses nothing.
 */
import { setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Point } from '../config/points.ts';
import { simulatePoint, type PointOutput } from './kinds.ts';

export interface PoolOptions {
  workers: number;
  /** Called after each finished point (for progress display). */
  onPoint?: (done: number, total: number, point: Point) => void;
  /** Called with each finished point's output as soon as it exists (for the checkpoint), before onPoint. */
  onResult?: (index: number, output: PointOutput) => void;
  /** Aborting it stops the run between points. */
  signal?: AbortSignal;
  /**
   * Worker threads shared by several runs (one command running several
   * scenarios): used when workers > 1 and left open, so its threads keep
   * their loaded and compiled code for the next run. Absent: a pool of
   * `workers` threads for this run only.
   */
  pool?: PointPool;
}

/** Worker threads that simulate points (piscina). */
export interface PointPool {
  run(point: Point, signal: AbortSignal | null): Promise<PointOutput>;
  close(): Promise<void>;
}

/** A pool of `workers` threads running this build's worker module (compiled or, under tsx, the sources). */
export async function openPointPool(workers: number): Promise<PointPool> {
  // Loaded only when a run uses workers (keeps the start of every command short).
  const { Piscina } = await import('piscina');
  const pool = new Piscina({
    filename: fileURLToPath(new URL(`./worker${compiled ? '.js' : '.ts'}`, import.meta.url)),
    maxThreads: workers,
    minThreads: workers,
    execArgv: workerExecArgv(),
  });
  return {
    run: (point, signal) => pool.run(point, { signal }),
    close: () => pool.destroy(),
  };
}

/** The run was stopped by its AbortSignal; the points finished before are in `done`. */
export class InterruptedError extends Error {
  constructor(
    readonly done: number,
    readonly total: number,
    /** The abort reason, e.g. "SIGINT" or "SIGTERM". */
    readonly reason?: unknown,
    /** Where the finished points were kept, when they were. */
    readonly checkpoint?: string,
  ) {
    super(`interrupted after ${done} of ${total} points`);
    this.name = 'InterruptedError';
  }
}

/**
 * Whether this module runs from dist/ (compiled by `npm ci`) rather than from
 * the TypeScript sources through tsx; workers run the same kind of file.
 */
const compiled = import.meta.url.endsWith('.js');

function workerExecArgv(): string[] {
  const inherited = process.execArgv.filter((a) => !a.startsWith('--cpu-prof'));
  // Compiled workers need nothing more. Source workers load TypeScript through
  // tsx, like the main thread, by resolved URL: a bare 'tsx' would be looked up
  // from the current directory, which need not be inside this project.
  return compiled ? inherited : [...inherited, '--import', import.meta.resolve('tsx')];
}

export async function simulatePoints(points: Point[], opts: PoolOptions): Promise<PointOutput[]> {
  const results: PointOutput[] = new Array(points.length);
  let done = 0;
  const finish = (i: number, output: PointOutput) => {
    results[i] = output;
    opts.onResult?.(i, output);
    opts.onPoint?.(++done, points.length, points[i]);
  };
  if (opts.workers <= 1 || points.length <= 1) {
    for (let i = 0; i < points.length; i++) {
      // A point simulates synchronously; yielding to the event loop between
      // points is what lets a SIGINT handler run and abort the signal.
      await nextTurn();
      if (opts.signal?.aborted) throw new InterruptedError(done, points.length, opts.signal?.reason);
      finish(i, simulatePoint(points[i]));
    }
    return results;
  }
  if (opts.signal?.aborted) throw new InterruptedError(0, points.length, opts.signal.reason);
  const pool = opts.pool ?? (await openPointPool(opts.workers));
  // piscina adds one abort listener per queued point; more than 10 is expected, not a leak.
  if (opts.signal) setMaxListeners(points.length + 10, opts.signal);
  try {
    // Longest points first keeps both workers busy to the end (a cheap guess: x is the load).
    const order = points.map((_, i) => i).sort((a, b) => points[b].x - points[a].x || a - b);
    const settled = await Promise.allSettled(
      order.map(async (i) => {
        const output: PointOutput = await pool.run(points[i], opts.signal ?? null);
        // A point can finish in the same turn as the abort; it is still complete and kept.
        finish(i, output);
      }),
    );
    if (opts.signal?.aborted) throw new InterruptedError(done, points.length, opts.signal?.reason);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    if (!opts.pool) await pool.close();
  }
  return results;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

/** Shell convention: a process ended by signal N exits 128 + N (130 for Ctrl-C). */
export function interruptExitCode(reason: unknown): number {
  return 128 + (SIGNAL_NUMBERS[String(reason)] ?? 2);
}

/**
 * Runs `body` with an AbortSignal that SIGINT (Ctrl-C) and SIGTERM (a batch
 * system or Kubernetes stopping the job) abort, with the signal's name as
 * reason. A second signal exits at once: the checkpoint is already durable.
 */
export async function withInterrupts<T>(progress: { note(text: string): void }, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(interruptExitCode(name));
    progress.note(`locksim: ${name} received, stopping; finished points are kept (again to quit at once)`);
    controller.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
