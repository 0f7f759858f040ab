/**
 * The CLI-level sample of the fuzz test (issue 11): for each input kind, the
 * first seeded mutated input that its loader refuses is given to the real
 * command that reads such a file. The process must exit 2 with one located
 * line of at most 300 characters on stderr, no stack, and write nothing.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { caseArb, caseText, classify, fileNameOf, inputKinds } from './helpers/fuzzInputs.ts';
import { runLocksim, type Outcome } from './helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'locksim-fuzz-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const locksim = (cwd: string, args: string[]): Promise<Outcome> => runLocksim(cwd, args);

/** A scenario that makes `run` read the fuzzed file of the given kind. */
const launchUsing = (line: string) => `name: fuzz-run
kind: launch
variants:
  - label: a
    machine: { model: ${line.startsWith('model:') ? line.slice(6).trim() : 'generic-2core'} }
launch:
  containers: [1]
${line.startsWith('model:') ? '  variant: per-layer-idmap\n  layers: 2\n' : `${line}\n`}`;

/** The command reading each kind, the fuzzed file written as `file`. */
const commands: Record<string, (file: string) => { files?: Record<string, string>; args: string[] }> = {
  scenario: (f) => ({ args: ['run', f, '--out', 'out', '--no-charts'] }),
  'hardware model': (f) => ({ files: { 's.yaml': launchUsing(`model: ./${f}`) }, args: ['run', 's.yaml', '--out', 'out', '--no-charts'] }),
  'kernel model': (f) => ({ files: { 's.yaml': launchUsing(`  variant: per-layer-idmap\n  layers: 2\n  kernel: ./${f}`) }, args: ['run', 's.yaml', '--out', 'out', '--no-charts'] }),
  trace: (f) => ({ files: { 's.yaml': launchUsing(`  trace: ${f}`) }, args: ['run', 's.yaml', '--out', 'out', '--no-charts'] }),
  'strace output': (f) => ({ args: ['import-strace', f, '--out', 'out.jsonl'] }),
  'hwloc XML': (f) => ({ args: ['host', 'topology', '--from', 'hwloc', f, '--out', 'out.yaml'] }),
  measurement: (f) => ({ args: ['calibrate', f, '--out', 'out'] }),
  plan: (f) => ({ args: ['plan', f, '--json', 'out.json'] }),
};

describe('fuzzed inputs through the CLI: exit 2, one line, no stack, nothing written', () => {
  for (const kind of inputKinds()) {
    it(kind.name, async () => {
      const file = fileNameOf[kind.name]!;
      // The first refused input of a seeded sample (the sample is deterministic).
      const text = fc.sample(caseArb(kind), { seed: 11, numRuns: 200 }).map((c) => caseText(kind, c)).find((t) => classify(kind, t, file).outcome === 'input error');
      expect(text, 'a refused input in the sample').toBeDefined();
      const cwd = mkdtempSync(join(work, 'k-'));
      writeFileSync(join(cwd, file), text!);
      const cmd = commands[kind.name]!(file);
      for (const [name, content] of Object.entries(cmd.files ?? {})) writeFileSync(join(cwd, name), content);
      const before = readdirSync(cwd).sort();
      const r = await locksim(cwd, cmd.args);
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]!.length).toBeLessThanOrEqual(300);
      expect(lines[0]).toMatch(/^[^\n]+:\d+:\d+: .+: expected /);
      expect(lines[0]).not.toMatch(/^\s*at |\.ts:\d+|:undefined:/);
      expect(readdirSync(cwd).sort(), 'nothing written').toEqual(before);
      expect(existsSync(join(cwd, 'out'))).toBe(false);
    });
  }
});
