/**
 * Runs the real CLI (bin/locksim.js) as a user would, in its own process:
 * what the CLI tests assert on is its exit code and its two streams.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

const bin = resolve('bin/locksim.js');

export function runLocksim(cwd: string, args: string[], timeoutMs = 120_000): Promise<Outcome> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}
