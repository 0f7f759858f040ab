// Bundles the compiled entry points (`npm run build`, after tsc) into one file
// each, in dist/bundle/: the CLI (`main.js`, what bin/locksim.js imports), the
// worker-thread file (`worker.js`, what the pool gives piscina) and the launch
// point of the benchmarks (`launchPoint.js`). A process then loads one file
// instead of ~130 modules (zod alone is ~95 ESM files): ~30 ms less at every
// start of `locksim`, of a launch point and of each worker thread
// (docs/benchmarks.md, "Seventh session").
//
// The bundle is only an optimisation: without esbuild (an install without
// dev dependencies and without tsx) this prints why and stops, and
// bin/locksim.js and the pool run the compiled modules of dist/ as before.
//
// Layout: dist/bundle/ is two levels below the project like every folder of
// dist/, so paths the modules compute from `import.meta.url` (models/,
// probes/, node_modules/.cache) resolve the same from a bundle, and the
// pool's `./worker.js` next to its module is the worker bundle. Packages
// loaded where they are used (vega, resvg, mathjs, piscina, yaml, ...) stay
// outside: a bundle would parse them at every start. zod (~95 ESM files,
// loaded by every command) is inside; so are, in the CLI, the CommonJS
// packages it loads at every start (below).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * Bundled into every entry point: loaded at every start. Everything else in
 * `dependencies` stays a package, loaded where it is used.
 */
const everywhere = ['zod'];
/**
 * Also bundled into the CLI, which loads them at every start (commander; yaml
 * through src/report/html.ts and src/host/, cli-progress). They are CommonJS
 * and `require` Node's built-ins, which esbuild's ESM output can do only with
 * a `require` defined in the bundle (the banner). Not in the worker and the
 * launch point, which never parse YAML (their models come from the model
 * cache; yamlLoad.ts requires yaml at the first parse).
 */
const inCli = ['commander', 'yaml', 'cli-progress'];

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle: esbuild is not installed; dist/ runs unbundled (a slower start, the same results)\n');
  process.exit(0);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outside = (inside) => Object.keys(pkg.dependencies).filter((name) => !inside.includes(name));
const common = {
  absWorkingDir: root,
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: `node${pkg.engines.node.replace(/[^0-9.]/g, '')}`,
  // Shorter to parse (the start is what a bundle is for), names kept for readable stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  logLevel: 'warning',
  // CommonJS code in the bundle (and yamlLoad.ts's lazy require) calls `require`, undefined in an ES module.
  banner: { js: "import { createRequire as __locksimCreateRequire } from 'node:module'; const require = __locksimCreateRequire(import.meta.url);" },
};
await esbuild.build({ ...common, entryPoints: { main: 'dist/cli/main.js' }, external: outside([...everywhere, ...inCli]) });
await esbuild.build({ ...common, entryPoints: { worker: 'dist/runner/worker.js', launchPoint: 'dist/bench/launchPoint.js' }, external: outside(everywhere) });
