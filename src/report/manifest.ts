/**
 * The manifest of an output directory (issue 11): `manifest.json` lists the
 * files one run wrote there and names its scenario. It decides two things:
 *
 * - whether `--out DIR` may be written: an empty or missing directory, or one
 *   holding an earlier run of the same scenario (its manifest, a checkpoint or
 *   shard files of an interrupted or sharded run), yes; anything else is
 *   refused before the run starts unless `--force`, so a run never overwrites
 *   files it did not make;
 * - what `report` reads: only the files the manifest lists, never an older
 *   run's profiles left beside them.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../config/errors.ts';
import { atomicWrite } from './atomicWrite.ts';

export const MANIFEST_NAME = 'manifest.json';
const FORMAT = 'locksim-manifest';

export interface Manifest {
  format: typeof FORMAT;
  version: 1;
  scenario: string;
  /** Files of the run, in the order written; the manifest itself is not listed. */
  files: string[];
}

export function manifestFile(scenario: string, files: string[]): { name: string; content: string } {
  const manifest: Manifest = { format: FORMAT, version: 1, scenario, files: files.filter((f) => f !== MANIFEST_NAME) };
  return { name: MANIFEST_NAME, content: JSON.stringify(manifest, null, 2) + '\n' };
}

/** The manifest in `dir`, or undefined when there is none or it is not one of ours. */
export function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST_NAME);
  if (!existsSync(path)) return undefined;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<Manifest>;
    if (m.format !== FORMAT || typeof m.scenario !== 'string' || !Array.isArray(m.files) || !m.files.every((f) => typeof f === 'string' && !f.includes('/') && !f.includes('\\'))) return undefined;
    return m as Manifest;
  } catch {
    return undefined;
  }
}

/** Names a run of locksim leaves besides the manifest's files: checkpoint, shard files, temp files of atomic writes, the HTML report. */
function isRunByproduct(name: string): boolean {
  return name === '.locksim-checkpoint.jsonl' || /^shard-\d+-of-\d+\.json$/.test(name) || /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name) || name === 'report.html';
}

/**
 * Refuses (InputError, exit 2, nothing touched) an output directory that holds
 * anything but an earlier run of `scenario`, unless `force`.
 */
export function checkOutputDir(dir: string, scenario: string, force = false): void {
  if (force || !existsSync(dir)) return;
  refuseFileAsOutDir(dir, 'a directory (or a path to create one)');
  const manifest = readManifest(dir);
  if (manifest && manifest.scenario !== scenario) {
    throw new InputError({ file: 'command line', line: 1, column: 1, field: '--out', expected: `an empty directory or an earlier run of ${scenario} (--force writes into it anyway)`, got: `${JSON.stringify(dir)} with a run of ${manifest.scenario}` });
  }
  const ours = new Set([MANIFEST_NAME, ...(manifest?.files ?? [])]);
  const others = readdirSync(dir).filter((n) => !ours.has(n) && !isRunByproduct(n)).sort();
  if (others.length > 0) {
    const shown = others.slice(0, 3).join(', ') + (others.length > 3 ? ', ...' : '');
    throw new InputError({ file: 'command line', line: 1, column: 1, field: '--out', expected: `an empty directory or an earlier run of ${scenario} (--force writes into it anyway)`, got: `${JSON.stringify(dir)} holding ${others.length} other file${others.length === 1 ? '' : 's'} (${shown})` });
  }
}

/** An --out that exists as a file is one line naming --out and what was `expected`. */
export function refuseFileAsOutDir(dir: string, expected: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new InputError({ file: 'command line', line: 1, column: 1, field: '--out', expected, got: `${JSON.stringify(dir)}, a file` });
  }
}

/** Adds files written into `dir` after the run's own (e.g. by `attribute`) to its manifest, so reruns and `report` know them. */
export async function addToManifest(dir: string, scenario: string, names: string[]): Promise<void> {
  const files = [...(readManifest(dir)?.files ?? [])];
  for (const n of names) if (!files.includes(n)) files.push(n);
  await atomicWrite(join(dir, MANIFEST_NAME), manifestFile(scenario, files).content);
}

/** Removes files an earlier run listed that the new run did not write again (stale profiles of points no longer in the scenario). */
export function removeStaleFiles(dir: string, previous: Manifest | undefined, written: string[]): void {
  if (!previous) return;
  const now = new Set(written);
  for (const name of previous.files) if (!now.has(name)) rmSync(join(dir, name), { force: true });
}

/** The files of `dir` that `report` may read: the manifest's, or (for a directory from before manifests) every file present. */
export function runFiles(dir: string): string[] {
  const manifest = readManifest(dir);
  if (manifest) return manifest.files.filter((f) => existsSync(join(dir, f)));
  return readdirSync(dir);
}
