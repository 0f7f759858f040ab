/**
 * Shards: `locksim run SCENARIO --shard i/n` simulates the points whose index
 * (position in resolvePoints order) mod n is i - 1, and writes
 * `shard-i-of-n.json`; `locksim merge` joins shard files into the result
 * files a single run writes, byte for byte.
 *
 * Index mod n, not a hash of the key: points are listed variant by variant
 * with x rising, so striding deals every shard a share of the cheap and the
 * expensive points, and any n gives shards that differ in size by at most
 * one point. The assignment depends on the scenario only, which the shard
 * file's hash pins, so it cannot drift between shards of one run.
 *
 * A shard file carries everything merge needs without the scenario file or
 * model files: the run's identity (resolved scenario, file label, models,
 * program version), its hash, and the shard's points with metrics and artifacts.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { checkOutputDir } from '../report/manifest.ts';
import { InputError } from '../config/errors.ts';
import { resolvePoints, type Point } from '../config/points.ts';
import type { Scenario } from '../config/scenarioSchema.ts';
import { YamlSource, formatPath, readInputFile } from '../config/yamlLoad.ts';
import { formatNumber } from '../report/results.ts';
import type { OutputFile } from '../report/atomicWrite.ts';
import type { PointOutput } from './kinds.ts';
import { checkStoredPoint, outputOf, storePoint, storedPointSchema } from './checkpoint.ts';
import { runHash, writeRunOutputs, type RunIdentity, type ScenarioRun } from './runScenario.ts';

/** Shard `index` (1-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

export const SHARD_FILE_PATTERN = /^shard-(\d+)-of-(\d+)\.json$/;

/** Parses `i/n` with 1 <= i <= n; undefined for anything else. */
export function parseShardSpec(text: string): ShardSpec | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && index >= 1 && index <= count ? { index, count } : undefined;
}

export function formatShard(spec: ShardSpec): string {
  return `${spec.index}/${spec.count}`;
}

export function shardFileName(spec: ShardSpec): string {
  return `shard-${spec.index}-of-${spec.count}.json`;
}

/** Indices of the points shard `spec` simulates, out of `total`. */
export function shardIndices(total: number, spec: ShardSpec): number[] {
  const out: number[] = [];
  for (let i = spec.index - 1; i < total; i += spec.count) out.push(i);
  return out;
}

/** JSON without NaN/Infinity: they are written by name, like results.json does. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? formatNumber(value) : value;
}

export function shardFile(
  spec: ShardSpec,
  run: { scenarioHash: string; identity: RunIdentity; scenario: Scenario; points: Point[]; selected: number[]; outputs: Map<number, PointOutput> },
): OutputFile {
  const content = {
    format: 'locksim-shard',
    version: 1,
    scenarioHash: run.scenarioHash,
    shard: spec,
    totalPoints: run.points.length,
    // Kept in file order, not sorted: the order of sweep keys names the variants.
    identity: run.identity,
    points: run.selected.map((i) => storePoint(i, run.points[i]!, run.outputs.get(i)!)),
  };
  return { name: shardFileName(spec), content: JSON.stringify(content, jsonReplacer, 1) + '\n' };
}

const shardSchema = z
  .object({
    format: z.literal('locksim-shard'),
    version: z.literal(1),
    scenarioHash: z.string().regex(/^[0-9a-f]{64}$/),
    shard: z.object({ index: z.number().int().positive(), count: z.number().int().positive() }).strict(),
    totalPoints: z.number().int().nonnegative(),
    identity: z
      .object({
        scenario: z.object({ name: z.string(), kind: z.string(), file: z.string().optional(), seed: z.union([z.number(), z.string()]), resolved: z.record(z.string(), z.unknown()) }).strict(),
        models: z.record(z.string(), z.unknown()),
        xLabel: z.string(),
        createdBy: z.string(),
      })
      .strict(),
    points: z.array(storedPointSchema),
  })
  .strict();

export interface LoadedShard {
  file: string;
  data: z.output<typeof shardSchema>;
}

export function readShardFile(file: string): LoadedShard {
  const text = readInputFile(file, 'a readable shard file');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The YAML parser (a superset of JSON) locates the syntax error by line and column.
    new YamlSource(text, file);
    throw new InputError({ file, line: 1, column: 1, field: '(syntax)', expected: 'a JSON shard file' });
  }
  const r = shardSchema.safeParse(raw);
  if (!r.success) {
    // Only on failure is the file parsed again with positions.
    const issue = r.error.issues[0]!;
    const { line, column } = new YamlSource(text, file).locate(issue.path as PropertyKey[]);
    throw new InputError({ file, line, column, field: formatPath(issue.path as PropertyKey[]), expected: issue.message });
  }
  return { file, data: r.data };
}

/** Shard files named on the command line: files as given, directories by their shard-*-of-*.json files. */
export function findShardFiles(inputs: string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      throw new InputError({ file: input, line: 1, column: 1, field: '(file)', expected: 'a shard file or a directory holding shard files', got: 'no such file or directory' });
    }
    if (!isDir) {
      files.push(input);
      continue;
    }
    const found = readdirSync(input).filter((n) => SHARD_FILE_PATTERN.test(n)).sort();
    if (found.length === 0) throw new InputError({ file: input, line: 1, column: 1, field: '(directory)', expected: 'shard-I-of-N.json files (written by locksim run --shard I/N)', got: 'none' });
    files.push(...found.map((n) => join(input, n)));
  }
  return files;
}

export interface MergeOptions {
  outDir: string;
  /** Default: the scenario's output.charts. */
  charts?: boolean;
  /** Write into outDir even when it holds files that are not a run of this scenario. */
  force?: boolean;
}

/**
 * Checks that the shards come from one run and together hold every point
 * exactly once, then writes the result files a single run would have written.
 */
export async function mergeShards(inputs: string[], opts: MergeOptions): Promise<ScenarioRun & { shards: string[] }> {
  const shards = findShardFiles(inputs).map(readShardFile);
  const first = shards[0]!;
  const identity = first.data.identity as unknown as RunIdentity;
  for (const s of shards) {
    if (s.data.scenarioHash !== first.data.scenarioHash) {
      throw new InputError({ file: s.file, line: 1, column: 1, field: 'scenarioHash', expected: `${first.data.scenarioHash} as in ${first.file} (all shards from the same scenario, seed and models)`, got: s.data.scenarioHash });
    }
    // The hash is recomputed, not trusted: an edited or damaged identity would otherwise merge silently.
    const actual = runHash(s.data.identity as unknown as RunIdentity);
    if (actual !== s.data.scenarioHash) {
      throw new InputError({ file: s.file, line: 1, column: 1, field: 'identity', expected: `a run identity whose hash is the file's scenarioHash ${s.data.scenarioHash}`, got: `hash ${actual} (edited or damaged file)` });
    }
  }
  const scenario = identity.scenario.resolved as Scenario;
  const points = resolvePoints(scenario);
  const outputs: (PointOutput | undefined)[] = new Array(points.length);
  const from: string[] = new Array(points.length);
  for (const s of shards) {
    for (const stored of s.data.points) {
      checkStoredPoint(stored, points, s.file, 1);
      if (outputs[stored.index] !== undefined) {
        throw new InputError({ file: s.file, line: 1, column: 1, field: 'points', expected: 'every point in exactly one shard', got: `point ${stored.index} ${JSON.stringify(stored.key)} also in ${from[stored.index]}` });
      }
      outputs[stored.index] = outputOf(stored);
      from[stored.index] = s.file;
    }
  }
  const missing = points.map((_, i) => i).filter((i) => outputs[i] === undefined);
  if (missing.length > 0) {
    const count = first.data.shard.count;
    const m = missing[0]!;
    const given = shards.map((s) => formatShard(s.data.shard)).join(', ');
    throw new InputError({
      file: first.file,
      line: 1,
      column: 1,
      field: 'shards',
      expected: `shards covering all ${points.length} points; ${missing.length} missing, e.g. point ${m} ${JSON.stringify(points[m]!.key)} of shard ${(m % count) + 1}/${count}`,
      got: `shards ${given}`,
    });
  }
  // Like run: never over files another run or the user put there (shard files of this scenario are fine).
  checkOutputDir(opts.outDir, scenario.name, opts.force);
  const result = await writeRunOutputs(identity, scenario, points, outputs as PointOutput[], opts.outDir, opts.charts ?? scenario.output.charts);
  return { ...result, resumed: 0, shards: shards.map((s) => s.file) };
}
