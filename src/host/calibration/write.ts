// Writing results: the fitted hardware and kernel model files (the base
// files' text with each fitted number and its source replaced) and
// calibration.json, the record validate and predict read back.

import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, join } from 'node:path';
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { InputError } from '../../config/errors.ts';
import { YamlSource, readInputFile } from '../../config/yamlLoad.ts';
import { ABSOLUTE_NS_GROUPS, baseAboveBusy, formatMountParameter, getIn, lockParameterValue, MOUNT_GROUPS, type FitReport, type LockbenchFit, type LockParameter, type ModelPath, type MountGroup, type MountstormFit } from './fit.ts';
import { machineIdentitySchema, type MachineIdentity } from '../machineIdentity.ts';
import { MIN_SETTLED_UMOUNTS } from './measurements.ts';

// ---------------------------------------------------------------------------
// Model files

function fittedSource(files: string[], date: string, extra: string): string {
  return `fitted by locksim calibrate from ${compactFileList(files)} on ${date}; ${extra}`;
}

/**
 * A list of measurement files in bash brace notation, one group per
 * directory, each configuration's runs as a range: `dir/{a.r{1..5}.json,b.json}`
 * expands (in bash) to exactly the files given, in sorted order. A calibration
 * set is ~100 files, and every fitted value's source names them: listed one by
 * one they made a kernel model of 44 KB, mostly the same list.
 */
export function compactFileList(files: string[]): string {
  const byDir = new Map<string, string[]>();
  for (const f of [...new Set(files)].sort()) {
    const slash = f.lastIndexOf('/');
    const dir = slash >= 0 ? f.slice(0, slash + 1) : '';
    (byDir.get(dir) ?? byDir.set(dir, []).get(dir)!).push(f.slice(slash + 1));
  }
  const groups: string[] = [];
  for (const [dir, names] of byDir) {
    // Runs of one configuration: STEM.rN.json (mount storms) or STEM-runN.json (lock bench).
    const runs = new Map<string, number[]>();
    const items: string[] = [];
    for (const n of names) {
      const m = /^(.+(?:\.r|-run))(\d+)\.json$/.exec(n);
      if (m) {
        if (!runs.has(m[1]!)) items.push(`\0${m[1]}`);
        (runs.get(m[1]!) ?? runs.set(m[1]!, []).get(m[1]!)!).push(Number(m[2]));
      } else items.push(n);
    }
    const shown = items.flatMap((it) => {
      if (!it.startsWith('\0')) return [it];
      const stem = it.slice(1);
      const ns = runs.get(stem)!.sort((a, b) => a - b);
      const consecutive = ns.every((x, i) => i === 0 || x === ns[i - 1]! + 1);
      if (ns.length === 1) return [`${stem}${ns[0]}.json`];
      return consecutive ? [`${stem}{${ns[0]}..${ns[ns.length - 1]}}.json`] : ns.map((x) => `${stem}${x}.json`);
    });
    groups.push(shown.length === 1 ? `${dir}${shown[0]}` : `${dir}{${shown.join(',')}}`);
  }
  return groups.join(' ');
}

/** Paths as the user would type them from the current directory. */
export function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/**
 * The kernel model file with the fitted values: the base file's text (its
 * comments and step lists kept) with each calibrated number's value and
 * source replaced, and a new name.
 */
export function fittedKernelModelText(baseFile: string, fit: MountstormFit, opts: { name: string; files: string[]; date: string; command: string }): string {
  const doc = parseDocument(readFileSync(baseFile, 'utf8'));
  doc.setIn(['name'], opts.name);
  doc.setIn(['description'], `${String(doc.getIn(['description']))}; costs fitted to this host's mount storm probe (its kernel, not the base file's version: the fit absorbs the difference)`);
  for (const g of MOUNT_GROUPS) {
    for (const p of fit.groups[g]) {
      const v = getIn(fit.kernel, p).value;
      const old = getIn(fit.kernel, p).source.replace(/^fitted by locksim calibrate[^;]*; /, '');
      doc.setIn([...p, 'value'], Number(v.toPrecision(6)));
      const w = g === 'mountTableWalk' ? fit.walk : null;
      const b = g === 'rcuPerBusyCpu' ? fit.busyUmount : null;
      const how = w
        ? `measured, not fitted: a walk series of single-container storms beside ${w.idleMounts.join(', ')} idle binds (locksim measure mountstorm --idle-mounts N), the slope of open_tree's median call against the length of the list it walks, ${w.ns.toFixed(1)} +- ${w.stdErrorNs.toFixed(1)} ns per mount${w.knee ? ` up to ${Math.round(w.knee.mounts)} mounts (beyond: mechanisms.mountWalkCachedMounts)` : ''} over ${w.calls} calls (${w.files.map(shownPath).join(', ')})`
        : b ? `measured, not fitted: a grace period with one busy cpu of ${(b.gracePeriodNs / 1000).toFixed(1)} us (an umount beside it, ${(b.callNs / 1000).toFixed(1)} us, less the rest of umount's cost in this model and the hand-offs to the worker and back on the caller's cpu) less the fitted base${baseAboveBusy(b, fit.kernel.mechanisms.rcuExpeditedBaseNs.value)}; the umount: ${b.source}`
        : ABSOLUTE_NS_GROUPS.has(g) ? `group ${g} fitted as ns per mount (base: ${old})` : `group ${g} scaled x${fit.scales[g].toFixed(4)} from the base value (${old})`;
      doc.setIn([...p, 'source'], fittedSource(opts.files, opts.date, how));
    }
  }
  const { mountWalkCachedMounts: cached, mountWalkBeyondFactor: beyond } = fit.kernel.mechanisms;
  if (fit.walk?.knee && cached && beyond) {
    // The values calibrateMountstorm set from the walk series; here only their sources are written.
    const w = fit.walk, k = fit.walk.knee;
    const how = `measured, not fitted: the walk series beside ${w.idleMounts.join(', ')} idle binds, a two-segment line through open_tree's run medians against the length of the list it walks: ${w.ns.toFixed(1)} +- ${w.stdErrorNs.toFixed(1)} ns per mount up to ${cached.value} mounts, ${k.beyondNs.toFixed(1)} +- ${k.beyondStdErrorNs.toFixed(1)} ns beyond (the list outgrows a cache level)`;
    doc.setIn(['mechanisms', 'mountWalkCachedMounts'], doc.createNode({ value: cached.value, source: fittedSource(opts.files, opts.date, how) }));
    doc.setIn(['mechanisms', 'mountWalkBeyondFactor'], doc.createNode({ value: beyond.value, source: fittedSource(opts.files, opts.date, `${how}; the factor is the second over the first`) }));
  }
  if (fit.workJitter) {
    doc.setIn(['mechanisms', 'workJitterCv'], doc.createNode({ value: Number(fit.workJitter.cv.toPrecision(3)), source: fittedSource(opts.files, opts.date, `measured, not fitted: median over the single-container runs and over open_tree, mount_setattr and move_mount of (p90 - p10) / (2 x 1.2816 x p50) of the calls' durations (${fit.workJitter.runs.length} values)`) }));
  }
  if (fit.rcuFastPath) {
    const r = fit.rcuFastPath;
    const runs = r.runMediansNs.map((x) => (x / 1000).toFixed(1)).join(', ');
    const how = r.allFast
      ? `every single-container run's median umount (${runs} us) is under half the contended runs' median (${(r.slowNs / 1000).toFixed(1)} us): the fast mode in every run`
      : `the share of single-container runs of ${MIN_SETTLED_UMOUNTS} or more umount calls whose median umount is in the fast mode (run medians ${runs} us; modes ${(r.fastNs / 1000).toFixed(1)} and ${(r.slowNs / 1000).toFixed(1)} us)`;
    doc.setIn(['mechanisms', 'rcuExpeditedIdleFastShare'], doc.createNode({ value: Number(r.share.toPrecision(3)), source: fittedSource(opts.files, opts.date, `measured, not fitted: ${how}`) }));
    doc.setIn(['mechanisms', 'rcuExpeditedIdleWarmupGps'], doc.createNode({ value: r.warmupGps, source: fittedSource(opts.files, opts.date, `measured, not fitted: over the single-container runs of ${MIN_SETTLED_UMOUNTS} or more umount calls that settled fast, the median count of leading calls above the modes' geometric midpoint (${Math.round(Math.sqrt(r.fastNs * r.slowNs) / 100) / 10} us)`) }));
    const fastHow = `the fast mode's median lone umount (${(r.fastNs / 1000).toFixed(1)} us) minus the rest of umount's cost in this model and the hand-offs to the grace-period worker and back on the caller's CPU`;
    doc.setIn(['mechanisms', 'rcuExpeditedIdleFastNs'], doc.createNode({ value: Math.round(fit.kernel.mechanisms.rcuExpeditedIdleFastNs!.value), source: fittedSource(opts.files, opts.date, fastHow) }));
  }
  if (fit.processFork) {
    const f = fit.processFork;
    doc.setIn(['host', 'processForkNs'], doc.createNode({ value: Math.round(f.ns), source: fittedSource(opts.files, opts.date, `measured, not fitted: median over the single-container --processes runs of the container process's start after the release (${f.runs.map((x) => (x / 1000).toFixed(0)).join(', ')} us)`) }));
  }
  if (fit.processLife) {
    const l = fit.processLife;
    const us = (x: number) => `${(x / 1000).toFixed(0)} us`;
    doc.setIn(['host', 'processForkNs'], doc.createNode({ value: Math.round(l.forkNs), source: fittedSource(opts.files, opts.date, `measured, not fitted: the parent's CPU per fork (the probe's forkLoopCpuNs over the containers), median over ${l.runs} single-container --processes runs: ${us(l.forkNs)}`) }));
    doc.setIn(['host', 'processStartCpuNs'], doc.createNode({ value: Math.round(l.startCpuNs), source: fittedSource(opts.files, opts.date, `measured, not fitted: the child's CPU clock when it first ran its own code (processStartCpuNs), median over the same runs: ${us(l.startCpuNs)}`) }));
    doc.setIn(['host', 'processExitCpuNs'], doc.createNode({ value: Math.round(l.exitCpuNs), source: fittedSource(opts.files, opts.date, `measured, not fitted: the CPU its exit took after its last op (wait4's utime + stime less its own clock then: processExitCpuNs), median over the same runs: ${us(l.exitCpuNs)}`) }));
  }
  if (fit.processFaults) {
    const f = fit.processFaults;
    doc.setIn(['host', 'processFaultNs'], doc.createNode({ value: Math.round(f.ns), source: fittedSource(opts.files, opts.date, `measured, not fitted: ${f.faults} page faults per container process${fit.processLife ? ' after it began its own code (the ones before are in processStartCpuNs)' : ''} (median over every process of the --processes runs, getrusage) x ${(f.faultNs / 1000).toFixed(1)} us per copy-on-write fault (median over the runs; the probe times a forked child writing 64 pages its parent wrote)`) }));
  }
  if (fit.forkBusy) {
    const f = fit.forkBusy;
    doc.setIn(['host', 'processForkBusyFactor'], doc.createNode({ value: Number(f.factor.toPrecision(3)), source: fittedSource(opts.files, opts.date, `measured, not fitted: median over ${f.runs.length} --processes runs of a fork's time to its child's start with the other CPU running a spinner, over the same with it idle (the probe's forkToChildNs, 7 forks each way before each release; ratios ${f.runs.map((r) => r.toFixed(2)).join(', ')})`) }));
  }
  if (fit.otherWorkWake) {
    const w = fit.otherWorkWake;
    const what = `${w.longWaits} of ${w.umounts} single-container unmounts returned > 4x their run's median and > 50 us over it, with ${w.meanOtherRunnable.toFixed(1)} other runnable tasks on average`;
    doc.setIn(['host', 'otherWorkWakeShare'], doc.createNode({ value: Number(w.share.toPrecision(3)), source: fittedSource(opts.files, opts.date, `measured, not fitted: long waits per unmount per other runnable task (${what})`) }));
    doc.setIn(['host', 'otherWorkWakeWaitNs'], doc.createNode({ value: Math.round(w.waitNs), source: fittedSource(opts.files, opts.date, `measured, not fitted: the long waits' mean excess over their run's median (${what})`) }));
  }
  if (fit.runtime) {
    const r = fit.runtime;
    const sums = r.runs.map((x) => `${x.plainGaps} gaps ${Math.round(x.plainGapSumNs)} ns`).join(', ');
    const set = (key: string, value: number, what: string) => {
      doc.setIn(['host', key], doc.createNode({ value: Math.round(value), source: fittedSource(opts.files, opts.date, `measured, not fitted: ${what}; stands for the probe, not containerd`) }));
    };
    set('runtimePerOpNs', r.perOpNs, `the probe's own work between two syscalls: the slope of the gaps between traced ops against their number over the single-container runs (${sums})`);
    set('runtimeStartNs', r.startNs, `the probe's own CPU work per container (the user namespace opened once, ...): the intercept of the same line`);
    set('runtimeStartLatencyNs', r.startLatencyNs, `from the release to the first op (the released thread waking up, not CPU work), median over the same runs (${r.runs.map((x) => Math.round(x.startLatencyNs)).join(', ')} ns)`);
    set('runtimeOverlayPerLayerNs', r.overlayPerLayerNs, `the gap before each overlay mount beyond runtimePerOpNs, per lower layer (the lowerdir option string), median over the same runs`);
  }
  doc.setIn(['host', 'containerStartNs', 'value'], 0);
  doc.setIn(['host', 'containerStartNs', 'source'], fittedSource(opts.files, opts.date, 'the probe stops at the rootfs, so nothing runs after it'));
  doc.commentBefore = ` ${opts.name}: made by \`${opts.command}\` on ${opts.date}.\n Base: ${shownPath(baseFile)}. Calibrated groups: ${MOUNT_GROUPS.map((g) => `${g} ${formatMountParameter(g, fit.scales[g])}`).join(', ')}.`;
  return doc.toString({ lineWidth: 0 });
}

/** The hardware model file (base text: the file `locksim host topology` wrote, comments kept) with sameL3 and pause fitted. */
export function fittedHardwareModelText(baseText: string, baseName: string, fit: LockbenchFit, opts: { name: string; files: string[]; date: string; command: string }): string {
  const doc = parseDocument(baseText);
  doc.setIn(['name'], opts.name);
  const m = fit.model;
  // A coreToCore entry the base may lack, written whole as `{ value, source }`.
  const setEntry = (key: 'crossL3' | 'jitterCv' | 'sharedRmwTransfers') => {
    const e = m.coreToCore[key];
    if (e) doc.setIn(['coreToCore', key], doc.createNode({ value: e.value, source: e.source }, { flow: true }));
  };
  if (fit.splitL3) {
    // The measured transfer says the cpus share no L3 (cpusApart): the topology and the cross-L3 transfer follow.
    doc.setIn(['topology', 'l3GroupsPerSocket'], m.topology.l3GroupsPerSocket);
    setEntry('crossL3');
    doc.setIn(['coreToCore', 'sameL3', 'source'], m.coreToCore.sameL3.source);
  }
  setEntry('jitterCv');
  setEntry('sharedRmwTransfers');
  if (fit.pauseNs !== undefined) {
    doc.setIn(['pause', 'cycles', 'value'], m.pause.cycles.value);
    doc.setIn(['pause', 'cycles', 'source'], m.pause.cycles.source);
  }
  for (const p of fit.parameters) {
    const path = p.name.split('.');
    doc.setIn([...path, 'value'], lockParameterValue(m, p.name as LockParameter));
    doc.setIn([...path, 'source'], fittedSource(opts.files, opts.date, `lockbench throughput vs critical section, +- ${p.unit === 'ns' ? p.stdError.toFixed(1) : p.stdError.toFixed(0)} ${p.unit} (1 s.e.)`));
  }
  doc.commentBefore = ` ${opts.name}: made by \`${opts.command}\` on ${opts.date} from ${baseName}.${doc.commentBefore ? '\n' + doc.commentBefore : ''}`;
  return doc.toString({ lineWidth: 0 });
}

/** What calibrate records for validate: the fitted model files and the calibration set. */
export interface CalibrationRecord {
  format: 'locksim-calibration';
  version: 1;
  createdAt: string;
  command: string;
  hardwareModel: string;
  kernelModel: string | null;
  baseKernelModel: string | null;
  /** The machine the calibration set was recorded on (absent in records written before it was stored). */
  machine?: MachineIdentity;
  /** clockReadNs, iterationNs: the probe's mean clock read and uncontended iteration over the set (a prediction simulates the probe with them: busyWaitNs, probeLoopNs). */
  lockbench: (FitReport & { files: string[]; clockReadNs?: number; sampleEvery?: number; iterationNs?: number; /** The set's one-way transfer between its cpus (absent when its files did not measure it). */ transferNs?: number }) | null;
  /** groups: the model paths each parameter scales (predict perturbs them). */
  mountstorm: (FitReport & { files: string[]; scales: Record<MountGroup, number>; groups?: Record<MountGroup, ModelPath[]>; /** The walk series that measured mountTableWalkNs (absent: it was fitted). */ walkFiles?: string[]; /** The umount beside a busy CPU that held rcuPerBusyCpu (absent: it was fitted). */ busyUmount?: MountstormFit['busyUmount'] }) | null;
}

export function recordFileName(dir: string): string {
  return join(dir, 'calibration.json');
}


/** A fit's parameter covariance: a square matrix of numbers, or null (not identifiable); absent in records older than it. */
const covarianceSchema = z.array(z.array(z.number())).nullable().optional();

const calibrationRecordSchema = z.looseObject({
  format: z.literal('locksim-calibration'),
  version: z.literal(1),
  hardwareModel: z.string(),
  kernelModel: z.string().nullable(),
  machine: machineIdentitySchema.optional(),
  // What predict and validate read beyond the file lists is checked too: a
  // hand-edited record must fail here, at its field, not as a NaN interval.
  lockbench: z.looseObject({ files: z.array(z.string()), covariance: covarianceSchema, clockReadNs: z.number().positive().optional(), iterationNs: z.number().positive().optional(), sampleEvery: z.int().positive().optional(), transferNs: z.number().positive().optional() }).nullable(),
  mountstorm: z.looseObject({
    files: z.array(z.string()),
    covariance: covarianceSchema,
    scales: z.record(z.string(), z.number().nonnegative()).optional(),
    busyUmount: z.looseObject({ callNs: z.number().positive(), gracePeriodNs: z.number().nonnegative(), source: z.string() }).nullable().optional(),
  }).nullable(),
});

/**
 * Reads calibration.json; model and measurement paths in it are made absolute
 * (they are relative to where the file really is: measurements/this-host's
 * calibration.json is a link into the window it was recorded in).
 */
export function loadCalibrationRecord(file: string): CalibrationRecord {
  const text = readInputFile(file, 'a calibration.json written by `locksim calibrate`');
  try {
    JSON.parse(text);
  } catch {
    throw new InputError({ file, line: 1, column: 1, field: '(json)', expected: 'complete, valid JSON (a calibration.json written by `locksim calibrate`)', got: 'invalid JSON' });
  }
  new YamlSource(text, file).validate(calibrationRecordSchema);
  const r = JSON.parse(text) as CalibrationRecord;
  const dir = dirname(realpathSync(resolve(file)));
  const abs = (f: string) => resolve(dir, f);
  return {
    ...r,
    hardwareModel: abs(r.hardwareModel),
    kernelModel: r.kernelModel ? abs(r.kernelModel) : null,
    lockbench: r.lockbench ? { ...r.lockbench, files: r.lockbench.files.map(abs) } : null,
    mountstorm: r.mountstorm ? { ...r.mountstorm, files: r.mountstorm.files.map(abs) } : null,
  };
}

