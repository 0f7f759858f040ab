/**
 * The checkpoint of a run under way: `.locksim-checkpoint.jsonl` in the output
 * directory. Line 1 is a header naming the run (hash of scenario, models and
 * file label; the shard, if any); every further line is one finished point
 * with its key, seed, metrics and artifacts. Lines are only ever appended and
 * each is fsync'd before the next point is reported, so after Ctrl-C, a kill
 * or a power loss the file holds every point that was reported finished, plus
 * at most one torn last line, which is dropped on load.
 *
 * A rerun into the same directory resumes from it; a successful run removes it.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../config/errors.ts';
import { formatPath } from '../config/yamlLoad.ts';
import type { Point } from '../config/points.ts';
import { formatNumber } from '../report/results.ts';
import type { PointOutput } from './kinds.ts';

export const CHECKPOINT_NAME = '.locksim-checkpoint.jsonl';

export interface CheckpointHeader {
  scenarioHash: string;
  /** "i/n" for a shard run, null for a whole run. */
  shard: string | null;
}

/**
 * JSON has no NaN or Infinity (JSON.stringify writes null); metrics keep their
 * JS names as strings, as results.json does, and are turned back on reading.
 */
export function encodeMetrics(metrics: Record<string, number>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [name, value] of Object.entries(metrics)) out[name] = Number.isFinite(value) ? value : formatNumber(value);
  return out;
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

export const metricsSchema = z.record(
  z.string(),
  z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform((name) => NON_FINITE[name]!)]),
);

export const artifactsSchema = z.array(z.object({ name: z.string(), content: z.string() }).strict()).optional();

/** One finished point as stored in a checkpoint line or a shard file. */
export const storedPointSchema = z
  .object({
    index: z.number().int().nonnegative(),
    key: z.string(),
    seed: z.string(),
    metrics: metricsSchema,
    artifacts: artifactsSchema,
  })
  .strict();

export type StoredPoint = z.output<typeof storedPointSchema>;

export function storePoint(index: number, point: Point, output: PointOutput): Record<string, unknown> {
  return { index, key: point.key, seed: point.seed, metrics: encodeMetrics(output.metrics), ...(output.artifacts ? { artifacts: output.artifacts } : {}) };
}

export function outputOf(stored: StoredPoint): PointOutput {
  return stored.artifacts ? { metrics: stored.metrics, artifacts: stored.artifacts } : { metrics: stored.metrics };
}

/** Checks that a stored point is the point at its index in this run (same key and seed). */
export function checkStoredPoint(stored: StoredPoint, points: Point[], file: string, line: number): void {
  const point = points[stored.index];
  if (!point) throw new InputError({ file, line, column: 1, field: 'index', expected: `a point index below ${points.length}`, got: String(stored.index) });
  if (point.key !== stored.key) throw new InputError({ file, line, column: 1, field: 'key', expected: JSON.stringify(point.key), got: JSON.stringify(stored.key) });
  if (point.seed !== stored.seed) throw new InputError({ file, line, column: 1, field: 'seed', expected: point.seed, got: stored.seed });
}

const headerSchema = z
  .object({ format: z.literal('locksim-checkpoint'), version: z.literal(1), scenarioHash: z.string(), shard: z.string().nullable() })
  .strict();

function parseLine<T>(text: string, file: string, line: number, schema: z.ZodType<T>): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError({ file, line, column: 1, field: '(syntax)', expected: 'one JSON object per line', got: (e as Error).message });
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new InputError({ file, line, column: 1, field: formatPath(issue.path), expected: issue.message });
}

export class Checkpoint {
  readonly path: string;
  /** Finished points by index (loaded from an earlier run plus those appended since). */
  readonly done = new Map<number, PointOutput>();
  private fd: number | undefined;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Opens the checkpoint in `dir` for a run of `points`: resumes from an
   * existing one of the same run, refuses one of another run (InputError
   * naming --fresh) unless `fresh`, which discards it.
   */
  static open(dir: string, header: CheckpointHeader, points: Point[], opts: { fresh?: boolean } = {}): Checkpoint {
    const cp = new Checkpoint(join(dir, CHECKPOINT_NAME));
    if (opts.fresh) rmSync(cp.path, { force: true });
    if (existsSync(cp.path)) cp.load(header, points);
    else {
      mkdirSync(dir, { recursive: true });
      cp.fd = openSync(cp.path, 'a', 0o644);
      cp.writeLine({ format: 'locksim-checkpoint', version: 1, ...header });
      syncDirectory(dir);
    }
    return cp;
  }

  private load(header: CheckpointHeader, points: Point[]): void {
    const text = readFileSync(this.path, 'utf8');
    const lines = text.split('\n');
    // The part after the last newline is a line torn by a crash mid-write (or empty): dropped.
    const torn = lines.pop()!;
    if (lines.length === 0) {
      // Even the header was torn: nothing was finished; start the file again.
      rmSync(this.path);
      this.fd = openSync(this.path, 'a', 0o644);
      this.writeLine({ format: 'locksim-checkpoint', version: 1, ...header });
      return;
    }
    const found = parseLine(lines[0]!, this.path, 1, headerSchema);
    const fresh = 'rerun with --fresh to discard it';
    if (found.scenarioHash !== header.scenarioHash) {
      throw new InputError({ file: this.path, line: 1, column: 1, field: 'scenarioHash', expected: `${header.scenarioHash} (the scenario, seed and models of this run; ${fresh})`, got: found.scenarioHash });
    }
    if (found.shard !== header.shard) {
      throw new InputError({ file: this.path, line: 1, column: 1, field: 'shard', expected: `${header.shard ?? 'no shard'} (this run's --shard; ${fresh})`, got: found.shard ?? 'no shard' });
    }
    for (let i = 1; i < lines.length; i++) {
      const stored = parseLine(lines[i]!, this.path, i + 1, storedPointSchema);
      checkStoredPoint(stored, points, this.path, i + 1);
      this.done.set(stored.index, outputOf(stored));
    }
    if (torn !== '') truncateSync(this.path, Buffer.byteLength(text) - Buffer.byteLength(torn));
    this.fd = openSync(this.path, 'a', 0o644);
  }

  private writeLine(value: unknown): void {
    if (this.fd === undefined) throw new Error('checkpoint is closed');
    writeSync(this.fd, JSON.stringify(value) + '\n');
    fsyncSync(this.fd);
  }

  /** Records a finished point durably. */
  append(index: number, point: Point, output: PointOutput): void {
    this.writeLine(storePoint(index, point, output));
    this.done.set(index, output);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** After the result files are in place the checkpoint has served its purpose. */
  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }
}

function syncDirectory(dir: string): void {
  // Makes the new file's directory entry durable; best effort where fsync on a directory is refused.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}
