/**
 * The locksim command line. Only wiring: every subcommand calls one function
 * of the pipeline. Bad input of any kind ends here as one line on stderr and
 * exit code 2; nothing is written (outputs are written atomically at the end).
 */
import { Argument, Command, CommanderError, InvalidArgumentError } from 'commander';
import { InputError, clip, formatForCli } from '../config/errors.ts';
import type { SweepValues } from '../config/scenarioSchema.ts';
import { listHardwareModels, loadHardwareModel } from '../config/hardwareSchema.ts';
import { scenarioJsonSchema } from '../config/scenarioSchema.ts';
import { planJsonSchema } from '../plan/planSchema.ts';
import { buildTopology, describeTopology } from '../hardware/topology.ts';
import { runScenarioFile, runScenarioFiles, runShardFile } from '../runner/runScenario.ts';
import { parseShardSpec, type ShardSpec } from '../runner/shard.ts';
import { createProgress } from '../runner/progress.ts';
import { InterruptedError, interruptExitCode, withInterrupts } from '../runner/pool.ts';
import { registerReportCommands } from './reportCommands.ts';
import type { Scenario } from '../config/scenarioSchema.ts';
import type { Point } from '../config/points.ts';
import { registerHostCommands } from './hostCommands.ts';
import { registerPlanCommands } from './planCommands.ts';
import { registerPredictCommands } from './predictCommands.ts';
import { HostCapabilityError } from '../host/measure.ts';
import { ProbeError } from '../host/probes.ts';
import { availableParallelism } from 'node:os';
import { ablateList, scenarioEdit, wholeNumber } from './options.ts';
import { ablationHelp, type AblationName } from '../config/ablations.ts';
import { registerAttributeCommand } from './attributeCommand.ts';
import { DEFAULT_MAX_EVENTS, DEFAULT_MAX_POINTS } from '../config/budget.ts';
import { runReport } from './runOutput.ts';
import { jsonDocument, runJson, runJsonValue } from './jsonOutput.ts';


function shardSpec(value: string): ShardSpec {
  const spec = parseShardSpec(value);
  if (!spec) throw new InvalidArgumentError(`expected I/N with 1 <= I <= N for --shard (e.g. 2/4), got ${JSON.stringify(value)}`);
  return spec;
}

/** `--sweep launch.layers=10,50`: values are numbers, true/false, or strings. */
function collectSweep(value: string, previous: SweepValues): SweepValues {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`expected PATH=V1,V2,... for --sweep, got ${JSON.stringify(value)}`);
  const values = value.slice(eq + 1).split(',').map((v) => {
    const t = v.trim();
    if (t === 'true' || t === 'false') return t === 'true';
    return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
  });
  return { ...previous, [value.slice(0, eq)]: values };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('locksim')
    .description('Discrete-event simulator of lock contention on CPU topologies: container launch storms, mount locks, coherence fabrics.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });

  program
    .command('run')
    .description('Run a scenario file and write results (CSV, JSON, charts) to the output directory; Ctrl-C keeps finished points and a rerun resumes')
    .argument('<scenario...>', 'scenario file (YAML), e.g. scenarios/fig10-pause-bench.yaml; with several, each writes to --out/<its name> and one pool of workers serves them all')
    .option('-o, --out <dir>', 'output directory', 'out')
    .option('-w, --workers <n>', 'worker threads for the points (results do not depend on it)', wholeNumber('--workers', 1), Math.min(2, availableParallelism()))
    .option('--seed <n>', 'override the scenario seed', wholeNumber('--seed', 0))
    .option('--no-charts', 'skip SVG/PNG charts')
    .option('--shard <i/n>', 'simulate only points whose index mod n is i-1 and write shard-i-of-n.json (join with locksim merge)', shardSpec)
    .option('--fresh', 'discard a checkpoint of an interrupted run in the output directory instead of resuming')
    .option('--max-events <n>', `refuse a point estimated to need more simulated events (default ${DEFAULT_MAX_EVENTS})`, wholeNumber('--max-events', 1))
    .option('--max-points <n>', `refuse a run of more points (default ${DEFAULT_MAX_POINTS})`, wholeNumber('--max-points', 1))
    .option('--force', 'write into a non-empty output directory that does not hold an earlier run of this scenario')
    .option('--sweep <path=values>', 'sweep a parameter over comma-separated values, as the file\'s sweep: does (repeatable), e.g. --sweep launch.layers=10,50,100', collectSweep, {})
    .option('--ablate <names>', 'switch mechanisms off in every variant, comma-separated (added to the file\'s ablate:); the names are listed below', ablateList('--ablate'))
    .option('--json', 'print the findings, every point\'s metrics and the files written as one JSON document on stdout')
    .option('--detailed', 'simulate every spinner of a herd on its own instead of in aggregate (more events, the same results; the scenario field simulation.detailed does the same)')
    .addHelpText('after', `\nAblations (--ablate NAME[,NAME...], or ablate: [NAME, ...] in the scenario file):\n${ablationHelp()}\n`)
    .action(async (files: string[], opts: { out: string; workers: number; seed?: number; charts: boolean; shard?: ShardSpec; fresh?: boolean; sweep: SweepValues; ablate?: AblationName[]; maxEvents?: number; maxPoints?: number; force?: boolean; json?: boolean; detailed?: boolean }) => {
      const started = Date.now();
      const progress = createProgress(process.stderr);
      const edit = scenarioEdit(opts);
      const runOpts = {
        outDir: opts.out,
        workers: opts.workers,
        charts: opts.charts ? undefined : false,
        fresh: opts.fresh,
        force: opts.force,
        limits: { maxEvents: opts.maxEvents, maxPoints: opts.maxPoints },
        onStart: (total: number, resumed: number) => progress.start(total, resumed),
        onPoint: (done: number, _total: number, p: Point) => progress.tick(done, p.key),
      };
      try {
      await withInterrupts(progress, async (signal) => {
        if (files.length > 1) {
          if (opts.shard) throw new InputError({ file: 'command line', line: 1, column: 1, field: '--shard', expected: 'one scenario file (a shard is a part of one run)', got: `${files.length} files` });
          const runs = await runScenarioFiles(files, { ...runOpts, signal, onScenario: (i, n, name) => { progress.stop(); progress.note(`[${i + 1}/${n}] ${name}`); } });
          progress.stop();
          const seconds = (Date.now() - started) / 1000;
          if (opts.json) {
            process.stdout.write(jsonDocument({ seconds: Number(seconds.toFixed(1)), scenarios: runs.map((r) => runJsonValue(r.result, r.outDir, r.seconds)) }));
            return;
          }
          process.stdout.write(runs.map((r) => runReport(r.result, r.outDir, r.seconds)).join('\n') + `\n${runs.length} scenarios in ${seconds.toFixed(1)} s\n`);
          return;
        }
        const file = files[0]!;
        if (opts.shard) {
          const shard = await runShardFile(file, { ...runOpts, signal, shard: opts.shard }, edit, opts.sweep);
          progress.stop();
          if (opts.json) {
            process.stdout.write(jsonDocument({ shard: `${opts.shard.index}/${opts.shard.count}`, points: shard.points, resumed: shard.resumed, file: `${opts.out}/${shard.file}` }));
            return;
          }
          process.stdout.write(`shard ${opts.shard.index}/${opts.shard.count}: ${shard.points} points in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
          process.stdout.write(`wrote ${opts.out}/${shard.file}\n`);
          return;
        }
        const result = await runScenarioFile(file, { ...runOpts, signal }, edit, opts.sweep);
        progress.stop();
        const seconds = (Date.now() - started) / 1000;
        process.stdout.write(opts.json ? runJson(result, opts.out, seconds) : runReport(result, opts.out, seconds));
      });
      } finally {
        progress.stop();
      }
    });

  program
    .command('models')
    .description('List the hardware models in models/hardware with their topology')
    .option('--json', 'print the models as one JSON document on stdout')
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        process.stdout.write(jsonDocument(listHardwareModels().map((name) => loadHardwareModel(name))));
        return;
      }
      for (const name of listHardwareModels()) process.stdout.write(describeTopology(buildTopology(loadHardwareModel(name))) + '\n');
    });

  program
    .command('schema')
    .description('Print the JSON Schema of scenario files, or of plan files (for editors: hover help and completion)')
    .addArgument(new Argument('[kind]', 'which files').choices(['scenario', 'plan']).default('scenario'))
    .action((kind: 'scenario' | 'plan') => {
      process.stdout.write(JSON.stringify(kind === 'plan' ? planJsonSchema() : scenarioJsonSchema(), null, 2) + '\n');
    });

  registerAttributeCommand(program);
  registerHostCommands(program);
  registerReportCommands(program);
  registerPlanCommands(program);
  registerPredictCommands(program);
  return program;
}

/**
 * A reader that stops early (`locksim measure ... | head -1`) closes stdout:
 * later writes fail with EPIPE, which Node raises as an unhandled 'error'
 * event (a stack trace). The command goes on and finishes its files; what it
 * would still print has no reader, so it is dropped.
 */
let droppingClosedStdout = false;
function dropWritesToClosedStdout(): void {
  if (droppingClosedStdout) return;
  droppingClosedStdout = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  dropWritesToClosedStdout();
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(formatForCli(err) + '\n');
      return 2;
    }
    if (err instanceof InterruptedError) {
      // Nothing partial was written; the checkpoint keeps what finished.
      const kept = err.checkpoint ? `; ${err.done} of ${err.total} points kept in ${err.checkpoint}, rerun the same command to resume` : '';
      process.stderr.write(`locksim: interrupted${kept}\n`);
      return interruptExitCode(err.reason);
    }
    if (err instanceof HostCapabilityError) {
      // The input is fine; this host cannot do it (no root, no compiler, no idmapped mounts).
      process.stderr.write(`locksim: ${err.message}\n`);
      return 3;
    }
    if (err instanceof ProbeError) {
      process.stderr.write(`locksim: probe failed: ${err.message.split('\n')[0]}\n`);
      return 1;
    }
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; they exit 0.
      if (err.exitCode === 0) return 0;
      return 2;
    }
    // Neither bad input nor a known host limit (an OS error on write, or a
    // bug): still one line, with the way to the stack; exit 70 is EX_SOFTWARE
    // (sysexits.h), distinct from bad input (2) and an incapable host (3).
    if (process.env.LOCKSIM_DEBUG) throw err;
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    process.stderr.write(`locksim: unexpected error: ${clip(what, 200)} (LOCKSIM_DEBUG=1 prints the stack)\n`);
    return 70;
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
