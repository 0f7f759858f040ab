/**
 * Validated model files kept between processes (issue 14). Parsing and
 * validating models/kernel/linux-6.6.yaml took ~40 ms and a hardware model
 * ~10 ms at every start of a process (a launch point, `locksim run` and each
 * of its worker threads), for a file that had not changed since the last run.
 *
 * An entry is the validated model as JSON, named by the SHA-256 of what the
 * result depends on: the model file's bytes, the kind of model, and the
 * validating code, that is the text of the module that validates and of
 * every module it imports from this package (found by reading their
 * `import ... from './...'` lines), with the versions of zod and yaml. An
 * edit of the file or of the validator therefore misses the cache; a file
 * that changes while it is being validated is not stored. Only a model that
 * comes back from JSON unchanged is stored (no Infinity, no undefined
 * values), and a file that fails validation stores nothing, so its error is
 * reported as before on every run.
 *
 * Where: `$LOCKSIM_CACHE_DIR` if set (`off` turns the cache off), else
 * `node_modules/.cache/locksim` of this checkout (the usual place for a
 * package's cache, removed by `npm ci`). A cache that cannot be read or
 * written is skipped without a word: it only saves time.
 *
 * Size: every build changes the validating code's fingerprint and every
 * edited model file its bytes, so entries that will never be read again
 * pile up (a development checkout had ~2,900, 32 MB, after a day and a
 * half). A hit renews its entry's time, and a store keeps the
 * KEEP_PER_KIND most recent entries of its kind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const defaultDir = resolve(here, '../../node_modules/.cache/locksim');

/** The cache folder, or null when the cache is off. Read at each call, so tests can point it elsewhere. */
export function modelCacheDir(): string | null {
  const env = process.env.LOCKSIM_CACHE_DIR;
  if (env === 'off') return null;
  return env !== undefined && env !== '' ? resolve(env) : defaultDir;
}

/** Entries kept per kind of model after a store: the most recently used (a hit renews an entry's time). */
export const KEEP_PER_KIND = 256;

const fingerprints = new Map<string, string>();

/** Matches a module's imports and re-exports of this package's modules (not `import type`, erased at run time). */
const LOCAL_IMPORT = /^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

/**
 * A hash of the validating code: the module at `moduleUrl`, every module of
 * this package it imports (transitively), and the versions of the libraries
 * that parse and validate.
 */
export function validatorFingerprint(moduleUrl: string): string {
  const known = fingerprints.get(moduleUrl);
  if (known !== undefined) return known;
  const hash = createHash('sha256');
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    hash.update(file).update('\0').update(text).update('\0');
    for (const m of text.matchAll(LOCAL_IMPORT)) visit(resolve(dirname(file), m[1]));
  };
  visit(fileURLToPath(moduleUrl));
  const require = createRequire(import.meta.url);
  for (const lib of ['zod', 'yaml']) hash.update(`${lib}@${(require(`${lib}/package.json`) as { version: string }).version}\0`);
  const digest = hash.digest('hex');
  fingerprints.set(moduleUrl, digest);
  return digest;
}

function contentKey(kind: string, fingerprint: string, bytes: Buffer): string {
  return createHash('sha256').update(kind).update('\0').update(fingerprint).update('\0').update(bytes).digest('hex');
}

function readBytes(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

/**
 * The validated model of `file`: from the cache when an entry for these
 * bytes and this validator exists, else `validate()` (which reads and
 * validates the file itself, and throws its usual error), stored for the
 * next process. `moduleUrl`: `import.meta.url` of the validating module.
 */
export function cachedValidation<T>(kind: string, file: string, moduleUrl: string, validate: () => T): T {
  const dir = modelCacheDir();
  const bytes = dir === null ? null : readBytes(file);
  if (dir === null || bytes === null) return validate();
  let fingerprint: string;
  try {
    fingerprint = validatorFingerprint(moduleUrl);
  } catch {
    return validate();
  }
  const key = contentKey(kind, fingerprint, bytes);
  const entry = join(dir, `${kind}-${key}.json`);
  const stored = readBytes(entry);
  if (stored !== null) {
    try {
      const model = JSON.parse(stored.toString('utf8')) as T;
      renew(entry);
      return model;
    } catch {
      // A damaged entry: validated again and replaced below.
    }
  }
  const model = validate();
  if (store(entry, model, () => {
    const now = readBytes(file);
    return now !== null && contentKey(kind, fingerprint, now) === key;
  })) pruneCache(dir, `${kind}-`, '.json', KEEP_PER_KIND);
  return model;
}

/** Marks a cache entry as just used (its modification time), so pruning keeps it. */
function renew(entry: string): void {
  try {
    const now = new Date();
    utimesSync(entry, now, now);
  } catch {
    // Read-only cache: it is only pruned by whoever can write it.
  }
}

/** Removes all but the `keep` most recently used files of `dir` named PREFIX...SUFFIX. */
export function pruneCache(dir: string, prefix: string, suffix: string, keep: number): void {
  try {
    const entries: { file: string; at: number }[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(prefix) || !name.endsWith(suffix)) continue;
      try {
        entries.push({ file: join(dir, name), at: statSync(join(dir, name)).mtimeMs });
      } catch {
        // Removed by another process meanwhile.
      }
    }
    if (entries.length <= keep) return;
    entries.sort((a, b) => b.at - a.at);
    for (const { file } of entries.slice(keep)) {
      try {
        unlinkSync(file);
      } catch {
        // Removed by another process meanwhile.
      }
    }
  } catch {
    // Unreadable folder: nothing to prune.
  }
}

/**
 * Creates `dir` and its missing parents (at most 8), one `mkdir` each.
 * Not `mkdirSync(dir, { recursive: true })`: where mkdir fails with ENOENT
 * under a parent that exists (a path under /proc, for one), Node 20's
 * recursive mkdir retries forever.
 */
function makeDir(dir: string): boolean {
  const missing: string[] = [];
  let d = dir;
  while (!existsSync(d)) {
    if (missing.length === 8 || dirname(d) === d) return false;
    missing.push(d);
    d = dirname(d);
  }
  for (let i = missing.length - 1; i >= 0; i--) mkdirSync(missing[i]);
  return true;
}

/** Writes the entry if the model survives JSON and the file did not change meanwhile; whether it was written. */
function store(entry: string, model: unknown, unchanged: () => boolean): boolean {
  let json: string | undefined;
  try {
    json = JSON.stringify(model);
    if (json === undefined || !isDeepStrictEqual(JSON.parse(json), model) || !unchanged()) return false;
  } catch {
    return false;
  }
  return writeCacheEntry(entry, json);
}

/**
 * Writes a cache entry whole: a temporary file renamed into place, so a
 * process (or worker thread) starting at the same time reads the old entry,
 * the new one or none, never half of one. False when it cannot be written
 * (read-only or full disk: no cache, same results).
 */
export function writeCacheEntry(entry: string, data: string | Uint8Array): boolean {
  let tmp: string | null = null;
  try {
    if (!makeDir(dirname(entry))) return false;
    tmp = `${entry}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, entry);
    tmp = null;
    return true;
  } catch {
    return false;
  } finally {
    if (tmp !== null) {
      try {
        unlinkSync(tmp);
      } catch {
        // Never written.
      }
    }
  }
}
