/**
 * `locksim attribute SCENARIO`: the share of the scenario's headline gap
 * (between two variants) each mechanism carries, from one run per mechanism
 * switched off (src/attribution/attribute.ts). Writes the plain run's result
 * files (the two gap variants) plus attribution.json, attribution.csv and a
 * chart into the output directory; `locksim report` shows them.
 */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../config/errors.ts';
import type { AblationName } from '../config/ablations.ts';
import { attributionFiles, attributionJson, attributionTable, defaultMechanisms, defaultMetric, parseGap, runAttribution, variantLabels } from '../attribution/attribute.ts';
import { writeOutputs } from '../report/atomicWrite.ts';
import { resolvePoints } from '../config/points.ts';
import { addToManifest, checkOutputDir } from '../report/manifest.ts';
import { createProgress } from '../runner/progress.ts';
import { withInterrupts } from '../runner/pool.ts';
import { loadModels, loadScenarioFile, runIdentity, writeRunOutputs } from '../runner/runScenario.ts';
import { ablateList, scenarioEdit, wholeNumber } from './options.ts';

interface AttributeOptions {
  gap?: string;
  at?: number[];
  metric?: string;
  mechanisms?: AblationName[];
  ablate?: AblationName[];
  out: string;
  json?: boolean;
  workers: number;
  seed?: number;
  charts: boolean;
}

const commandLine = (field: string, expected: string, got: string) => new InputError({ file: 'command line', line: 1, column: 1, field, expected, got });

export function registerAttributeCommand(program: Command): void {
  program
    .command('attribute')
    .description('Share of a gap between two variants (ratio of a metric at each x) that each mechanism carries: the scenario run once plain and once per mechanism switched off')
    .argument('<scenario>', 'scenario file (YAML); its attribution: { gap: [A, B], metric } names the gap unless --gap does')
    .option('--gap <A/B>', 'the two variant labels, A/B: the gap is metric(A) / metric(B) - 1')
    .option('--at <x,...>', 'only these x values of the scenario (comma-separated), e.g. --at 100', (v: string) => v.split(',').map((x) => Number(x.trim())))
    .option('--metric <name>', 'the metric compared (default: the file\'s attribution.metric, else launchP99S for launches)')
    .option('--mechanisms <names>', 'mechanisms to switch off one at a time, comma-separated (default: every ablation the scenario does not already apply; see locksim run --help)', ablateList('--mechanisms'))
    .option('--ablate <names>', 'switch mechanisms off in every run, plain included (added to the file\'s ablate:)', ablateList('--ablate'))
    .option('-o, --out <dir>', 'output directory', 'out')
    .option('--json', 'print attribution.json to stdout instead of the table')
    .option('-w, --workers <n>', 'worker threads for the points (results do not depend on it)', wholeNumber('--workers', 1), Math.min(2, availableParallelism()))
    .option('--seed <n>', 'override the scenario seed', wholeNumber('--seed', 0))
    .option('--no-charts', 'skip SVG/PNG charts')
    .action(async (file: string, opts: AttributeOptions) => {
      const scenario = loadScenarioFile(file, scenarioEdit(opts));
      checkOutputDir(opts.out, scenario.name, false);
      const labels = variantLabels(scenario);
      let gap = scenario.attribution?.gap;
      if (opts.gap !== undefined) {
        gap = parseGap(opts.gap, labels);
        if (!gap) throw commandLine('--gap', `two variant labels A/B from ${labels.map((l) => JSON.stringify(l)).join(', ')}`, JSON.stringify(opts.gap));
      }
      if (!gap) throw commandLine('--gap', `A/B (two variant labels; or attribution: { gap: [A, B] } in ${basename(file)})`, 'neither');
      const mechanisms = opts.mechanisms ?? defaultMechanisms(scenario);
      const twice = mechanisms.find((m) => (scenario.ablate ?? []).includes(m));
      if (twice) throw commandLine('--mechanisms', 'mechanisms the scenario does not already switch off', JSON.stringify(twice));
      const xs = [...new Set(resolvePoints(scenario).map((p) => p.x))];
      const missing = opts.at?.find((x) => !xs.includes(x));
      if (missing !== undefined) throw commandLine('--at', `x values of the scenario (${xs.join(', ')})`, String(missing));
      const metric = opts.metric ?? scenario.attribution?.metric ?? defaultMetric(scenario.kind);
      const fileLabel = basename(file);
      const progress = createProgress(process.stderr);
      try {
        await withInterrupts(progress, async (signal) => {
          const started = Date.now();
          const { attribution, points, outputs } = await runAttribution(scenario, fileLabel, { gap, metric, mechanisms, ...(opts.at ? { at: opts.at } : {}) }, {
            workers: opts.workers,
            signal,
            onPoint: (done, total, p) => {
              if (done === 1) progress.start(total, 0);
              progress.tick(done, `${p.key}${p.ablate?.length ? ` without ${p.ablate.join('+')}` : ''}`);
            },
          });
          progress.stop();
          const identity = runIdentity(scenario, fileLabel, loadModels(points));
          const run = await writeRunOutputs(identity, scenario, points, outputs, opts.out, opts.charts && scenario.output.charts);
          const files = await attributionFiles(attribution, opts.charts && scenario.output.charts);
          await writeOutputs(opts.out, files);
          await addToManifest(opts.out, scenario.name, files.map((f) => f.name));
          if (opts.json) process.stdout.write(attributionJson(attribution));
          else {
            process.stdout.write(`${scenario.name}: ${points.length * (mechanisms.length + 1)} points in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
            process.stdout.write(attributionTable(attribution) + '\n');
            process.stdout.write(`wrote ${[...run.files, ...files.map((f) => f.name)].map((f) => `${opts.out}/${f}`).join(', ')}\n`);
          }
        });
      } finally {
        progress.stop();
      }
    });
}
