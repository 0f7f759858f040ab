// The cache of validated model files (src/config/modelCache.ts): a second
// process takes the validated model from the cache instead of parsing and
// validating the file again, and nothing stale is ever used: a changed file,
// a changed validator, a damaged entry or a file that fails validation all
// go through validation again. And it does not grow without end: a store
// keeps the most recently used entries of its kind.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../src/config/errors.ts';
import { cachedValidation, KEEP_PER_KIND, modelCacheDir } from '../src/config/modelCache.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { loadKernelModel, parseKernelModelText, defaultKernelModelsDir } from '../src/workload/kernelModel.ts';

let dir: string;
let saved: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-model-cache-'));
  saved = process.env.LOCKSIM_CACHE_DIR;
  process.env.LOCKSIM_CACHE_DIR = join(dir, 'cache');
});
afterEach(() => {
  if (saved === undefined) delete process.env.LOCKSIM_CACHE_DIR;
  else process.env.LOCKSIM_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

/** A validator that counts its runs: parses `key: number` lines, refuses anything else. */
function counting(file: string) {
  let runs = 0;
  const validate = () => {
    runs++;
    const out: Record<string, number> = {};
    for (const line of readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '')) {
      const [k, v] = line.split(':').map((s) => s.trim());
      if (!/^\d+$/.test(v)) throw new InputError({ file, line: 1, column: 1, field: k, expected: 'a number', got: JSON.stringify(v) });
      out[k] = Number(v);
    }
    return out;
  };
  return { validate, runs: () => runs };
}

describe('validated models kept between runs', () => {
  it('validates a file once; the next load with the same bytes and validator comes from the cache', () => {
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\nb: 2\n');
    const v = counting(file);
    const first = cachedValidation('test', file, import.meta.url, v.validate);
    const second = cachedValidation('test', file, import.meta.url, v.validate);
    expect(second).toEqual({ a: 1, b: 2 });
    expect(second).toEqual(first);
    expect(v.runs()).toBe(1);
  });

  it('never answers a changed file from the cache', () => {
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\n');
    const v = counting(file);
    expect(cachedValidation('test', file, import.meta.url, v.validate)).toEqual({ a: 1 });
    writeFileSync(file, 'a: 2\n');
    expect(cachedValidation('test', file, import.meta.url, v.validate)).toEqual({ a: 2 });
    expect(v.runs()).toBe(2);
    // Back to the first text: its entry is still right.
    writeFileSync(file, 'a: 1\n');
    expect(cachedValidation('test', file, import.meta.url, v.validate)).toEqual({ a: 1 });
    expect(v.runs()).toBe(2);
  });

  it('keeps an entry per validator: another validating module (or kind of model) validates again', () => {
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\n');
    const v = counting(file);
    cachedValidation('test', file, import.meta.url, v.validate);
    cachedValidation('other', file, import.meta.url, v.validate);
    const kernelModule = new URL('../src/workload/kernelModel.ts', import.meta.url).href;
    cachedValidation('test', file, kernelModule, v.validate);
    expect(v.runs()).toBe(3);
  });

  it('stores nothing for a file that fails validation: its error comes on every load, even after a valid version was cached', () => {
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\n');
    const v = counting(file);
    cachedValidation('test', file, import.meta.url, v.validate);
    writeFileSync(file, 'a: x\n');
    expect(() => cachedValidation('test', file, import.meta.url, v.validate)).toThrow(InputError);
    expect(() => cachedValidation('test', file, import.meta.url, v.validate)).toThrow(InputError);
    expect(readdirSync(modelCacheDir()!)).toHaveLength(1);
  });

  it('validates again when an entry is damaged, and replaces it', () => {
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\n');
    const v = counting(file);
    cachedValidation('test', file, import.meta.url, v.validate);
    const [entry] = readdirSync(modelCacheDir()!);
    writeFileSync(join(modelCacheDir()!, entry), '{"a": 1');
    expect(cachedValidation('test', file, import.meta.url, v.validate)).toEqual({ a: 1 });
    expect(v.runs()).toBe(2);
    expect(cachedValidation('test', file, import.meta.url, v.validate)).toEqual({ a: 1 });
    expect(v.runs()).toBe(2);
  });

  it('stores only what JSON gives back unchanged', () => {
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\n');
    let runs = 0;
    const validate = () => {
      runs++;
      return { a: Infinity, b: undefined };
    };
    cachedValidation('test', file, import.meta.url, validate);
    expect(cachedValidation('test', file, import.meta.url, validate)).toEqual({ a: Infinity, b: undefined });
    expect(runs).toBe(2);
  });

  it('is skipped when it cannot be written: a folder under a file, a folder under /proc (where a recursive mkdir never returns)', () => {
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\n');
    const v = counting(file);
    process.env.LOCKSIM_CACHE_DIR = join(file, 'cache');
    expect(cachedValidation('test', file, import.meta.url, v.validate)).toEqual({ a: 1 });
    if (existsSync('/proc/self')) {
      process.env.LOCKSIM_CACHE_DIR = '/proc/locksim-model-cache-test/x';
      expect(cachedValidation('test', file, import.meta.url, v.validate)).toEqual({ a: 1 });
      expect(v.runs()).toBe(2);
    } else {
      console.log('skipped: /proc part (no /proc on this host)');
    }
  });

  it('keeps the most recently used entries of a kind: a hit renews its entry, a store removes the oldest beyond KEEP_PER_KIND', () => {
    const cache = modelCacheDir()!;
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\n');
    const v = counting(file);
    cachedValidation('test', file, import.meta.url, v.validate);
    const [used] = readdirSync(cache);
    // Entries of older builds, the one in use among the oldest, and another kind's.
    mkdirSync(cache, { recursive: true });
    const old = new Date(Date.UTC(2026, 0, 1));
    for (let i = 0; i < KEEP_PER_KIND + 20; i++) {
      const f = join(cache, `test-${i.toString(16).padStart(64, '0')}.json`);
      writeFileSync(f, '{}');
      utimesSync(f, old, new Date(old.getTime() + i * 1000));
    }
    utimesSync(join(cache, used!), old, old);
    writeFileSync(join(cache, 'other-0.json'), '{}');
    utimesSync(join(cache, 'other-0.json'), old, old);
    // A hit: the entry's time is now.
    cachedValidation('test', file, import.meta.url, v.validate);
    expect(v.runs()).toBe(1);
    expect(statSync(join(cache, used!)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    // A store (another file): the kind is cut to KEEP_PER_KIND, the newest kept.
    const second = join(dir, 'n.yaml');
    writeFileSync(second, 'b: 2\n');
    cachedValidation('test', second, import.meta.url, counting(second).validate);
    const left = readdirSync(cache).filter((f) => f.startsWith('test-'));
    expect(left).toHaveLength(KEEP_PER_KIND);
    expect(left).toContain(used);
    expect(left).toContain(`test-${(KEEP_PER_KIND + 19).toString(16).padStart(64, '0')}.json`);
    expect(left).not.toContain(`test-${(0).toString(16).padStart(64, '0')}.json`);
    expect(existsSync(join(cache, 'other-0.json'))).toBe(true);
  });

  it('is off with LOCKSIM_CACHE_DIR=off', () => {
    process.env.LOCKSIM_CACHE_DIR = 'off';
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'a: 1\n');
    const v = counting(file);
    cachedValidation('test', file, import.meta.url, v.validate);
    cachedValidation('test', file, import.meta.url, v.validate);
    expect(v.runs()).toBe(2);
  });

  it('gives the kernel and hardware models exactly as validation does', () => {
    // Copies under new paths, so the loaders' in-process caches do not answer.
    const kernel = join(dir, 'kernel.yaml');
    copyFileSync(join(defaultKernelModelsDir, 'linux-6.6.yaml'), kernel);
    const hw = join(dir, 'hw.yaml');
    copyFileSync(new URL('../models/hardware/r5.metal.yaml', import.meta.url), hw);
    const fresh = parseKernelModelText(readFileSync(kernel, 'utf8'), kernel);
    const viaCache = loadKernelModel(kernel);
    expect(readdirSync(modelCacheDir()!).filter((f) => f.startsWith('kernel-'))).toHaveLength(1);
    const cachedCopy = join(dir, 'kernel2.yaml');
    copyFileSync(kernel, cachedCopy);
    const fromCache = loadKernelModel(cachedCopy);
    expect(fromCache).toEqual(fresh);
    expect(viaCache).toEqual(fresh);
    expect(JSON.stringify(fromCache)).toBe(JSON.stringify(fresh));
    expect(Object.isFrozen(fromCache.costs)).toBe(true);
    const hwModel = loadHardwareModel(hw);
    const hw2 = join(dir, 'hw2.yaml');
    copyFileSync(hw, hw2);
    expect(JSON.stringify(loadHardwareModel(hw2))).toBe(JSON.stringify(hwModel));
    expect(readdirSync(modelCacheDir()!).filter((f) => f.startsWith('hardware-'))).toHaveLength(1);
  });
});
