/**
 * Commands that work on results rather than scenarios: `merge` (shard files
 * into result files) and `report` (a results directory into one HTML file).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { atomicWrite } from '../report/atomicWrite.ts';
import { loadResultsDir, renderHtmlReport } from '../report/html.ts';
import { chartSpecs, keyMetricsOf, omittedChartNotes } from '../runner/runScenario.ts';
import { mergeShards } from '../runner/shard.ts';
import { wholeNumber } from './options.ts';
import { runReport } from './runOutput.ts';
import { runJson } from './jsonOutput.ts';


export function registerReportCommands(program: Command): void {
  program
    .command('merge')
    .description('Join the shard files of `locksim run --shard i/n` into the result files of a single run (byte-identical)')
    .argument('<inputs...>', 'directories holding shard-I-of-N.json files, or the files themselves')
    .option('-o, --out <dir>', 'output directory', 'out')
    .option('--no-charts', 'skip SVG/PNG charts')
    .option('--json', 'print the findings, every point\'s metrics and the files written as one JSON document on stdout')
    .option('--force', 'write into a non-empty output directory that does not hold shards or a run of this scenario')
    .action(async (inputs: string[], opts: { out: string; charts: boolean; json?: boolean; force?: boolean }) => {
      const result = await mergeShards(inputs, { outDir: opts.out, charts: opts.charts ? undefined : false, force: opts.force });
      if (opts.json) {
        process.stdout.write(runJson(result, opts.out));
        return;
      }
      process.stdout.write(`merged ${result.shards.length} shards\n`);
      process.stdout.write(runReport(result, opts.out));
    });

  program
    .command('report')
    .description('Write one self-contained HTML file (interactive charts, results, time breakdown, models, scenario, heaviest stacks) from a results directory')
    .argument('<results-dir>', 'output directory of locksim run, merge or attribute (reads results.json, *.folded and attribution.json)')
    .option('-o, --out <file>', 'HTML file to write (default: RESULTS-DIR/report.html)')
    .option('--top <n>', 'how many of the heaviest folded stacks to list', wholeNumber('--top', 1), 15)
    .action(async (dir: string, opts: { out?: string; top: number }) => {
      const { run, profiles, attribution } = loadResultsDir(dir);
      const html = renderHtmlReport({
        run,
        charts: chartSpecs(run),
        chartNotes: omittedChartNotes(run),
        keyMetrics: keyMetricsOf(run),
        profiles,
        topN: opts.top,
        source: dir,
        ...(attribution ? { attribution } : {}),
      });
      const out = opts.out ?? join(dir, 'report.html');
      await atomicWrite(out, html);
      process.stdout.write(`wrote ${out}\n`);
    });
}
