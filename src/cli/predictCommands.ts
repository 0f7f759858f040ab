/**
 * CLI wiring of `locksim predict mountstorm|lockbench`: a calibration's
 * prediction for one configuration with its 90% interval (or --level) (src/host/predict.ts).
 * Only wiring. A calibration used on another machine gets one line on stderr.
 */
import { Command, Option } from 'commander';
import { loadCalibrationRecord } from '../host/calibrate.ts';
import { machineIdentity, otherMachineNotice } from '../host/machineIdentity.ts';
import { predictLockbench, predictMountstorm, type PredictionInterval } from '../host/predict.ts';
import { MOUNTSTORM_VARIANTS, type MountstormVariant } from '../host/probes.ts';
import type { CalibrationRecord } from '../host/calibration/write.ts';
import { InvalidArgumentError } from 'commander';
import { wholeNumber } from './options.ts';

/** A plain decimal number >= 0. */
function nonNegative(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number >= 0 for ${flag}, got ${JSON.stringify(value)}`);
    return n;
  };
}

function loadChecked(file: string): CalibrationRecord {
  const record = loadCalibrationRecord(file);
  const notice = otherMachineNotice(record.machine, machineIdentity(), file);
  if (notice) process.stderr.write(notice + '\n');
  return record;
}

/** A coverage level between 0.5 and 0.999. */
function level(value: string): number {
  const n = Number(value);
  if (!/^0?\.\d+$/.test(value.trim()) || !(n >= 0.5 && n <= 0.999)) throw new InvalidArgumentError(`expected a coverage level between 0.5 and 0.999 for --level, got ${JSON.stringify(value)}`);
  return n;
}

const pctLevel = (l: number) => `${+(l * 100).toFixed(1)}%`;

function share(p: PredictionInterval): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const dof = Number.isFinite(p.dof) ? `; Student's t, ${p.dof.toFixed(1)} degrees of freedom` : '';
  return `1 s.d.: fit ${pct(p.parts.parameters)}, run-to-run ${pct(p.parts.runToRun)}, model ${pct(p.parts.model)}${dof}`;
}

export function registerPredictCommands(program: Command): void {
  const predict = program.command('predict').description('Predict a configuration with a calibration (`locksim calibrate`): the mean and a 90% interval (--level) for the mean of R runs made one after another');
  const runsOption = () => new Option('--runs <r>', 'runs the predicted mean is the mean of (the interval narrows with more)').argParser(wholeNumber('--runs', 1)).default(5);
  const levelOption = () => new Option('--level <p>', 'two-sided coverage of the interval, between 0.5 and 0.999').argParser(level).default(0.9);

  predict
    .command('mountstorm')
    .description('Mean launch latency of K launches with L layers each (what `locksim measure mountstorm` measures)')
    .requiredOption('--calibration <file>', 'calibration.json written by `locksim calibrate`')
    .addOption(new Option('--variant <v>', 'runtime variant').choices([...MOUNTSTORM_VARIANTS]).makeOptionMandatory())
    .requiredOption('-K, --containers <k>', 'concurrent container launches', wholeNumber('--containers', 1))
    .requiredOption('-L, --layers <l>', 'image layers per container', wholeNumber('--layers', 1))
    .addOption(runsOption())
    .addOption(levelOption())
    .option('--background <n>', 'runnable tasks of other work on the machine meanwhile (a measurement\'s host.otherRunnable; default 0: the machine is the storm\'s alone)', nonNegative('--background'), 0)
    .option('--unmount-inspection', 'each container unmounts pass 1\'s overlay before pass 2 (as `measure mountstorm --unmount-inspection`, and containerd)')
    .option('--processes', 'one process per container, forked one after another (as `measure mountstorm --processes`, a shim per container)')
    .option('--json', 'print {"meanS", "lowS", "highS"}')
    .action((opts: { calibration: string; variant: MountstormVariant; containers: number; layers: number; runs: number; level: number; background: number; unmountInspection?: boolean; processes?: boolean; json?: boolean }) => {
      const record = loadChecked(opts.calibration);
      const p = predictMountstorm(record, { variant: opts.variant, containers: opts.containers, layers: opts.layers, otherRunnable: opts.background, ...(opts.unmountInspection ? { unmountInspection: true } : {}), ...(opts.processes ? { processes: true } : {}) }, opts.runs, opts.calibration, opts.level);
      if (opts.json) process.stdout.write(JSON.stringify({ meanS: p.mean, lowS: p.low, highS: p.high }) + '\n');
      else process.stdout.write(`mountstorm ${opts.variant} K=${opts.containers} L=${opts.layers}${opts.unmountInspection ? ' (inspection unmounted)' : ''}${opts.processes ? ' (processes)' : ''}: predicted mean launch ${(p.mean * 1e3).toFixed(3)} ms; ${pctLevel(p.level)} interval for the mean of ${p.runs} runs ${(p.low * 1e3).toFixed(3)}-${(p.high * 1e3).toFixed(3)} ms (${share(p)})\n`);
    });

  predict
    .command('lockbench')
    .description('Acquisitions/s of threads contending for one spinlock (what `locksim measure lockbench` measures)')
    .requiredOption('--calibration <file>', 'calibration.json written by `locksim calibrate`')
    .addOption(new Option('--lock <kind>', 'spinlock kind').choices(['ttas', 'ticket']).default('ttas'))
    .option('--threads <n>', 'contending threads', wholeNumber('--threads', 1), 2)
    .requiredOption('--cs <ns>', 'critical section length in ns', wholeNumber('--cs', 0))
    .option('--think <ns>', 'time outside the lock in ns', wholeNumber('--think', 0), 0)
    .addOption(runsOption())
    .addOption(levelOption())
    .addOption(new Option('--data <place>', 'the counter the holder increments: none, same-line (on the lock\'s line) or own-line').choices(['none', 'same-line', 'own-line']).default('none'))
    .option('--json', 'print {"meanPerSec", "lowPerSec", "highPerSec"}')
    .action((opts: { calibration: string; lock: 'ttas' | 'ticket'; threads: number; cs: number; think: number; runs: number; level: number; data: 'none' | 'same-line' | 'own-line'; json?: boolean }) => {
      const record = loadChecked(opts.calibration);
      const p = predictLockbench(record, { lock: opts.lock, threads: opts.threads, csNs: opts.cs, thinkNs: opts.think, data: opts.data }, opts.runs, opts.calibration, opts.level);
      if (opts.json) process.stdout.write(JSON.stringify({ meanPerSec: p.mean, lowPerSec: p.low, highPerSec: p.high }) + '\n');
      else process.stdout.write(`lockbench ${opts.lock} threads=${opts.threads} cs=${opts.cs} think=${opts.think}: predicted ${(p.mean / 1e6).toFixed(3)} M acquisitions/s; ${pctLevel(p.level)} interval for the mean of ${p.runs} runs ${(p.low / 1e6).toFixed(3)}-${(p.high / 1e6).toFixed(3)} M/s (${share(p)})\n`);
    });
}
