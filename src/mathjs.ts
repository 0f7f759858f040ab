/**
 * mathjs, loaded on first use. Importing it takes over a second of start-up
 * on this project's 2-vCPU test host (~0.6 s on a faster one: hundreds of
 * ESM files and its typed-function set-up), and most locksim commands, even
 * `--help`, never need it. Every module that uses mathjs gets it from here
 * and imports only its types statically; test/startImports.test.ts fails
 * if a command's start loads it.
 */
import { createRequire } from 'node:module';

let loaded: typeof import('mathjs') | undefined;

export function mathjs(): typeof import('mathjs') {
  return (loaded ??= createRequire(import.meta.url)('mathjs') as typeof import('mathjs'));
}
