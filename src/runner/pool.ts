/**
 * Runs a list of points, in this thread or on a piscina worker pool. Results
 * come back in the order of the list, whatever order workers finish in, and
 * each point is seeded by its own key, so 1 or N workers give identical bytes.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Point } from '../config/points.ts';
import { simulatePoint, type PointOutput } from './kinds.ts';

export interface PoolOptions {
  workers: number;
  /** Called after each finished point (for progress display). */
  onPoint?: (done: number, total: number, point: Point) => void;
}

export async function simulatePoints(points: Point[], opts: PoolOptions): Promise<PointOutput[]> {
  const results: PointOutput[] = new Array(points.length);
  let done = 0;
  if (opts.workers <= 1 || points.length <= 1) {
    for (let i = 0; i < points.length; i++) {
      results[i] = simulatePoint(points[i]);
      opts.onPoint?.(++done, points.length, points[i]);
    }
    return results;
  }
  const pool = new Piscina({
    filename: fileURLToPath(new URL('./worker.ts', import.meta.url)),
    maxThreads: opts.workers,
    minThreads: opts.workers,
    // Workers load TypeScript through tsx, like the main thread.
    execArgv: [...process.execArgv.filter((a) => !a.startsWith('--cpu-prof')), '--import', 'tsx'],
  });
  try {
    // Longest points first keeps both workers busy to the end (a cheap guess: x is the load).
    const order = points.map((_, i) => i).sort((a, b) => points[b].x - points[a].x || a - b);
    await Promise.all(
      order.map(async (i) => {
        results[i] = await pool.run(points[i]);
        opts.onPoint?.(++done, points.length, points[i]);
      }),
    );
  } finally {
    await pool.destroy();
  }
  return results;
}
