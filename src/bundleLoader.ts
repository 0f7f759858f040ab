/**
 * Loads a bundle of the build (dist/bundle/NAME.cjs, scripts/bundle.mjs) with
 * V8's code cache: the bytecode V8 compiled for the bundle the last time,
 * kept between processes, so a process does not parse and compile the same
 * ~1 MB of JavaScript again. Compiling the CLI's bundle took ~75 ms of the
 * ~0.3 s of `locksim --help` on the development machine, and every worker
 * thread and launch point pays the same for its own bundle
 * (docs/benchmarks.md, "Code cache"). Node 22 has this built in
 * (module.enableCompileCache); Node 20, which locksim supports, does not
 * have it for ES modules, so the bundles are CommonJS text run through
 * `vm.Script`, whose `cachedData` is V8's code cache.
 *
 * The ES module stubs beside the bundles (dist/bundle/main.js, worker.js,
 * launchPoint.js, written by scripts/bundle.mjs) call `loadBundle` and
 * re-export what the bundle exports; they give it their `import.meta` (the
 * bundled modules compute paths from `import.meta.url`, which in a bundle is
 * the stub's: dist/bundle/, two levels below the project like every folder
 * of dist/) and an `import()` of their own, since a script compiled from a
 * code cache on Node 20 cannot call `import()` itself ("A dynamic import
 * callback was not specified"): the bundle's `import("pkg")` calls are
 * rewritten to call it.
 *
 * The cache entry is named by the SHA-256 of the bundle's text, Node's
 * version and the architecture: V8 itself only checks the text's length, so
 * an edited bundle of the same length must not find the old entry. V8 also
 * rejects an entry made with other V8 flags; such an entry is replaced.
 * Where: the model cache's folder (`$LOCKSIM_CACHE_DIR`, `off` turns both
 * caches off; else node_modules/.cache/locksim), under `code/`. The entry is
 * V8's bytecode for code of this package, written by this package into its
 * own node_modules: whoever can change it can change node_modules itself. A
 * cache that cannot be read or written is skipped: it only saves time.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { modelCacheDir, pruneCache, writeCacheEntry } from './config/modelCache.ts';

/** The arguments a bundle's text sees, as a CommonJS module's with the stub's `import.meta` and `import()`. */
const HEAD = '(function (exports, require, module, __filename, __dirname, __importMeta, __locksimImport) {';
const TAIL = '\n})';

/** What happened to the code cache: read and accepted, written (none or a rejected one before), or not used. */
export type CodeCacheUse = 'used' | 'written' | 'off' | 'unwritable';

export interface LoadedBundle {
  exports: Record<string, unknown>;
  cache: CodeCacheUse;
}

/**
 * Runs bundle `name` (a file next to `meta.url`) and returns its exports.
 * `meta` is what the bundled code sees as `import.meta` (a stub's own);
 * `importPackage` is the stub's `import()`.
 */
export function loadBundle(meta: { url: string }, name: string, importPackage: (specifier: string) => Promise<unknown> = noImport): LoadedBundle {
  const file = fileURLToPath(new URL(name, meta.url));
  const source = readFileSync(file, 'utf8');
  const root = modelCacheDir();
  const entry = root === null ? null : join(root, 'code', `${basename(file)}-${createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}`).digest('hex').slice(0, 32)}.v8`);
  const cachedData = entry === null ? undefined : readOrUndefined(entry);
  const script = new vm.Script(HEAD + source + TAIL, { filename: file, cachedData });
  const module = { exports: {} as Record<string, unknown> };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file), meta, importPackage);
  let cache: CodeCacheUse = 'off';
  if (entry !== null) {
    cache = cachedData !== undefined && !script.cachedDataRejected ? 'used' : store(entry, script.createCachedData()) ? 'written' : 'unwritable';
  }
  return { exports: module.exports, cache };
}

/** For a bundle that imports no package at run time (the charts'). */
function noImport(specifier: string): Promise<unknown> {
  return Promise.reject(new Error(`this bundle was loaded without a way to import packages (asked for ${specifier})`));
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes the entry and removes the bundle's older ones (another build's, another Node's). */
function store(entry: string, data: Buffer): boolean {
  if (!writeCacheEntry(entry, data)) return false;
  pruneCache(dirname(entry), basename(entry).replace(/-[0-9a-f]+\.v8$/, '-'), '.v8', 1);
  return true;
}
