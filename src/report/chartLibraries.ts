/**
 * vega and vega-lite, the libraries that draw the charts, loaded at the first
 * chart (every command that draws none never loads them).
 *
 * Importing the two packages took ~250 ms on the development machine (~90
 * ES module files found, read and compiled at each run); the build bundles
 * them into dist/bundle/charts.cjs (scripts/bundle.mjs, from chartPackages.ts)
 * and src/bundleLoader.ts runs that file from V8's code
 * cache: ~80 ms (docs/benchmarks.md, "Code cache"). From the sources (tsx,
 * the tests) or a build without esbuild there is no bundle, and the packages
 * are imported as they are: the same code, so the same charts
 * (test/bundle.test.ts compares the bytes).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadBundle } from '../bundleLoader.ts';

export interface ChartLibraries {
  vega: typeof import('vega');
  vegaLite: typeof import('vega-lite');
}

/** dist/bundle/charts.cjs from a module of dist/ (dist/report/ or dist/bundle/: both two levels below the project). */
const bundleFile = fileURLToPath(new URL('../bundle/charts.cjs', import.meta.url));

let loaded: Promise<ChartLibraries> | undefined;

/** The two libraries, loaded once per process (thread). */
export function chartLibraries(): Promise<ChartLibraries> {
  return (loaded ??= existsSync(bundleFile)
    ? Promise.resolve(loadBundle({ url: pathToFileURL(bundleFile).href }, './charts.cjs').exports as unknown as ChartLibraries)
    : Promise.all([import('vega'), import('vega-lite')]).then(([vega, vegaLite]) => ({ vega, vegaLite })));
}
