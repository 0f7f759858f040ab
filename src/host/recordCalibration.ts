// `locksim calibrate --record DIR`: records the calibration set on this
// machine with the probes, in one command, so that any host gets its own
// calibration (and the machine's identity with it) without a shell script.
//
// What is recorded, and why (the set `measurements/record.sh` grew into,
// docs/validation.md "Host calibration"):
//  - lockbench, TTAS, 2 threads on the 2 cpus, no think time, critical
//    sections from 0 to 800 ns: the long ones pin the line transfer (period ~
//    cs + transfer), the short ones (0, 25 ns) the regime where the pause
//    reaction and the lock word's own traffic matter, which a set of 50-800 ns
//    left unfitted.
//  - mount storms, per-layer idmap, K in {1, 2, 4, 16} x L in {10, 50} plus
//    K=16 L=100 and K=32 L=50 (thousands of mounts in the table: without them
//    the per-mount cost is not identifiable). K=2 is the one regime where the
//    other CPU is busy and nobody waits in a run queue: it pins the grace
//    period's own length, which from K=4 on the queue waits around the
//    grace-period worker stand in for (without it, window w6 fitted a base of
//    11.6 us against 21-32 us in w3-w5, and every K=2 held-out storm came out
//    29-56% fast). The K=1, 2 and 4 traces are kept
//    (calibrate reads per-call medians from them, alone and contended); the
//    others are deleted (calibrate regenerates their ops, checking the counts).
//  - a runtime's shape, common parent with L=50, K in {1, 4}: one process per
//    container forked at the release and the inspection overlay unmounted
//    (`--processes --unmount-inspection`), as containerd with a shim per
//    container does; their first fork sets processForkNs, and the storms
//    check the fork's serialisation and the overlay's teardown.
//  - the walk series: one container of 10 layers beside 250, 1,000, 2,000,
//    4,000 and 8,000 idle binds on the same mount (`--idle-mounts`):
//    open_tree walks every child of the layers' mount (has_locked_children),
//    so its call grows by the walk's cost per mount, which calibrate
//    measures from these traces and holds in the fit (fitted from launch
//    means with six other groups it swung 7-31 ns between windows). The
//    series runs past the storms' own mount counts (a 32 x 50 storm holds up
//    to ~3,000): on the 6.18.44-fc-v782 guest the walk costs ~8 ns per mount
//    up to ~2,250 mounts and ~27 ns beyond, where the list outgrows a cache
//    level (docs/validation.md, "Fourteenth session"), and a series that
//    stops at 2,000 cannot see that.
//  - the wake-up probe, once, first: the base hardware model takes from it
//    what wake-ups cost on the waker's cpu and onto the other, idle one, and
//    whether a woken thread waits on its busy previous cpu (on a 2-vCPU guest
//    the cross-vCPU wake-up is what makes two containers three times slower
//    than one: docs/validation.md, "Wake-ups across vCPUs").
// Repeats are interleaved: every configuration once, then all again, so the
// machine's drift over minutes spreads over every configuration alike
// instead of moving one configuration's runs together.
//
// The reduced set (--set reduced) is for the privileged test: the same
// shapes, smaller, in about a minute.

import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HostCapabilityError, measureLockbench, measureMountstorm, describeHaltPoll, measureWakeup, wakeupEvidence } from './measure.ts';
import type { MountstormVariant } from './probes.ts';

export interface CalibrationStorm {
  variant: MountstormVariant;
  containers: number;
  layers: number;
  unmountInspection?: boolean;
  processes?: boolean;
  /** A walk-series run: this many idle binds beside the storm's targets (`measure mountstorm --idle-mounts`). */
  idleMounts?: number;
}

export interface CalibrationSet {
  lockbench: { csNs: number[]; runs: number; durationMs: number };
  mountstorm: CalibrationStorm[];
  /** Interleaved passes over the mount storms (runs per configuration). */
  repeat: number;
  /** Keep the traces of storms with at most this many containers. */
  keepTracesUpToK: number;
}

const storms = (ks: number[], ls: number[]) => ks.flatMap((containers) => ls.map((layers) => ({ variant: 'per-layer-idmap' as const, containers, layers })));
// A runtime's shape: one process per container, the inspection overlay unmounted (what containerd does, and a probe that starts a process per container).
const runtimeShaped = (containers: number): CalibrationStorm => ({ variant: 'common-parent', containers, layers: 50, unmountInspection: true, processes: true });
// The walk series: one container beside N idle binds, for open_tree's walk per mount (calibrate holds it, measured, in the fit).
const walkSeries = (ns: number[]): CalibrationStorm[] => ns.map((idleMounts) => ({ variant: 'per-layer-idmap', containers: 1, layers: 10, idleMounts }));
const stormName = (s: CalibrationStorm) => `${s.variant}-K${s.containers}-L${s.layers}${s.unmountInspection ? '-unmount' : ''}${s.processes ? '-processes' : ''}${s.idleMounts ? `-idle${s.idleMounts}` : ''}`;

export const CALIBRATION_SETS: Record<'full' | 'reduced', CalibrationSet> = {
  full: {
    lockbench: { csNs: [0, 25, 50, 200, 800], runs: 3, durationMs: 500 },
    mountstorm: [...storms([1, 2, 4, 16], [10, 50]), { variant: 'per-layer-idmap', containers: 16, layers: 100 }, { variant: 'per-layer-idmap', containers: 32, layers: 50 }, runtimeShaped(1), runtimeShaped(4), ...walkSeries([250, 1000, 2000, 4000, 8000])],
    repeat: 5,
    keepTracesUpToK: 4,
  },
  reduced: {
    lockbench: { csNs: [50, 200], runs: 2, durationMs: 200 },
    mountstorm: [...storms([1, 2, 4], [5, 20]), { variant: 'per-layer-idmap', containers: 8, layers: 20 }, runtimeShaped(1), ...walkSeries([200, 800])],
    repeat: 3,
    keepTracesUpToK: 4,
  },
};

/**
 * The held-out set `calibrate --record DIR --validate` records beside the
 * calibration set, pass for pass (the set measurements/record-heldout.sh
 * records on its own; none of its configurations is the calibration set's,
 * which validate refuses): per-layer idmap K in {2, 8, 32, 64} x L in {1,
 * 25, 100}, common parent L=50 at K in {1, 8, 32}, the runtime's shape at K
 * in {8, 32} and per-layer K=8 L=25, and lockbench with critical sections of
 * 10, 100, 400 ns and of 0, 100 ns with the counter on the lock's line.
 * Recording it interleaved with the calibration passes puts both sets on the
 * same minutes of the machine: on this project's host the same
 * configurations ran up to 1.5x slower at the end of a 4-minute held-out
 * recording than at its start (docs/validation.md, "Fifteenth session"), and
 * a held-out set recorded before the calibration measured that drift as
 * model error.
 */
export interface HeldOutSet {
  mountstorm: CalibrationStorm[];
  lockbench: { runs: { csNs: number; data?: 'same-line' }[]; durationMs: number };
  repeat: number;
}

export const HELDOUT_SETS: Record<'full' | 'reduced', HeldOutSet> = {
  full: {
    mountstorm: [
      ...storms([2, 8, 32, 64], [1, 25, 100]),
      ...[1, 8, 32].map((containers): CalibrationStorm => ({ variant: 'common-parent', containers, layers: 50 })),
      runtimeShaped(8),
      runtimeShaped(32),
      { variant: 'per-layer-idmap', containers: 8, layers: 25, unmountInspection: true, processes: true },
    ],
    lockbench: { runs: [{ csNs: 10 }, { csNs: 100 }, { csNs: 400 }, { csNs: 0, data: 'same-line' }, { csNs: 100, data: 'same-line' }], durationMs: 500 },
    repeat: 5,
  },
  reduced: {
    mountstorm: [...storms([3], [10]), ...storms([6], [5])],
    lockbench: { runs: [{ csNs: 100 }], durationMs: 200 },
    repeat: 3,
  },
};

export const HELDOUT_DIR = 'heldout';

export interface RecordProgress {
  (line: string): void;
}

export const WAKEUP_FILE = 'wakeup.json';

/**
 * Runs the probes for `set` into DIR/measurements and returns the
 * measurement files (one per run for storms: NAME.rR.json) and the wake-up
 * measurement (DIR/measurements/wakeup.json, for the base hardware model).
 * Needs root (exit 3 without), checked before anything runs.
 */
export async function recordCalibrationSet(dir: string, set: CalibrationSet, progress: RecordProgress = () => {}, heldOut: HeldOutSet | null = null): Promise<{ files: string[]; wakeupFile: string; heldOutFiles: string[] }> {
  if (process.getuid?.() !== 0) throw new HostCapabilityError('calibrate --record needs root (the mount storm probe makes idmapped mounts in a private mount namespace)');
  const mdir = join(dir, 'measurements');
  const hdir = join(dir, HELDOUT_DIR);
  mkdirSync(mdir, { recursive: true });
  if (heldOut) mkdirSync(hdir, { recursive: true });
  // The load average before each run: on a shared machine other work competes for the cpus.
  const loadLog = join(dir, 'load.log');
  const load = (what: string) => appendFileSync(loadLog, `${new Date().toISOString()} ${what} ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`);
  const files: string[] = [];
  const heldOutFiles: string[] = [];
  const wakeupFile = join(mdir, WAKEUP_FILE);
  load('wakeup');
  await measureWakeup({}, { out: wakeupFile });
  // Whether the host blocks idle vCPUs is the one finding of this probe a user can act on (the model takes it from the file).
  const halt = wakeupEvidence(wakeupFile).haltPoll;
  progress(`wakeup (wake-up latency by where the woken thread runs${halt ? `; ${describeHaltPoll(halt)}` : ''})`);
  // One storm run or one lockbench run into `into`, logged with the load.
  const storm = async (into: string, s: CalibrationStorm, r: number, what: string) => {
    const out = join(into, `${stormName(s)}.r${r}.json`);
    load(`${what}mountstorm ${stormName(s)} run ${r}`);
    await measureMountstorm({ ...s, repeat: 1 }, { out });
    return out;
  };
  const lockbench = async (into: string, csNs: number, data: 'same-line' | undefined, durationMs: number, r: number, what: string) => {
    const out = join(into, `ttas-t2-cs${csNs}${data ? `-${data}` : ''}-run${r}.json`);
    load(`${what}lockbench cs=${csNs}${data ? ` ${data}` : ''} run ${r}`);
    await measureLockbench({ lock: 'ttas', threads: 2, csNs, durationMs, ...(data ? { data } : {}) }, { out });
    return out;
  };
  // Pass r of every section together: the storms, the lockbench runs (so that
  // run r of every section shares pass r's window: predict separates the
  // window's offset from the spread within it), then the held-out set's pass r.
  const passes = Math.max(set.repeat, set.lockbench.runs, heldOut?.repeat ?? 0);
  for (let r = 1; r <= passes; r++) {
    if (r <= set.repeat) {
      for (const s of set.mountstorm) {
        files.push(await storm(mdir, s, r, ''));
        progress(`mountstorm ${stormName(s)} run ${r}/${set.repeat}`);
      }
    }
    if (r <= set.lockbench.runs) {
      for (const cs of set.lockbench.csNs) files.push(await lockbench(mdir, cs, undefined, set.lockbench.durationMs, r, ''));
      progress(`lockbench pass ${r}/${set.lockbench.runs} (cs ${set.lockbench.csNs.join(', ')} ns)`);
    }
    if (heldOut && r <= heldOut.repeat) {
      for (const s of heldOut.mountstorm) heldOutFiles.push(await storm(hdir, s, r, 'held-out '));
      for (const { csNs, data } of heldOut.lockbench.runs) heldOutFiles.push(await lockbench(hdir, csNs, data, heldOut.lockbench.durationMs, r, 'held-out '));
      progress(`held-out pass ${r}/${heldOut.repeat} (${heldOut.mountstorm.length} storms, ${heldOut.lockbench.runs.length} lockbench runs)`);
    }
  }
  // Large storms' traces are MBs and calibrate does not read them (it regenerates their ops).
  for (const f of readdirSync(mdir)) {
    const k = /-K(\d+)-L\d+(?:-[a-z0-9]+)*\.r\d+\.trace\.jsonl$/.exec(f);
    if (k && Number(k[1]) > set.keepTracesUpToK) rmSync(join(mdir, f));
  }
  // Validate regenerates the held-out storms' ops (checking their counts): their traces are not read.
  if (heldOut) for (const f of readdirSync(hdir)) if (f.endsWith('.trace.jsonl')) rmSync(join(hdir, f));
  return { files, wakeupFile, heldOutFiles };
}
