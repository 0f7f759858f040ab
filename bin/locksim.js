#!/usr/bin/env node
// Entry point. Runs the JavaScript that `npm ci` compiled into dist/ (fast
// start: nothing to compile). When dist/ is missing (installed with
// --ignore-scripts) or older than a file in src/ (a developer edited the
// sources), it runs the sources through tsx instead, so a stale build is never
// what runs; `npm run build` refreshes dist/. Of the build it prefers the
// bundle (dist/bundle/main.js, one file: a shorter start; scripts/bundle.mjs)
// to the compiled modules (dist/cli/main.js), each when it is current.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'bundle', 'main.js');
const compiled = join(root, 'dist', 'cli', 'main.js');

function isCurrent(built) {
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  const src = join(root, 'src');
  for (const name of readdirSync(src, { recursive: true })) {
    if (name.endsWith('.ts') && statSync(join(src, name)).mtimeMs > builtAt) return false;
  }
  return true;
}

let main;
const built = [bundle, compiled].find(isCurrent);
if (built !== undefined) {
  ({ main } = await import(pathToFileURL(built).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href));
}
process.exitCode = await main(process.argv.slice(2));
