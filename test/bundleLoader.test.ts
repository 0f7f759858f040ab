// src/bundleLoader.ts: a bundle runs from V8's code cache kept between
// processes, the entry is named by the bundle's bytes (V8 checks only their
// length), a rejected or unwritable cache never changes what runs, and a
// bundle compiled from the cache still reaches import() through its stub.
// Each load is a process of its own: within one process V8 finds a script it
// compiled before in its own memory and never reads the cache.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

let dir: string;
let cacheDir: string;
const savedEnv = process.env.LOCKSIM_CACHE_DIR;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-loader-'));
  cacheDir = join(dir, 'cache');
  process.env.LOCKSIM_CACHE_DIR = cacheDir;
});
afterEach(() => {
  if (savedEnv === undefined) delete process.env.LOCKSIM_CACHE_DIR;
  else process.env.LOCKSIM_CACHE_DIR = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

/** A bundle's text as scripts/bundle.mjs writes it: CommonJS with the stub's import.meta and import(). */
function writeBundle(answer: number): void {
  const body = Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${answer}; }`).join('\n');
  writeFileSync(join(dir, 'b.cjs'), `${body}\nexports.answer = f1(0);\nexports.metaUrl = __importMeta.url;\nexports.path = () => __locksimImport('node:path');\n`);
}
const stubUrl = () => pathToFileURL(join(dir, 'b.js')).href;

interface Loaded {
  cache: string;
  exports: { answer: number; metaUrl: string };
  pathJoin: string;
}

/** Loads the bundle in a new process, as a stub does, and reports what it found. */
function load(): Loaded {
  const driver = `
    import { loadBundle } from ${JSON.stringify(pathToFileURL(resolve('src/bundleLoader.ts')).href)};
    const r = loadBundle({ url: ${JSON.stringify(stubUrl())} }, './b.cjs', (s) => import(s));
    const path = await r.exports.path();
    process.stdout.write(JSON.stringify({ cache: r.cache, exports: { answer: r.exports.answer, metaUrl: r.exports.metaUrl }, pathJoin: typeof path.join }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', driver], { encoding: 'utf8', env: process.env, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Loaded;
}
const entries = () => (existsSync(join(cacheDir, 'code')) ? readdirSync(join(cacheDir, 'code')) : []);

describe('bundleLoader: V8 code cache of a bundle', () => {
  it('writes the cache at the first load and runs from it at the next', () => {
    writeBundle(42);
    const first = load();
    expect(first.cache).toBe('written');
    expect(first.exports.answer).toBe(42);
    expect(entries()).toHaveLength(1);
    const second = load();
    expect(second.cache).toBe('used');
    expect(second.exports.answer).toBe(42);
    expect(second.exports.metaUrl).toBe(stubUrl());
    // import() from code compiled out of the cache goes through the stub's own.
    expect(second.pathJoin).toBe('function');
  });

  it('an edited bundle of the same length misses the old entry, which is removed', () => {
    writeBundle(42);
    load();
    const before = entries();
    writeBundle(43);
    const edited = load();
    expect(edited.cache).toBe('written');
    expect(edited.exports.answer).toBe(43);
    expect(entries()).toHaveLength(1);
    expect(entries()).not.toEqual(before);
  });

  it('an entry V8 rejects is replaced and the bundle runs as written', () => {
    writeBundle(42);
    load();
    const [entry] = entries();
    writeFileSync(join(cacheDir, 'code', entry!), Buffer.alloc(4096, 7));
    const r = load();
    expect(r.cache).toBe('written');
    expect(r.exports.answer).toBe(42);
    expect(load().cache).toBe('used');
  });

  it('off and unwritable caches (a file in the way, a folder under /proc) load the bundle without one', () => {
    writeBundle(42);
    process.env.LOCKSIM_CACHE_DIR = 'off';
    expect(load()).toMatchObject({ cache: 'off', exports: { answer: 42 } });
    expect(existsSync(cacheDir)).toBe(false);
    // A file where the cache folder would be: nothing can be written under it.
    writeFileSync(cacheDir, 'not a folder');
    process.env.LOCKSIM_CACHE_DIR = cacheDir;
    expect(load()).toMatchObject({ cache: 'unwritable', exports: { answer: 42 }, pathJoin: 'function' });
    // Under /proc, where Node 20's recursive mkdir never returns (modelCache.ts makeDir).
    if (existsSync('/proc/self')) {
      process.env.LOCKSIM_CACHE_DIR = '/proc/locksim-loader-test/x';
      expect(load()).toMatchObject({ cache: 'unwritable', exports: { answer: 42 } });
    } else {
      console.log('skipped: /proc part (no /proc on this host)');
    }
  });
});
