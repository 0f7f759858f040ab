// `locksim measure`: runs one of the C probes on this host and keeps the run as
// a measurement file (JSON): what was run (exact argv and configuration), on
// what (topology, kernel, CPU model), when, and the probe's validated output.
// A measurement is a record of a real run, so unlike simulation results it
// carries a timestamp. The mount storm also keeps its trace (JSON Lines, one
// file per repetition) next to the measurement file.

import type { LockData } from '../bench/lockMicrobench.ts';
import { removeStaleTemps } from './staleTemps.ts';
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { commandLineError, InputError } from '../config/errors.ts';
import { YamlSource, readInputFile } from '../config/yamlLoad.ts';
import { atomicWrite } from '../report/atomicWrite.ts';
import { parseTrace } from '../workload/trace.ts';
import {
  buildProbes,
  canMountIdmapped,
  lockbenchResultSchema,
  MOUNTSTORM_VARIANTS,
  mountstormSummarySchema,
  pingpongResultSchema,
  wakeupResultSchema,
  PROBE_EXIT,
  PROPAGATION_MODES,
  ProbeError,
  READER_MODES,
  probePath,
  runProbe,
  type MountstormSummary,
  type MountstormVariant,
  type ProbeName,
  type PropagationMode,
  type ReaderMode,
  type ProbeResults,
  type WakeupResult,
} from './probes.ts';
import { machineIdentity, machineIdentitySchema } from './machineIdentity.ts';
import { otherRunnable } from './hostLoad.ts';
import { kernelConfigSchema, readKernelConfig } from './kernelConfig.ts';
import { readSysfsTopology, topologySummary, type HostTopology, type PingpongEvidence, type WakeupEvidence } from './topology.ts';
import { median } from '../bench/stats.ts';
import { formatMicroseconds as us } from '../report/units.ts';

/**
 * The host cannot do what was asked (no privilege, no C compiler, a kernel
 * without idmapped mounts): the input was fine, so the CLI exits 3, not 2.
 */
export class HostCapabilityError extends Error {
  readonly exitCode = 3;
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'HostCapabilityError';
  }
}

export const MEASUREMENT_FORMAT = 'locksim-measurement';

const count = z.number().int().nonnegative();
const hostCpuSchema = z.strictObject({ cpu: count, socket: count, core: count, l3: count, thread: count });
const hostSchema = z.strictObject({
  topology: z.strictObject({ sockets: count, cores: count, cpus: count, l3Groups: count, cpuMap: z.array(hostCpuSchema) }),
  kernel: z.string(),
  cpuModel: z.string(),
  /** Vendor, family, model, cpus and kernel release: which machine this is (files before it lack it). */
  machine: machineIdentitySchema.optional(),
  /** Mean runnable tasks of other work sampled before the run(s) (src/host/hostLoad.ts); absent in older files. */
  otherRunnable: z.number().nonnegative().optional(),
  /** The kernel's preemption model, RCU flavour and HZ (src/host/kernelConfig.ts); absent in older files or where the config cannot be read. */
  kernelConfig: kernelConfigSchema.optional(),
});

/** How far the repetitions of one mount storm configuration spread, per statistic. */
const spreadSchema = z.strictObject({ min: z.number(), median: z.number(), max: z.number(), spreadPct: z.number() });
const mountstormResultsSchema = z.strictObject({
  runs: z.array(mountstormSummarySchema).min(1),
  /** Trace file of each run, relative to the measurement file. */
  traces: z.array(z.string()),
  spread: z.record(z.string(), spreadSchema),
});

const common = {
  format: z.literal(MEASUREMENT_FORMAT),
  version: z.literal(1),
  host: hostSchema,
  /** The probe's exact argv (of the first run, for repeated runs). */
  command: z.array(z.string()).min(1),
  /** How locksim was invoked, when it was the CLI. */
  invokedAs: z.array(z.string()).optional(),
  startedAt: z.string(),
};

export const measurementSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('lockbench'), config: z.strictObject({ lock: z.enum(['ttas', 'ticket']), threads: z.number().int().positive(), cpus: z.array(count).nullable(), csNs: count, thinkNs: count, durationMs: z.number().int().positive(), data: z.enum(['same-line', 'own-line']).optional() }), results: lockbenchResultSchema }),
  z.strictObject({ ...common, kind: z.literal('pingpong'), config: z.strictObject({ cpus: z.array(count).nullable(), samples: z.number().int().positive(), iterations: z.number().int().positive() }), results: pingpongResultSchema }),
  z.strictObject({
    ...common,
    kind: z.literal('wakeup'),
    config: z.strictObject({ cpus: z.tuple([count, count]).nullable(), samples: z.number().int().positive(), gapsUs: z.array(z.number().int().positive()).min(1), repeat: z.number().int().positive() }),
    /** One probe run each; the model takes the median over runs of each number (one run disturbed by other work does not decide). */
    results: z.strictObject({ runs: z.array(wakeupResultSchema).min(1) }),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('mountstorm'),
    config: z.strictObject({
      variant: z.enum(MOUNTSTORM_VARIANTS),
      layers: z.number().int().positive(),
      containers: z.number().int().positive(),
      repeat: z.number().int().positive(),
      // Mount propagation and the mountinfo reader (docs/validation.md, "Mount propagation, measured"); absent in older files.
      propagation: z.enum(PROPAGATION_MODES).optional(),
      peers: count.optional(),
      reader: z.enum(READER_MODES).optional(),
      readSize: z.number().int().positive().optional(),
      idleReads: count.optional(),
      umountDetach: z.literal(true).optional(),
      unmountInspection: z.literal(true).optional(),
      processes: z.literal(true).optional(),
      // Binds made before the storm beside its targets: the table open_tree walks (absent in older files: none).
      idleMounts: z.number().int().positive().optional(),
    }),
    results: mountstormResultsSchema,
  }),
]);
export type Measurement = z.infer<typeof measurementSchema>;

/** Reads and validates a measurement file; bad JSON or a wrong field is an InputError at its line:column. */
export function loadMeasurement(file: string): Measurement {
  const text = readInputFile(file, 'a readable measurement file (from `locksim measure`)');
  return parseMeasurement(text, file);
}

export function parseMeasurement(text: string, file: string): Measurement {
  try {
    JSON.parse(text);
  } catch (e) {
    // V8 names the offset ("at position N") except for input that ends too
    // early, which is where a truncated file fails: at its end.
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    const offset = at ? Number(at[1]) : text.length;
    const { line, column } = lineColumn(text, offset);
    throw new InputError({ file, line, column, field: '(json)', expected: 'complete, valid JSON', got: /end of JSON input/i.test(msg) ? 'the end of the file (truncated?)' : msg.replace(/ in JSON at position \d+.*$/, '') });
  }
  // JSON is YAML, and the YAML loader knows every value's position, so schema
  // errors point at the offending line like they do for model files.
  return new YamlSource(text, file).validate(measurementSchema);
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** What a model file takes from a pingpong measurement (see src/host/topology.ts). */
export function pingpongEvidence(file: string): PingpongEvidence {
  const m = loadMeasurement(file);
  if (m.kind !== 'pingpong') {
    throw new InputError({ file, line: 1, column: 1, field: 'kind', expected: 'a pingpong measurement (`locksim measure pingpong`)', got: JSON.stringify(m.kind) });
  }
  const src = new YamlSource(readFileSync(file, 'utf8'), file);
  const { line, column } = src.locate(['host', 'topology']);
  const t = m.host.topology;
  return {
    file,
    startedAt: m.startedAt,
    cpuMap: t.cpuMap,
    hostSummary: { sockets: t.sockets, cores: t.cores, cpus: t.cpus, l3Groups: t.l3Groups },
    cpus: m.results.cpus,
    matrixNs: m.results.matrixNs,
    hostRef: { file, line, column, name: 'host.topology' },
  };
}

/**
 * What a model file takes from a wakeup measurement (the hardware model's
 * `wakeup`, src/host/topology.ts): the local and remote wake-to-run medians,
 * the remote one at the shortest idle gap measured (the regime of storms, where
 * a CPU idles tens of microseconds between hand-offs), and the share of
 * wake-ups that waited on their previous CPU, busy with the waker, while the
 * other idled, and the share that ran on their previous CPU within 1 ms
 * while another thread spun there in user mode (wake-up preemption).
 */
export function wakeupEvidence(file: string, m: Measurement = loadMeasurement(file)): WakeupEvidence {
  if (m.kind !== 'wakeup') {
    throw new InputError({ file, line: 1, column: 1, field: 'kind', expected: 'a wakeup measurement (`locksim measure wakeup`)', got: JSON.stringify(m.kind) });
  }
  const runs = m.results.runs;
  const mid = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
  const gaps = runs[0]!.remote.map((x) => x.gapNs);
  const shortest = Math.min(...gaps);
  const p50At = (gap: number) => mid((r) => r.remote.find((x) => x.gapNs === gap)?.latency.p50Ns ?? NaN);
  const remoteByGap = gaps.map((g) => ({ gapNs: g, p50Ns: p50At(g) }));
  const share = (p: (r: (typeof runs)[number]) => { onWaker: number; onOther: number }, n: (r: (typeof runs)[number]) => number) => mid((r) => n(r) / (p(r).onWaker + p(r).onOther));
  return {
    file,
    startedAt: m.startedAt,
    cpus: m.host.topology.cpus,
    runs: runs.length,
    ...(m.host.otherRunnable !== undefined ? { otherRunnable: m.host.otherRunnable } : {}),
    localNs: mid((r) => r.local.p50Ns),
    remoteNs: p50At(shortest),
    remoteGapNs: shortest,
    remoteByGap,
    ...haltPollEvidence(remoteByGap),
    waitOnPrevious: { share: share((r) => r.placementSame, (r) => r.placementSame.onWaker), samples: runs[0]!.placementSame.onWaker + runs[0]!.placementSame.onOther },
    preemptOnPrevious: { share: share((r) => r.placementBusy, (r) => r.placementBusy.onOtherWithin1ms), samples: runs[0]!.placementBusy.onWaker + runs[0]!.placementBusy.onOther },
    ...(runs.every((r) => r.wakeCall) ? { wakeCall: { localNs: mid((r) => r.wakeCall!.localP50Ns), remoteNs: mid((r) => r.wakeCall!.remoteP50Ns), noneNs: mid((r) => r.wakeCall!.noneP50Ns) } } : {}),
    ...stolenEvidence(runs, 'ipi'),
    ...stolenEvidence(runs, 'gracePeriod'),
    ...addressSpaceEvidence(runs),
  };
}

/**
 * What loading another address space adds to a context switch, when every
 * run measured the rings (the probe's addressSpace): per ring the median
 * over runs of each run's median batch; processes less threads, at least 0.
 */
function addressSpaceEvidence(runs: WakeupResult[]): Pick<WakeupEvidence, 'addressSpace'> {
  const got = runs.map((r) => (r.addressSpace && 'handoffNs' in r.addressSpace ? r.addressSpace.handoffNs : null));
  if (got.length === 0 || got.some((x) => x === null)) return {};
  const rings = got as NonNullable<(typeof got)[number]>[];
  const ring = (k: keyof (typeof rings)[number]) => median(rings.map((r) => median(r[k])));
  const handoffNs = { threads2: ring('threads2'), processes2: ring('processes2'), threads3: ring('threads3'), processes3: ring('processes3') };
  return { addressSpace: { recentNs: Math.max(0, Math.round(handoffNs.processes2 - handoffNs.threads2)), otherNs: Math.max(0, Math.round(handoffNs.processes3 - handoffNs.threads3)), handoffNs } };
}

/**
 * The host's halt polling as the probe's gap sweep shows it (the remote
 * wake-ups at each idle gap, in the order measured): a vCPU idle past the
 * host's polling window is blocked, and a wake-up onto it costs the host's
 * wake-up of its thread. With the gaps measured shortest first, KVM's window
 * grows with each gap (virt/kvm/kvm_main.c, grow_halt_poll_ns) up to its
 * ceiling, halt_poll_ns, so the wake-ups stay fast up to the ceiling and are
 * slow beyond: `maxNs` is the midpoint between the longest fast gap and the
 * shortest slow one after which every gap is slow, `haltedNs` the wake-up
 * at the longest gap. A wake-up is slow when its median is over the
 * geometric midpoint of the shortest gap's and the longest's. Nothing when
 * the sweep has fewer than three gaps, is not in ascending order, starts
 * slow, ends less than twice as slow as it starts (no blocking seen: a
 * machine whose idle CPUs wake fast), or has its step between gaps more than
 * 2x apart (the sweep of 20, 100 and 1,000 us before 2026-12-01: too coarse
 * to place the ceiling).
 */
export function haltPollEvidence(byGap: { gapNs: number; p50Ns: number }[]): Pick<WakeupEvidence, 'haltPoll'> {
  if (byGap.length < 3 || byGap.some((g, i) => i > 0 && g.gapNs <= byGap[i - 1]!.gapNs)) return {};
  const fast = byGap[0]!.p50Ns;
  const halted = byGap[byGap.length - 1]!.p50Ns;
  if (!(halted >= 2 * fast)) return {};
  const threshold = Math.sqrt(fast * halted);
  let firstSlow = byGap.length - 1;
  while (firstSlow > 0 && byGap[firstSlow - 1]!.p50Ns > threshold) firstSlow--;
  if (firstSlow === 0) return {};
  const lastFast = byGap[firstSlow - 1]!;
  // A sweep too coarse to place the ceiling (the gaps around the step more than 2x apart) says nothing about it.
  if (byGap[firstSlow]!.gapNs > 2 * lastFast.gapNs) return {};
  return { haltPoll: { haltedNs: halted, maxNs: Math.round((lastFast.gapNs + byGap[firstSlow]!.gapNs) / 2), lastFastGapNs: lastFast.gapNs, firstSlowGapNs: byGap[firstSlow]!.gapNs } };
}

/** One clause for people: where the host stops polling an idle vCPU and what waking it then takes (`measure wakeup`, `calibrate --record`). */
export function describeHaltPoll(h: NonNullable<WakeupEvidence['haltPoll']>): string {
  return `the host blocks an idle vcpu after ${us(h.lastFastGapNs)}-${us(h.firstSlowGapNs)} of idle (its halt-polling ceiling) and then takes ${us(h.haltedNs)} to wake it`;
}

/**
 * The time one interrupt source stole per call from a thread busy on the
 * other CPU, the median over runs of each run's median batch (with the
 * runs' smallest and largest batch), when every run measured it. Nothing
 * when that median is under 0.5 ns: the spinner was not there to be
 * interrupted (other processes had its CPU; seen while the test suite ran
 * on both CPUs), so the runs measured no cost rather than a zero one.
 */
function stolenEvidence(runs: WakeupResult[], source: 'ipi' | 'gracePeriod'): Partial<Pick<WakeupEvidence, 'ipiStolen' | 'gracePeriodStolen'>> {
  const got = runs.map((r) => r.interrupts?.[source]).map((x) => (x && 'stolenPerCallNs' in x ? x : null));
  if (got.length === 0 || got.some((x) => x === null)) return {};
  const xs = got as { stolenPerCallNs: { min: number; median: number; max: number }; callNs: { median: number } }[];
  const ev = {
    ns: median(xs.map((x) => x.stolenPerCallNs.median)),
    minNs: Math.min(...xs.map((x) => x.stolenPerCallNs.min)),
    maxNs: Math.max(...xs.map((x) => x.stolenPerCallNs.max)),
    callNs: median(xs.map((x) => x.callNs.median)),
    calls: runs[0]!.interrupts!.callsPerBatch * runs[0]!.interrupts!.batches,
  };
  if (!(ev.ns >= 0.5)) return {};
  return source === 'ipi' ? { ipiStolen: ev } : { gracePeriodStolen: ev };
}

// ---------------------------------------------------------------------------
// Running

export interface MeasureContext {
  /** Where the measurement file goes. */
  out: string;
  /** The locksim argv, recorded as invokedAs. */
  invokedAs?: string[];
  /** The host reading (default: this machine's sysfs). */
  host?: HostTopology;
  /** Kill a probe run after this long. */
  timeoutMs?: number;
}

/** This host's kernel config, read once per process (it cannot change while the process runs). */
let kernelConfigRead: ReturnType<typeof readKernelConfig> | undefined;
function hostKernelConfig(): ReturnType<typeof readKernelConfig> {
  if (kernelConfigRead === undefined) kernelConfigRead = readKernelConfig();
  return kernelConfigRead;
}

/** The host part of a measurement; `load`: otherRunnable samples taken before the runs (their mean is kept, when there are any). */
function hostRecord(host: HostTopology, load: number[] = []): Measurement['host'] {
  const { cpuMap, ...counts } = topologySummary(host);
  const config = hostKernelConfig();
  const record = { topology: { ...counts, cpuMap }, kernel: release(), cpuModel: host.cpuInfo.model ?? 'unknown', machine: machineIdentity(host), ...(config ? { kernelConfig: config } : {}) };
  return load.length > 0 ? { ...record, otherRunnable: Math.round((load.reduce((a, b) => a + b, 0) / load.length) * 1000) / 1000 } : record;
}

function ensureProbes(): void {
  const built = buildProbes();
  if (!built.ok) throw new HostCapabilityError(`cannot run probes on this host: ${built.message}`);
}

/** A probe that says "no privilege" or "unsupported" is a host limit; anything else stays a ProbeError. */
async function run<N extends ProbeName>(name: N, args: string[], timeoutMs?: number): Promise<ProbeResults[N]> {
  try {
    return await runProbe(name, args, timeoutMs === undefined ? {} : { timeoutMs });
  } catch (e) {
    if (e instanceof ProbeError && (e.exitCode === PROBE_EXIT.noPrivilege || e.exitCode === PROBE_EXIT.unsupported)) throw new HostCapabilityError(e.message);
    throw e;
  }
}

function probeArgv(name: ProbeName, args: string[]): string[] {
  // Relative to the current directory when inside it, so the record reads as a command one can retype.
  const p = probePath(name);
  const rel = relative(process.cwd(), p);
  return [rel.startsWith('..') ? p : rel, ...args];
}

/** The cpus of a --cpus list, each checked against this host's online cpus. */
function checkCpus(cpus: number[] | undefined, host: HostTopology, min: number): void {
  if (!cpus) return;
  const online = new Set(host.cpus.map((c) => c.cpu));
  const bad = cpus.find((c) => !online.has(c));
  const onlineText = `${[...online].sort((a, b) => a - b).join(',')}`;
  if (bad !== undefined) throw commandLineError('--cpus', `online cpus of this host (${onlineText})`, String(bad));
  if (new Set(cpus).size < min) throw commandLineError('--cpus', `at least ${min} different cpus`, cpus.join(','));
}

async function writeMeasurement(m: Measurement, out: string): Promise<void> {
  // Validated before writing so a file this code writes always loads.
  measurementSchema.parse(m);
  await atomicWrite(out, JSON.stringify(m, null, 2) + '\n');
}

export interface LockbenchOptions {
  lock?: 'ttas' | 'ticket';
  threads?: number;
  cpus?: number[];
  csNs?: number;
  thinkNs?: number;
  durationMs?: number;
  /** The protected counter the holder increments: none, on the lock's line (false sharing) or on its own. */
  data?: LockData;
}

export async function measureLockbench(opts: LockbenchOptions, ctx: MeasureContext): Promise<Measurement> {
  const host = ctx.host ?? readSysfsTopology();
  checkCpus(opts.cpus, host, 1);
  ensureProbes();
  const data = opts.data && opts.data !== 'none' ? opts.data : undefined;
  const config = { lock: opts.lock ?? 'ttas', threads: opts.threads ?? 2, cpus: opts.cpus ?? null, csNs: opts.csNs ?? 0, thinkNs: opts.thinkNs ?? 0, durationMs: opts.durationMs ?? 1000, ...(data ? { data } : {}) };
  const args = ['--lock', config.lock, '--threads', String(config.threads), '--cs-ns', String(config.csNs), '--think-ns', String(config.thinkNs), '--duration-ms', String(config.durationMs)];
  if (data) args.push('--data', data);
  if (config.cpus) args.push('--cpus', config.cpus.join(','));
  const startedAt = new Date().toISOString();
  const results = await run('lockbench', args, ctx.timeoutMs);
  const m: Measurement = { format: MEASUREMENT_FORMAT, version: 1, kind: 'lockbench', host: hostRecord(host), command: probeArgv('lockbench', args), ...(ctx.invokedAs ? { invokedAs: ctx.invokedAs } : {}), config, results, startedAt };
  await writeMeasurement(m, ctx.out);
  return m;
}

export interface PingpongOptions {
  /** Default: every cpu this process may run on, all pairs. */
  cpus?: number[];
  samples?: number;
  iterations?: number;
}

export async function measurePingpong(opts: PingpongOptions, ctx: MeasureContext): Promise<Measurement> {
  const host = ctx.host ?? readSysfsTopology();
  checkCpus(opts.cpus, host, 2);
  if (!opts.cpus && host.cpus.length < 2) throw new HostCapabilityError('pingpong needs at least 2 cpus; this host has 1');
  ensureProbes();
  const config = { cpus: opts.cpus ?? null, samples: opts.samples ?? 300, iterations: opts.iterations ?? 1000 };
  const args = ['--samples', String(config.samples), '--iterations', String(config.iterations)];
  if (config.cpus) args.push('--cpus', config.cpus.join(','));
  const startedAt = new Date().toISOString();
  const results = await run('pingpong', args, ctx.timeoutMs);
  const m: Measurement = { format: MEASUREMENT_FORMAT, version: 1, kind: 'pingpong', host: hostRecord(host), command: probeArgv('pingpong', args), ...(ctx.invokedAs ? { invokedAs: ctx.invokedAs } : {}), config, results, startedAt };
  await writeMeasurement(m, ctx.out);
  return m;
}

export interface WakeupOptions {
  /** The two cpus (default: the first two this process may run on). */
  cpus?: [number, number];
  samples?: number;
  /** How long the wakee's CPU idles before each remote wake-up, in us. */
  gapsUs?: number[];
  /** Probe runs (default 5): the model takes each number's median over them. */
  repeat?: number;
}

/**
 * The idle gaps of the remote wake-ups, shortest first (probes/wakeup.c's
 * default): fine between 20 and 150 us, where a host's halt-polling ceiling
 * lies (KVM's default halt_poll_ns is 200 us on x86; this repository's guest
 * stops polling between 120 and 150 us), then out to 1 ms, where every
 * polled vCPU has been blocked.
 */
export const WAKEUP_GAPS_US = [20, 40, 60, 80, 100, 120, 150, 200, 300, 500, 1000];

/** probes/wakeup: wake-to-run latency on the waker's CPU and onto another idle one, and where a free wakee runs. */
export async function measureWakeup(opts: WakeupOptions, ctx: MeasureContext): Promise<Measurement> {
  const host = ctx.host ?? readSysfsTopology();
  checkCpus(opts.cpus, host, 2);
  if (!opts.cpus && host.cpus.length < 2) throw new HostCapabilityError('wakeup needs at least 2 cpus; this host has 1');
  ensureProbes();
  const config = { cpus: opts.cpus ?? null, samples: opts.samples ?? 400, gapsUs: opts.gapsUs ?? WAKEUP_GAPS_US, repeat: opts.repeat ?? 5 };
  const args = ['--samples', String(config.samples), '--gaps-us', config.gapsUs.join(',')];
  if (config.cpus) args.push('--cpus', config.cpus.join(','));
  const startedAt = new Date().toISOString();
  const runs = [];
  // Other work decides where wake-ups land (an "idle" CPU that runs someone
  // else is not idle), so the load before each run is kept with the file.
  const load: number[] = [];
  for (let i = 0; i < config.repeat; i++) {
    const others = await otherRunnable();
    if (others !== null) load.push(others);
    runs.push(await run('wakeup', args, ctx.timeoutMs));
  }
  const results = { runs };
  const m: Measurement = { format: MEASUREMENT_FORMAT, version: 1, kind: 'wakeup', host: hostRecord(host, load), command: probeArgv('wakeup', args), ...(ctx.invokedAs ? { invokedAs: ctx.invokedAs } : {}), config, results, startedAt };
  await writeMeasurement(m, ctx.out);
  return m;
}

export interface MountstormOptions {
  variant: MountstormVariant;
  layers: number;
  containers: number;
  /** Runs of the same configuration, to see run-to-run spread (default 1). */
  repeat?: number;
  /** The layers' mount shared (its clones join its peer group) or private; absent: the probe's original setup. */
  propagation?: PropagationMode;
  /** A pre-built peer group of this many binds (needs propagation shared). */
  peers?: number;
  /** A concurrent /proc/self/mountinfo reader in a slave or private mount namespace. */
  reader?: ReaderMode;
  /** The reader's read() size in bytes (default 4096). */
  readSize?: number;
  /** Reads before the storm starts (default 5). */
  idleReads?: number;
  /** umount2 with MNT_DETACH (containerd's), skipping the busy check's walk. */
  umountDetach?: boolean;
  /** Each container unmounts pass 1's overlay (the inspection mount) before pass 2, as containerd's WithTempMount does. */
  unmountInspection?: boolean;
  /** One process per container, forked one after another at the release, instead of threads already running. */
  processes?: boolean;
  /** Plain binds made before the storm beside its bind targets (children of the same mount): the list open_tree's has_locked_children walks, longer by this many. */
  idleMounts?: number;
}

/**
 * Per-run statistics the spread is reported for: the launch statistics, the
 * median of each operation kind (op.NAME), and for a reader the median idle
 * read, the median and slowest read during the storm. A statistic that some
 * run lacks (no read fell inside a short storm) is left out.
 */
export function runStatistics(run: MountstormSummary): Record<string, number> {
  const out: Record<string, number> = { wallNs: run.wallNs, meanNs: run.meanNs, p50Ns: run.p50Ns, p99Ns: run.p99Ns, maxNs: run.maxNs };
  for (const [op, ns] of Object.entries(run.opP50Ns ?? {})) out[`op.${op}`] = ns;
  for (const [op, ns] of Object.entries(run.opCpuP50Ns ?? {})) out[`opCpu.${op}`] = ns;
  if (run.reader) {
    const idle = run.reader.reads.filter((r) => !r.duringStorm && r.startNs < 0).map((r) => r.durNs);
    const storm = run.reader.reads.filter((r) => r.duringStorm).map((r) => r.durNs);
    if (idle.length) {
      out['read.idleP50Ns'] = median(idle);
      out['read.idleCpuP50Ns'] = median(run.reader.reads.filter((r) => !r.duringStorm && r.startNs < 0).map((r) => r.cpuNs));
    }
    if (storm.length) {
      out['read.stormP50Ns'] = median(storm);
      out['read.stormMaxNs'] = Math.max(...storm);
    }
  }
  return out;
}

/** Trace file names next to `out`: NAME.trace.jsonl, or NAME.runR.trace.jsonl for repeated runs. */
export function traceFileNames(out: string, repeat: number): string[] {
  const stem = basename(out).replace(/\.json$/i, '');
  return Array.from({ length: repeat }, (_, r) => (repeat === 1 ? `${stem}.trace.jsonl` : `${stem}.run${r + 1}.trace.jsonl`));
}

function spread(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const mid = median(s);
  return { min: s[0]!, median: mid, max: s[s.length - 1]!, spreadPct: mid > 0 ? Math.round(((s[s.length - 1]! - s[0]!) / mid) * 1000) / 10 : 0 };
}

export async function measureMountstorm(opts: MountstormOptions, ctx: MeasureContext): Promise<Measurement> {
  // Flags that make no sense together are bad input (exit 2) on any host, so they are checked before privilege.
  if (opts.peers && opts.propagation !== 'shared') throw commandLineError('--peers', 'with --propagation shared (only a shared mount has peers)', String(opts.peers));
  if ((opts.readSize !== undefined || opts.idleReads !== undefined) && !opts.reader) throw commandLineError(opts.readSize !== undefined ? '--read-size' : '--idle-reads', 'with --reader slave|private', 'no --reader');
  if (opts.umountDetach && !opts.propagation) throw commandLineError('--umount-detach', 'with --propagation shared|private', 'no --propagation');
  const host = ctx.host ?? readSysfsTopology();
  const repeat = opts.repeat ?? 1;
  if (process.getuid?.() !== 0) throw new HostCapabilityError('measure mountstorm needs root (mount namespaces and idmapped mounts need CAP_SYS_ADMIN)');
  ensureProbes();
  // Every variant but the shifted untar makes idmapped mounts; find out before K x L syscalls fail.
  if (opts.variant !== 'shifted-untar') {
    const cap = canMountIdmapped();
    if (!cap.ok) throw new HostCapabilityError(`this host cannot make idmapped mounts: ${cap.reason}`);
  }
  const dir = dirname(ctx.out);
  const names = traceFileNames(ctx.out, repeat);
  // Traces half-written by a run that was killed: their writer is gone.
  removeStaleTemps(dir, (n) => n.includes('.trace.jsonl.'));
  // The probe writes its trace as it goes; it writes to a hidden name that is
  // renamed only when every run succeeded, like the measurement itself.
  const temps = names.map((n) => join(dir, `.${n}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`));
  const config = {
    variant: opts.variant,
    layers: opts.layers,
    containers: opts.containers,
    repeat,
    ...(opts.propagation ? { propagation: opts.propagation, peers: opts.peers ?? 0 } : {}),
    ...(opts.reader ? { reader: opts.reader, readSize: opts.readSize ?? 4096, idleReads: opts.idleReads ?? 5 } : {}),
    ...(opts.umountDetach ? { umountDetach: true as const } : {}),
    // A one-pass variant has no inspection mount to unmount: the flag changes nothing there, so it is not recorded.
    ...(opts.unmountInspection && opts.variant !== 'shifted-untar' ? { unmountInspection: true as const } : {}),
    ...(opts.processes ? { processes: true as const } : {}),
    ...(opts.idleMounts ? { idleMounts: opts.idleMounts } : {}),
  };
  const baseArgs = ['--variant', opts.variant, '--layers', String(opts.layers), '--containers', String(opts.containers)];
  if (config.propagation) baseArgs.push('--propagation', config.propagation, '--peers', String(config.peers));
  if (config.reader) baseArgs.push('--reader', config.reader, '--read-size', String(config.readSize), '--idle-reads', String(config.idleReads));
  if (config.umountDetach) baseArgs.push('--umount-detach');
  if (config.unmountInspection) baseArgs.push('--unmount-inspection');
  if (config.processes) baseArgs.push('--processes');
  if (config.idleMounts) baseArgs.push('--idle-mounts', String(config.idleMounts));
  const startedAt = new Date().toISOString();
  const runs: ProbeResults['mountstorm'][] = [];
  try {
    mkdirSync(dir, { recursive: true });
    const load: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const others = await otherRunnable();
      if (others !== null) load.push(others);
      runs.push(await run('mountstorm', [...baseArgs, '--trace', temps[r]!], ctx.timeoutMs));
      // The trace must load in the simulator; a probe writing something else is a bug worth stopping at.
      parseTrace(readFileSync(temps[r]!, 'utf8'), names[r]!);
    }
    const perRun = runs.map(runStatistics);
    const stats = Object.keys(perRun[0]!).filter((k) => perRun.every((r) => k in r));
    const results = { runs, traces: names, spread: Object.fromEntries(stats.map((k) => [k, spread(perRun.map((x) => x[k]!))])) };
    const m: Measurement = {
      format: MEASUREMENT_FORMAT,
      version: 1,
      kind: 'mountstorm',
      host: hostRecord(host, load),
      command: probeArgv('mountstorm', [...baseArgs, '--trace', names[0]!]),
      ...(ctx.invokedAs ? { invokedAs: ctx.invokedAs } : {}),
      config,
      results,
      startedAt,
    };
    measurementSchema.parse(m);
    temps.forEach((t, r) => renameSync(t, join(dir, names[r]!)));
    await writeMeasurement(m, ctx.out);
    return m;
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}
