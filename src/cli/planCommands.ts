/**
 * `locksim plan`: capacity answers for a workload on candidate machines
 * (src/plan, docs/plan.md). Wiring only.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadPlan } from '../plan/planSchema.ts';
import { runPlan } from '../plan/plan.ts';
import { planJson, planTable } from '../plan/format.ts';
import { atomicWrite } from '../report/atomicWrite.ts';
import { createProgress } from '../runner/progress.ts';
import { withInterrupts } from '../runner/pool.ts';
import { wholeNumber } from './options.ts';


/** Checked before simulating, so a typo in the directory does not cost the whole plan. */
function jsonTarget(value: string): string {
  const dir = dirname(resolve(value));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InvalidArgumentError(`expected a file in an existing directory for --json, got ${JSON.stringify(value)}`);
  return value;
}

export function registerPlanCommands(program: Command): void {
  program
    .command('plan')
    .description('For each candidate machine: largest burst meeting a p99/success objective, p99 at your burst with a confidence interval, cost per 1,000 launches, and the change that improves p99 most')
    .argument('<plan>', 'plan file (YAML), e.g. scenarios/plan-blog.yaml')
    .option('--json [file]', 'the answers as JSON: on stdout as one document (no table), or written to FILE beside the table', jsonTarget)
    .option('-w, --workers <n>', 'worker threads (results do not depend on it)', wholeNumber('--workers', 1), Math.min(2, availableParallelism()))
    .option('--max-events <n>', 'refuse a burst estimated to need more simulated events per point (default 500000000)', wholeNumber('--max-events', 1))
    .action(async (file: string, opts: { json?: string | true; workers: number; maxEvents?: number }) => {
      const plan = loadPlan(file, undefined, opts.maxEvents);
      const progress = createProgress(process.stderr);
      try {
        const result = await withInterrupts(progress, (signal) =>
          runPlan(plan, {
            workers: opts.workers,
            signal,
            onStart: (total) => progress.start(total, 0),
            onPoint: (done, key) => progress.tick(done, key),
          }),
        );
        progress.stop();
        // The JSON first: if it cannot be written, no table claims success.
        if (opts.json === true) {
          process.stdout.write(planJson(result));
          return;
        }
        if (opts.json) await atomicWrite(opts.json, planJson(result));
        process.stdout.write(planTable(result));
        if (opts.json) process.stdout.write(`wrote ${opts.json}\n`);
      } finally {
        progress.stop();
      }
    });
}
