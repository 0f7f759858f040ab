/**
 * CLI wiring of the commands that look at the real host: `host topology`,
 * `measure lockbench|pingpong|mountstorm` and `import-strace`. Only wiring:
 * the work is in src/host. Bad input throws InputError (exit 2); a host that
 * cannot do what was asked throws HostCapabilityError (exit 3).
 */
import type { LockData } from '../bench/lockMicrobench.ts';
import { readInputFile } from '../config/yamlLoad.ts';
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { commandLineError, InputError } from '../config/errors.ts';
import { readFileSync } from 'node:fs';
import { describeHaltPoll, HostCapabilityError, loadMeasurement, measureLockbench, measureMountstorm, measurePingpong, measureWakeup, pingpongEvidence, wakeupEvidence, type MeasureContext } from '../host/measure.ts';
import { MOUNTSTORM_VARIANTS, PROPAGATION_MODES, READER_MODES, type MountstormVariant, type PropagationMode, type ReaderMode } from '../host/probes.ts';
import { importStrace } from '../host/strace.ts';
import { hostToModel, parseCpuList, parseHwlocXml, readHwlocXmlFile, readSysfsTopology, writeModelFile, type HostTopology } from '../host/topology.ts';
import { atomicWrite } from '../report/atomicWrite.ts';
import { writeTrace } from '../workload/trace.ts';
import { join } from 'node:path';
import { runCalibration, loadCalibrationRecord, shownPath } from '../host/calibrate.ts';
import { measurementRunConditions, otherPlacement, runConditions, runConditionsNote } from '../host/calibration/measurements.ts';
import { formatValidation, validate, validationOutputs } from '../host/validate.ts';
import { modelFileText } from '../host/topology.ts';
import { writeOutputs } from '../report/atomicWrite.ts';
import { wholeNumber } from './options.ts';
import { jsonDocument } from './jsonOutput.ts';
import { CALIBRATION_SETS, HELDOUT_DIR, HELDOUT_SETS, recordCalibrationSet } from '../host/recordCalibration.ts';
import { formatSpeedDrift, speedDrift, timedRuns } from '../host/speedDrift.ts';
import { machineIdentity, otherMachineNotice } from '../host/machineIdentity.ts';
import { formatMicroseconds as us } from '../report/units.ts';


function cpuList(value: string): number[] {
  const list = parseCpuList(value);
  if (list === null || list.length === 0) throw new InvalidArgumentError(`expected a cpu list like 0,1,4-7 for --cpus, got ${JSON.stringify(value)}`);
  return list;
}

function gapList(value: string): number[] {
  const parts = value.split(',').map((v) => v.trim());
  if (parts.some((p) => !/^[1-9]\d{0,6}$/.test(p))) throw new InvalidArgumentError(`expected whole microseconds from 1 to 9999999 separated by commas for --gaps-us (e.g. 20,100,1000), got ${JSON.stringify(value)}`);
  return parts.map(Number);
}

/** The locksim argv as typed, for the records written (commander keeps what parse() was given). */
function invokedAs(cmd: Command): string[] {
  let root = cmd;
  while (root.parent) root = root.parent;
  // rawArgs is public in commander but missing from its typings.
  return ['locksim', ...((root as unknown as { rawArgs?: string[] }).rawArgs ?? [])];
}

function shellQuote(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** hwloc XML of this machine from lstopo, for `--from hwloc` without a file. */
function lstopoXml(): HostTopology {
  const r = spawnSync('lstopo', ['--of', 'xml', '--no-io', '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) {
    const why = r.error ? 'lstopo is not installed (apt-get install hwloc)' : `lstopo failed: ${(r.stderr ?? '').trim().split('\n').pop()}`;
    throw new HostCapabilityError(`cannot read the topology with hwloc: ${why}`);
  }
  return parseHwlocXml(r.stdout, 'lstopo --of xml');
}

/** `--pid 12,15`: thread ids. */
function pidList(value: string): number[] {
  const pids = value.split(',').map((v) => v.trim());
  if (pids.some((p) => !/^[1-9]\d*$/.test(p))) throw new InvalidArgumentError(`expected thread ids separated by commas for --pid (e.g. 1234,1240), got ${JSON.stringify(value)}`);
  return pids.map(Number);
}

export function registerHostCommands(program: Command): void {
  const host = program.command('host').description('Commands that read this host');

  host
    .command('topology')
    .description('Read this host\'s CPU topology (sysfs or hwloc XML) into a hardware model file; latencies the reading cannot know are placeholders unless --pingpong gives a measurement')
    .argument('[file]', 'hwloc XML file (`lstopo --of xml FILE`) with --from hwloc; without it lstopo is run')
    .addOption(new Option('--from <source>', 'where the topology comes from').choices(['sysfs', 'hwloc']).default('sysfs'))
    .option('--root <dir>', 'with --from sysfs: the directory holding sys/ and proc/', '/')
    .option('--pingpong <file>', 'a `locksim measure pingpong` file of this host: core-to-core latencies from its medians')
    .option('--wakeup <file>', 'a `locksim measure wakeup` file of this host: wake-up latencies (on the waker\'s cpu, onto another idle cpu) and where woken threads run')
    .addOption(new Option('--vendor <vendor>', 'CPU vendor when the input does not say (hwloc synthetic topologies)').choices(['intel', 'amd']))
    .option('--name <name>', 'model name (default: the output file name without .yaml)')
    .requiredOption('-o, --out <file>', 'model file to write, e.g. models/hardware/myhost.yaml')
    .option('--json', 'print the model as one JSON document on stdout')
    .action(async (file: string | undefined, opts: { from: 'sysfs' | 'hwloc'; root: string; pingpong?: string; wakeup?: string; vendor?: 'intel' | 'amd'; name?: string; out: string; json?: boolean }, cmd: Command) => {
      if (file !== undefined && opts.from !== 'hwloc') {
        throw commandLineError('[file]', 'no file with --from sysfs (use --root for a sysfs tree, --from hwloc for an XML file)', JSON.stringify(file));
      }
      const reading = opts.from === 'sysfs' ? readSysfsTopology(opts.root) : file !== undefined ? readHwlocXmlFile(file) : lstopoXml();
      const model = hostToModel(reading, {
        name: opts.name ?? basename(opts.out).replace(/\.ya?ml$/i, ''),
        ...(opts.vendor ? { vendor: opts.vendor } : {}),
        ...(opts.pingpong ? { pingpong: pingpongEvidence(opts.pingpong) } : {}),
        ...(opts.wakeup ? { wakeup: wakeupEvidence(opts.wakeup) } : {}),
      });
      if (reading.l3Assumed) process.stderr.write(`note: ${reading.l3Assumed}: each package taken as one L3 group (--from hwloc reads the caches from CPUID)\n`);
      await writeModelFile(model, opts.out, { command: shellQuote(invokedAs(cmd)) });
      if (opts.json) return void process.stdout.write(jsonDocument(model));
      const t = model.topology;
      process.stdout.write(`${model.name}: ${t.sockets} socket(s) x ${t.coresPerSocket} cores x ${t.threadsPerCore} thread(s), ${t.l3GroupsPerSocket} L3 group(s) per socket, ${model.fabric.kind}; wrote ${opts.out}\n`);
    });

  const measure = program.command('measure').description('Run a probe on this host and write a measurement file (JSON)');
  const ctxOf = (out: string, cmd: Command): MeasureContext => ({ out, invokedAs: invokedAs(cmd) });

  measure
    .command('lockbench')
    .description('Threads pinned to cpus contend for one spinlock (probes/lockbench): acquisitions/s and acquire latency')
    .addOption(new Option('--lock <kind>', 'spinlock kind').choices(['ttas', 'ticket']).default('ttas'))
    .option('--threads <n>', 'contending threads', wholeNumber('--threads', 1), 2)
    .option('--cpus <list>', 'cpus to pin to, e.g. 0,1,4-7 (threads beyond the list wrap around; default: all allowed)', cpuList)
    .option('--cs <ns>', 'critical section length in ns', wholeNumber('--cs', 0), 0)
    .option('--think <ns>', 'time outside the lock in ns', wholeNumber('--think', 0), 0)
    .option('--duration <ms>', 'run length in ms', wholeNumber('--duration', 1), 1000)
    .addOption(new Option('--data <place>', 'the counter the holder increments at the start of each critical section: none, on the lock\'s cache line (same-line: false sharing) or on a line of its own').choices(['none', 'same-line', 'own-line']).default('none'))
    .requiredOption('-o, --out <file>', 'measurement file to write (JSON)')
    .option('--json', 'print the measurement (the file\'s contents) as one JSON document on stdout')
    .action(async (opts: { lock: 'ttas' | 'ticket'; threads: number; cpus?: number[]; cs: number; think: number; duration: number; data: LockData; out: string; json?: boolean }, cmd: Command) => {
      const m = await measureLockbench({ lock: opts.lock, threads: opts.threads, ...(opts.cpus ? { cpus: opts.cpus } : {}), csNs: opts.cs, thinkNs: opts.think, durationMs: opts.duration, data: opts.data }, ctxOf(opts.out, cmd));
      if (m.kind !== 'lockbench') return;
      if (opts.json) return void process.stdout.write(jsonDocument(m));
      process.stdout.write(`lockbench ${m.config.lock}, ${m.config.threads} threads: ${Math.round(m.results.acquisitionsPerSec)} acquisitions/s, acquire p50 ${m.results.latencyNs.p50} ns p99 ${m.results.latencyNs.p99} ns; wrote ${opts.out}\n`);
      // The run's conditions as calibrate and validate name them (a shared cpu; the vcpus moved during the run).
      const [c] = measurementRunConditions(opts.out, m);
      if (c?.share !== undefined) process.stderr.write(`warning: a worker had its cpu for ${Math.round(c.share * 100)}% of the run: other processes shared it, so this throughput is not the lock's alone; measure again when the machine is quiet\n`);
      const t = m.results.transferNs;
      if (t) {
        process.stdout.write(`  one-way transfer between the first two cpus: ${t.before.toFixed(1)} ns before the run, ${t.after.toFixed(1)} ns after\n`);
        if (c?.transferNs) process.stderr.write(`warning: the transfer between the cpus changed during the run (${t.before.toFixed(0)} -> ${t.after.toFixed(0)} ns): the host moved a vcpu, so this throughput mixes two machines; measure again\n`);
      }
    });

  measure
    .command('pingpong')
    .description('Core-to-core one-way latency of every cpu pair (probes/pingpong, CAS round trip / 2)')
    .option('--cpus <list>', 'cpus to measure, e.g. 0-3 (default: every cpu this process may use)', cpuList)
    .option('--samples <n>', 'samples per pair (the median is kept)', wholeNumber('--samples', 1), 300)
    .option('--iterations <n>', 'round trips per sample', wholeNumber('--iterations', 1), 1000)
    .requiredOption('-o, --out <file>', 'measurement file to write (JSON)')
    .option('--json', 'print the measurement (the file\'s contents) as one JSON document on stdout')
    .action(async (opts: { cpus?: number[]; samples: number; iterations: number; out: string; json?: boolean }, cmd: Command) => {
      const m = await measurePingpong({ ...(opts.cpus ? { cpus: opts.cpus } : {}), samples: opts.samples, iterations: opts.iterations }, ctxOf(opts.out, cmd));
      if (m.kind !== 'pingpong') return;
      if (opts.json) return void process.stdout.write(jsonDocument(m));
      process.stdout.write(`pingpong: ${m.results.cpus.length} cpus, ${m.results.cpus.length * (m.results.cpus.length - 1)} ordered pairs; wrote ${opts.out}\n`);
    });

  measure
    .command('wakeup')
    .description('How long a woken thread takes to run (probes/wakeup, futex wake to run): on the waker\'s cpu, onto another idle cpu after several idle gaps, and where a wakee free to run on both goes; and what an IPI and (as root) an expedited RCU grace period take from a thread busy on the other cpu')
    .option('--cpus <list>', 'the two cpus, e.g. 0,1 (default: the first two this process may use)', cpuList)
    .option('--samples <n>', 'wake-ups per measurement', wholeNumber('--samples', 1), 400)
    .option('--gaps-us <list>', 'idle gaps of the wakee\'s cpu before remote wake-ups, in us, shortest first (at most 16; default 20,40,60,80,100,120,150,200,300,500,1000)', gapList)
    .option('--repeat <n>', 'probe runs (the model takes the median of each number over them)', wholeNumber('--repeat', 1), 5)
    .requiredOption('-o, --out <file>', 'measurement file to write (JSON)')
    .option('--json', 'print the measurement (the file\'s contents) as one JSON document on stdout')
    .action(async (opts: { cpus?: number[]; samples: number; gapsUs?: number[]; repeat: number; out: string; json?: boolean }, cmd: Command) => {
      if (opts.cpus && opts.cpus.length !== 2) throw commandLineError('--cpus', 'two different cpus, e.g. 0,1', opts.cpus.join(','));
      if (opts.gapsUs && opts.gapsUs.length > 16) throw commandLineError('--gaps-us', 'at most 16 gaps', String(opts.gapsUs.length));
      // A sample takes tens of microseconds plus its gap: these bounds keep a run under minutes.
      if (opts.samples > 100_000) throw commandLineError('--samples', 'at most 100000', String(opts.samples));
      if (opts.repeat > 100) throw commandLineError('--repeat', 'at most 100', String(opts.repeat));
      const m = await measureWakeup({ ...(opts.cpus ? { cpus: [opts.cpus[0]!, opts.cpus[1]!] } : {}), samples: opts.samples, repeat: opts.repeat, ...(opts.gapsUs ? { gapsUs: opts.gapsUs } : {}) }, ctxOf(opts.out, cmd));
      if (m.kind !== 'wakeup') return;
      if (opts.json) return void process.stdout.write(jsonDocument(m));
      const e = wakeupEvidence(opts.out, m);
      const pct = (x: number) => `${Math.round(x * 100)}%`;
      process.stdout.write(
        `wakeup cpus ${m.results.runs[0]!.cpus.join(',')}, medians of ${e.runs} runs: on the waker's cpu ${us(e.localNs)}; onto the other, idle cpu ${e.remoteByGap.map((x) => `${us(x.p50Ns)} (idle ${us(x.gapNs)})`).join(', ')}; ` +
          (e.haltPoll ? `${describeHaltPoll(e.haltPoll)}; ` : '') +
          `a wakee whose last cpu is the waker's (busy) waited there ${pct(e.waitOnPrevious.share)}; one whose last cpu runs another thread preempted it ${pct(e.preemptOnPrevious.share)}; ` +
          `a thread busy on the other cpu lost ${e.ipiStolen ? us(e.ipiStolen.ns) : 'n/a'} per IPI and ${e.gracePeriodStolen ? us(e.gracePeriodStolen.ns) : 'n/a (needs root)'} per expedited RCU grace period (umount); ${e.addressSpace ? `a switch to another process's memory added ${us(e.addressSpace.otherNs)} (${us(e.addressSpace.recentNs)} back to the one just left)` : 'address-space switch n/a'}; wrote ${opts.out}\n`,
      );
    });

  measure
    .command('mountstorm')
    .description('K container launches at once, each doing one runtime variant\'s mount syscalls with L layers (probes/mountstorm; needs root). Writes the measurement and a trace per run next to it')
    .addOption(new Option('--variant <v>', 'runtime variant').choices([...MOUNTSTORM_VARIANTS]).default('per-layer-idmap'))
    .option('-K, --containers <k>', 'concurrent container launches', wholeNumber('--containers', 1), 8)
    .option('-L, --layers <l>', 'image layers per container', wholeNumber('--layers', 1), 5)
    .option('--repeat <r>', 'runs of the same configuration, to report run-to-run spread', wholeNumber('--repeat', 1), 1)
    .addOption(new Option('--propagation <mode>', 'make the layers\' mount shared (the clones join its peer group, as under systemd\'s rshared / with containerd 2.0/2.1) or private; mount_setattr then leaves propagation unchanged').choices([...PROPAGATION_MODES]))
    .option('--peers <n>', 'pre-built peer group of N binds the storm\'s clones join (needs --propagation shared)', wholeNumber('--peers', 0))
    .addOption(new Option('--reader <mode>', 'a concurrent /proc/self/mountinfo reader in a slave (MS_SLAVE|MS_REC, as runc) or private mount namespace').choices([...READER_MODES]))
    .option('--read-size <bytes>', 'the reader\'s read() size (libmount 1024, Go bufio 4096; default 4096)', wholeNumber('--read-size', 1))
    .option('--idle-reads <r>', 'reader: full reads before the storm starts (default 5)', wholeNumber('--idle-reads', 0))
    .option('--umount-detach', 'umount with MNT_DETACH, as containerd does (no busy check, one walk of the peers fewer)')
    .option('--unmount-inspection', 'each container unmounts pass 1\'s overlay before pass 2, as containerd\'s mount.WithTempMount unmounts the inspection mount (default: it stays mounted)')
    .option('--processes', 'one process per container, forked one after another at the release (as a runtime starts a shim per container), instead of threads already running')
    .option('--idle-mounts <n>', 'N plain binds made before the storm beside its targets: a longer list for open_tree\'s walk (has_locked_children), to measure its cost per mount', wholeNumber('--idle-mounts', 1))
    .requiredOption('-o, --out <file>', 'measurement file to write (JSON); traces go next to it as NAME[.runR].trace.jsonl')
    .option('--json', 'print the measurement (the file\'s contents) as one JSON document on stdout')
    .action(async (opts: { variant: MountstormVariant; containers: number; layers: number; repeat: number; propagation?: PropagationMode; peers?: number; reader?: ReaderMode; readSize?: number; idleReads?: number; umountDetach?: boolean; unmountInspection?: boolean; processes?: boolean; idleMounts?: number; out: string; json?: boolean }, cmd: Command) => {
      const m = await measureMountstorm(
        {
          variant: opts.variant,
          containers: opts.containers,
          layers: opts.layers,
          repeat: opts.repeat,
          ...(opts.propagation ? { propagation: opts.propagation } : {}),
          ...(opts.peers !== undefined ? { peers: opts.peers } : {}),
          ...(opts.reader ? { reader: opts.reader } : {}),
          ...(opts.readSize !== undefined ? { readSize: opts.readSize } : {}),
          ...(opts.idleReads !== undefined ? { idleReads: opts.idleReads } : {}),
          ...(opts.umountDetach ? { umountDetach: true } : {}),
          ...(opts.unmountInspection ? { unmountInspection: true } : {}),
          ...(opts.processes ? { processes: true } : {}),
          ...(opts.idleMounts !== undefined ? { idleMounts: opts.idleMounts } : {}),
        },
        ctxOf(opts.out, cmd),
      );
      if (m.kind !== 'mountstorm') return;
      if (opts.json) return void process.stdout.write(jsonDocument(m));
      const ms = (ns: number) => (ns / 1e6).toFixed(2);
      const p50 = m.results.spread['p50Ns']!;
      const extra: string[] = [];
      if (m.config.propagation) extra.push(`${m.config.propagation}, ${m.config.peers} peers`);
      if (m.config.idleMounts) extra.push(`${m.config.idleMounts} idle mounts`);
      for (const op of ['open_tree', 'move_mount', 'umount']) {
        const s = m.results.spread[`op.${op}`];
        if (s) extra.push(`${op} ${(s.median / 1e3).toFixed(1)} us`);
      }
      for (const [k, label] of [['read.idleP50Ns', 'idle read'], ['read.stormP50Ns', 'read in storm'], ['read.stormMaxNs', 'slowest read in storm']] as const) {
        const s = m.results.spread[k];
        if (s) extra.push(`${label} ${ms(s.median)} ms`);
      }
      process.stdout.write(`mountstorm ${m.config.variant} K=${m.config.containers} L=${m.config.layers} x${m.config.repeat}: launch p50 ${ms(p50.median)} ms (runs ${ms(p50.min)}-${ms(p50.max)} ms)${extra.length ? `; ${extra.join(', ')} (medians of runs)` : ''}; wrote ${opts.out} and ${m.results.traces.join(', ')}\n`);
      const transfers = m.results.runs.flatMap((r) => (r.transferNs ? [r.transferNs.before, r.transferNs.after] : []));
      if (transfers.length) {
        const lo = Math.min(...transfers), hi = Math.max(...transfers);
        process.stdout.write(`  one-way transfer between the first two cpus: ${lo.toFixed(1)}-${hi.toFixed(1)} ns over the runs\n`);
        if (otherPlacement(lo, hi)) process.stderr.write(`warning: the transfer between the cpus changed between or during the runs (${lo.toFixed(0)}-${hi.toFixed(0)} ns): the host moved a vcpu, so these runs mix two machines; measure again\n`);
      }
    });

  program
    .command('calibrate')
    .description('Fit this host\'s models to probe measurements (Levenberg-Marquardt): same-L3 transfer and pause from lockbench files, six kernel cost scale factors and the per-mount cost in ns (mountTableWalkNs) from mountstorm files; writes hardware.yaml, kernel.yaml and calibration.json')
    .argument('[files...]', 'measurement files from `locksim measure lockbench|mountstorm` (the calibration set; a `measure wakeup` file among them goes into the base hardware model); none with --record')
    .option('--record <dir>', 'record the calibration set on this machine first (root; probes: wakeup, lockbench, mount storms with traces), then fit; writes DIR/measurements, DIR/calibration.json, hardware.yaml and kernel.yaml')
    .addOption(new Option('--set <set>', 'with --record: which calibration set (reduced: the same shapes, smaller, ~1 min)').choices(['full', 'reduced']).default('full'))
    .option('--validate', 'with --record: also record a held-out set (DIR/heldout, configurations the fit does not see), pass for pass with the calibration set so both see the same minutes of the machine, then validate the fit on it (DIR/validation)')
    .option('--hardware <file>', 'hardware model of this host to start from (default: read now, as `locksim host topology` would)')
    .option('--kernel <model>', 'kernel model to fit (name in models/kernel or a path)', 'linux-6.6')
    .option('-o, --out <dir>', 'directory for hardware.yaml, kernel.yaml and calibration.json (with --record: the same directory)')
    .action(async (files: string[], opts: { hardware?: string; kernel: string; out?: string; record?: string; set: 'full' | 'reduced'; validate?: boolean }, cmd: Command) => {
      const command = shellQuote(invokedAs(cmd));
      if (opts.validate && opts.record === undefined) throw commandLineError('--validate', '--record DIR as well (it records the held-out set beside the calibration set)', 'no --record');
      if (opts.record !== undefined && files.length > 0) throw commandLineError('[files...]', 'no measurement files with --record (it records its own)', JSON.stringify(files[0]));
      if (opts.record !== undefined && opts.out !== undefined && opts.out !== opts.record) throw commandLineError('--out', `no --out with --record, or the same directory (${opts.record})`, JSON.stringify(opts.out));
      if (opts.record === undefined && files.length === 0) throw commandLineError('[files...]', 'measurement files, or --record DIR to record them on this machine', 'none');
      if (opts.record === undefined && opts.out === undefined) throw commandLineError('--out', 'an output directory (-o DIR)', 'none');
      const outDir = opts.record ?? opts.out!;
      let wakeupFile: string | null = null;
      let heldOutFiles: string[] = [];
      if (opts.record !== undefined) {
        const t0 = Date.now();
        const rec = await recordCalibrationSet(opts.record, CALIBRATION_SETS[opts.set], (line) => process.stderr.write(`recorded ${line} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`), opts.validate ? HELDOUT_SETS[opts.set] : null);
        files = rec.files;
        heldOutFiles = rec.heldOutFiles;
        if (!opts.hardware) wakeupFile = rec.wakeupFile;
      } else {
        // A wake-up measurement among the files (a recorded set's measurements/*.json) feeds the base hardware model, as with --record.
        const wakeups = files.filter((f) => loadMeasurement(f).kind === 'wakeup');
        if (wakeups.length > 1) throw commandLineError('[files...]', 'at most one wakeup measurement', `${wakeups.length} (${wakeups.join(', ')})`);
        if (wakeups.length === 1 && opts.hardware) throw commandLineError('[files...]', 'no wakeup measurement with --hardware (the hardware model says what wake-ups cost; make it with `host topology --wakeup`)', JSON.stringify(wakeups[0]));
        wakeupFile = wakeups[0] ?? null;
        files = files.filter((f) => !wakeups.includes(f));
      }
      let hardwareText: string;
      let hardwareShownAs: string;
      if (opts.hardware) {
        try {
          hardwareText = readFileSync(opts.hardware, 'utf8');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          throw new InputError({ file: opts.hardware, line: 1, column: 1, field: '--hardware', expected: 'a readable hardware model file', got: code === 'ENOENT' ? 'no such file' : `error ${code}` });
        }
        hardwareShownAs = opts.hardware;
      } else {
        hardwareText = modelFileText(hostToModel(readSysfsTopology(), { name: 'host', ...(wakeupFile ? { wakeup: wakeupEvidence(wakeupFile) } : {}) }), { command });
        hardwareShownAs = 'this host read from /sys';
      }
      const run = await runCalibration({ files, hardwareText, hardwareShownAs, kernel: opts.kernel, outDir, command });
      const out: string[] = [];
      for (const [what, fit] of [['lockbench', run.lockFit], ['mountstorm', run.mountFit]] as const) {
        if (!fit) continue;
        out.push(`${what}: ${fit.points.length} configurations, ${fit.points.reduce((n, p) => n + p.measured.length, 0)} runs; ${fit.iterations} iterations, ${fit.evaluations} simulations, ${fit.seconds.toFixed(1)} s; rms relative residual ${(fit.rmsRelative * 100).toFixed(1)}%${what === 'lockbench' && run.lockFit?.otherPlacementRuns ? ` (${run.lockFit.otherPlacementRuns} run(s) on another placement of the vcpus left out: they measured another machine)` : ''}`);
        for (const p of fit.parameters) out.push(`  ${p.name} = ${p.value.toPrecision(4)} +- ${Number.isFinite(p.stdError) ? p.stdError.toPrecision(2) : 'n/a (not identifiable)'} ${p.unit}  (${p.description})`);
        for (const p of fit.points) {
          const m = p.measured.reduce((a, b) => a + b, 0) / p.measured.length;
          out.push(`    ${p.label}: measured ${m.toPrecision(4)}, fitted ${p.predicted.toPrecision(4)} (${((p.predicted / m - 1) * 100).toFixed(1)}%)`);
        }
      }
      // How much the machine moved while the set was recorded: a fit cannot follow it, and predictions carry it.
      const timed = timedRuns(files);
      for (const what of ['mountstorm', 'lockbench'] as const) {
        const drift = formatSpeedDrift(`${what} calibration runs`, speedDrift(timed[what]));
        if (drift) out.push(drift);
      }
      const note = runConditionsNote(runConditions(files), shownPath);
      if (note) out.push(note);
      out.push(`wrote ${run.written.map(shownPath).join(', ')}`);
      if (heldOutFiles.length > 0) {
        // The fit's own record, read back as validate reads any calibration.
        const calibration = join(outDir, 'calibration.json');
        const report = validate(loadCalibrationRecord(calibration), heldOutFiles);
        const validationDir = join(outDir, 'validation');
        await writeOutputs(validationDir, await validationOutputs(report, { command, calibration }));
        const note = runConditionsNote(runConditions(heldOutFiles), shownPath);
        out.push('', `validation on the held-out set (${shownPath(join(outDir, HELDOUT_DIR))}):`, formatValidation(report).trimEnd(), ...(note ? [note] : []), `wrote ${shownPath(join(validationDir, 'validation.json'))}, validation.csv and charts`);
      }
      process.stdout.write(out.join('\n') + '\n');
    });

  program
    .command('validate')
    .description('Predict held-out measurements with the models `locksim calibrate` fitted: per point the error beside the run-to-run spread, MAPE, and charts of measured and predicted curves')
    .argument('<files...>', 'held-out measurement files (runs and configurations calibration did not use)')
    .requiredOption('--calibration <file>', 'calibration.json written by `locksim calibrate`')
    .option('--hardware <file>', 'hardware model instead of the calibration\'s')
    .option('--kernel <model>', 'kernel model instead of the calibration\'s (name or path)')
    .requiredOption('-o, --out <dir>', 'directory for validation.json, validation.csv and the charts')
    .option('--json', 'print the report (every point, MAPE, run-to-run CV) as one JSON document on stdout instead of the table')
    .action(async (files: string[], opts: { calibration: string; hardware?: string; kernel?: string; out: string; json?: boolean }, cmd: Command) => {
      const record = loadCalibrationRecord(opts.calibration);
      const notice = otherMachineNotice(record.machine, machineIdentity(), opts.calibration);
      if (notice) process.stderr.write(notice + '\n');
      const report = validate(record, files, { ...(opts.hardware ? { hardwareModel: opts.hardware } : {}), ...(opts.kernel ? { kernelModel: opts.kernel } : {}) });
      await writeOutputs(opts.out, await validationOutputs(report, { command: shellQuote(invokedAs(cmd)), calibration: opts.calibration }));
      if (opts.json) process.stdout.write(jsonDocument(report));
      else {
        const note = runConditionsNote(runConditions(files), shownPath);
        process.stdout.write(formatValidation(report) + (note ? note + '\n' : '') + `wrote ${shownPath(join(opts.out, 'validation.json'))}, validation.csv and charts\n`);
      }
    });

  program
    .command('import-strace')
    .description('Turn `strace -f -tt -T` output of a container runtime into a locksim trace (docs/trace-format.md)')
    .argument('<file>', 'strace output file')
    .requiredOption('-o, --out <file>', 'trace file to write (JSON Lines)')
    .option('--variant <name>', 'variant name stored in the trace header', 'strace')
    .option('--pid <list>', 'keep only these thread ids and the threads they start (comma-separated), e.g. the runtime\'s pid', pidList)
    .option('--comm <names>', 'keep only threads with these command names (comma-separated; from strace -Y, execve or prctl), e.g. containerd,runc', (v: string) => v.split(',').map((n) => n.trim()).filter(Boolean))
    .action(async (file: string, opts: { out: string; variant: string; pid?: number[]; comm?: string[] }) => {
      const text = readInputFile(file, 'a readable strace output file');
      const imported = importStrace(text, file, { variant: opts.variant, ...(opts.pid ? { pids: opts.pid } : {}), ...(opts.comm ? { comms: opts.comm } : {}) });
      if ((opts.pid || opts.comm) && imported.trace.header.containers.length === 0) {
        const what = [opts.pid ? `pid ${opts.pid.join(',')}` : '', opts.comm ? `command ${opts.comm.join(',')}` : ''].filter(Boolean).join(' and ');
        throw new InputError({ file, line: 1, column: 1, field: opts.pid ? '--pid' : '--comm', expected: `mount calls of ${what} (record with -Y or trace execve and clone to give threads names and parents)`, got: 'none' });
      }
      await atomicWrite(opts.out, writeTrace(imported.trace.header, imported.trace.ops));
      const skipped = imported.failedCalls + imported.unfinishedCalls;
      process.stdout.write(`${imported.trace.ops.count} ops of ${imported.trace.header.containers.length} containers${skipped ? ` (${imported.failedCalls} failed and ${imported.unfinishedCalls} unfinished calls left out)` : ''}; wrote ${opts.out}\n`);
    });
}

export { HostCapabilityError };
