// Bundles the compiled entry points (`npm run build`, after tsc) into one file
// each, in dist/bundle/: the CLI (`main.cjs`), the worker-thread file
// (`worker.cjs`) and the launch point of the benchmarks (`launchPoint.cjs`).
// A process then loads one file instead of ~130 modules (zod alone is ~95
// ESM files): ~30 ms less at every start of `locksim`, of a launch point and
// of each worker thread (docs/benchmarks.md, "Seventh session").
//
// Beside each bundle, an ES module stub of the entry point's name
// (`main.js`, what bin/locksim.js imports; `worker.js`, what the pool gives
// piscina; `launchPoint.js`) runs the bundle through src/bundleLoader.ts,
// which keeps V8's compiled code of it between processes (the code cache:
// another ~50 ms less at each start). The bundles are CommonJS text for
// that reason (vm.Script takes a code cache; Node 20 has none for ES
// modules): `import.meta` is the stub's, and each `import("pkg")` calls the
// stub's own import(), which a script compiled from a cache cannot do on
// Node 20.
//
// The bundle is only an optimisation: without esbuild (an install without
// dev dependencies and without tsx) this prints why and stops, and
// bin/locksim.js and the pool run the compiled modules of dist/ as before.
//
// Layout: dist/bundle/ is two levels below the project like every folder of
// dist/, so paths the modules compute from `import.meta.url` (models/,
// probes/, node_modules/.cache) resolve the same from a bundle, and the
// pool's `./worker.js` next to its module is the worker stub. Packages
// loaded where they are used (vega, resvg, mathjs, piscina, yaml, ...) stay
// outside: a bundle would parse them at every start. zod (~95 ESM files,
// loaded by every command) is inside; so are, in the CLI, the CommonJS
// packages it loads at every start (below).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * through src/report/html.ts and src/host/, cli-progress). Not in the worker
 * and the launch point, which never parse YAML (their models come from the
 * model cache; yamlLoad.ts requires yaml at the first parse, through the
 * `require` the loader gives the bundle).
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
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${pkg.engines.node.replace(/[^0-9.]/g, '')}`,
  // Shorter to parse (the start is what a bundle is for), names kept for readable stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  logLevel: 'warning',
  // The stub's import.meta (src/bundleLoader.ts passes it in).
  define: { 'import.meta': '__importMeta' },
  metafile: true,
  write: false,
};

/** The names an entry point exports, read from an ES module build of it (nothing written). */
async function exportNames(entry, external) {
  const r = await esbuild.build({ ...common, format: 'esm', outExtension: {}, define: {}, sourcemap: false, entryPoints: [entry], external });
  return Object.values(r.metafile.outputs).find((o) => o.entryPoint !== undefined).exports;
}

/** A package's `import("pkg")` in bundled code, given to the stub's import() (see above). */
const DYNAMIC_IMPORT = /\bimport\(("[^"\\]+")\)/g;

/**
 * Bundles `entries` ({ name: compiled entry point }) into dist/bundle/NAME.cjs,
 * and, with `stubs`, writes the ES module stub NAME.js that runs each. A
 * bundle without a stub is loaded by name (the charts'), with no import() to
 * call: any import() in it is refused.
 */
async function bundle(entries, external, { stubs = true, alias } = {}) {
  const r = await esbuild.build({ ...common, entryPoints: entries, external, ...(alias ? { alias } : {}) });
  const hashes = new Map();
  for (const out of r.outputFiles) {
    let text = out.text;
    if (out.path.endsWith('.cjs')) {
      if (stubs) text = text.replace(DYNAMIC_IMPORT, '__locksimImport($1)');
      // Any other import() (a computed specifier) would fail once the bundle runs from the code cache: refuse to build it.
      const left = /\bimport\(/.exec(text);
      if (left) throw new Error(`bundle: ${out.path} calls import()${stubs ? ' with something other than a package name' : ''} at ${left.index}: src/bundleLoader.ts cannot pass it on`);
    }
    writeFileSync(out.path, text);
    hashes.set(out.path, createHash('sha256').update(text).digest('hex'));
  }
  if (!stubs) return;
  for (const [name, entry] of Object.entries(entries)) {
    const names = await exportNames(entry, external);
    const lines = names.map((n) => (n === 'default' ? 'export default bundle.default;' : `export const ${n} = bundle.${n};`));
    writeFileSync(
      join(root, 'dist/bundle', `${name}.js`),
      `// Written by scripts/bundle.mjs: runs ${name}.cjs (${entry} bundled) with V8's code cache, src/bundleLoader.ts.\n` +
        // The bundled modules' import.meta.url is this file's, so the model cache's fingerprint of the
        // validating code (src/config/modelCache.ts) reads this text: the bundle's hash makes it change with the bundle.
        `// ${name}.cjs sha256 ${hashes.get(join(root, 'dist/bundle', `${name}.cjs`))}\n` +
        `import { loadBundle } from '../bundleLoader.js';\n` +
        `const bundle = loadBundle(import.meta, './${name}.cjs', (specifier) => import(specifier)).exports;\n` +
        lines.join('\n') + '\n',
    );
  }
}

// esbuild writes nothing itself here (write: false): the files are rewritten first.
mkdirSync(join(root, 'dist/bundle'), { recursive: true });
// Bundles of an earlier build (ES modules, before the code cache) would otherwise stay beside the stubs.
for (const old of ['main.js.map', 'worker.js.map', 'launchPoint.js.map']) rmSync(join(root, 'dist/bundle', old), { force: true });
await bundle({ main: 'dist/cli/main.js' }, outside([...everywhere, ...inCli]));
await bundle({ worker: 'dist/runner/worker.js', launchPoint: 'dist/bench/launchPoint.js' }, outside(everywhere));
// vega and vega-lite for the charts (~90 ES module files: ~250 ms to import,
// ~80 ms as one bundle from the code cache), loaded by
// src/report/chartLibraries.ts at the first chart; no stub (nothing imports it
// by name). vega-canvas's Node build awaits import('canvas') at its top level,
// which a CommonJS bundle cannot hold: its browser build stands in, which does
// what the Node build does without the optional `canvas` package (not a
// dependency of locksim; charts.ts pins vega's text metrics to its estimate
// anyway): no canvas, `null`.
await bundle({ charts: 'dist/report/chartPackages.js' }, outside(['vega', 'vega-lite']), {
  stubs: false,
  alias: { 'vega-canvas': join(root, 'node_modules/vega-canvas/build/vega-canvas.browser.js') },
});
