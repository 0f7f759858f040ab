// `locksim calibrate`: fits the few free parameters of this host's models to
// probe measurements with Levenberg-Marquardt (ml-levenberg-marquardt), and
// writes model files with the fitted values.
//
// Free parameters are kept few and identifiable from what the probes vary:
//  - lock microbenchmark (K threads, critical section cs): the same-L3
//    cache-line transfer latency (each handoff of the lock line between the two
//    cpus costs one transfer, so the period per acquisition is ~cs + transfer)
//    and the pause reaction (how soon a spinner sees the line free; it matters
//    only when cs is short). Everything else in the hardware model stays.
//  - mount storm (K launches, L layers): six scale factors on groups of
//    kernel-model costs and one cost in ns. The groups follow what the storm's
//    shape separates: work done while namespace_sem is held for write (it
//    serializes launches, so it sets the slope in K), the work that grows with
//    the host's mount table (the model's {cpuPerMount} steps, in linux-6.6
//    only open_tree's has_locked_children walk; fitted as ns per mount, it
//    bends the K x L curve upward once thousands of mounts pile up), overlay per-layer work
//    outside that lock (slope in L at K=1), overlayfs's once-per-mount work,
//    per-op work outside every global lock (what runs in parallel on the 2
//    cpus), and the expedited RCU grace period that every umount waits for,
//    in its two parts: a fixed base, and a cost per CPU busy when the grace
//    period starts (an idle CPU needs no IPI). The two RCU parts are separate
//    factors because the storms (both CPUs busy) and the single launches (one
//    CPU busy) see them in different proportions. Besides each
//    configuration's mean launch latency, the single-container runs'
//    per-syscall medians (from their traces) are fitted too: they pin each
//    group to the cost of single calls, which the means alone mix together.
//    Fitting each of the ~25 costs separately would be hopeless: the probes
//    see only sums of them.
// Residuals are relative (prediction / measurement - 1), one per measured run,
// so configurations of 0.3 ms and of 2 s weigh alike and the residual variance
// includes the run-to-run spread. Standard errors come from the Jacobian at
// the optimum: sqrt(diag((J^T J)^-1) * SSR / (n - p)).
//
// Measured from the kept single-container traces, not fitted: the probe's
// own work between syscalls, the calls' jitter, the lone unmount's two modes
// (the expedited grace period's idle fast path) and, for runs recorded beside
// other work, how often and how long a woken thread waits for a CPU.
//
// The parts: calibration/measurements.ts (loading the calibration set),
// calibration/fit.ts (simulating and fitting), calibration/write.ts (model
// files and calibration.json). This module is the command that joins them.

import { mkdirSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { commandLineError, InputError } from '../config/errors.ts';
import { hardwareModelSchema } from '../config/hardwareSchema.ts';
import { YamlSource } from '../config/yamlLoad.ts';
import { atomicWrite } from '../report/atomicWrite.ts';
import { defaultKernelModelsDir, loadKernelModel } from '../workload/kernelModel.ts';
import { loadLockbenchPoints, loadMountstormPoints, measuredWalkNsPerMount, measurementKinds, stormPlacementTransferNs } from './calibration/measurements.ts';
import { mean } from '../bench/stats.ts';
import { machineDifferences, measurementMachine, type MachineIdentity } from './machineIdentity.ts';
import { loadMeasurement } from './measure.ts';
import { calibrateLockbench, calibrateMountstorm, checkLockbenchPlacement, hostMachineSpec, type FitReport, type LockbenchFit, type MountstormFit } from './calibration/fit.ts';
import { fittedHardwareModelText, fittedKernelModelText, recordFileName, shownPath, type CalibrationRecord } from './calibration/write.ts';

export * from './calibration/measurements.ts';
export * from './calibration/fit.ts';
export * from './calibration/write.ts';
export { basename };

// ---------------------------------------------------------------------------
// The whole command

export interface CalibrateOptions {
  /** Measurement files (lockbench and/or mountstorm), in any order. */
  files: string[];
  /** The host's hardware model file text and how to name it in sources (`locksim host topology` output). */
  hardwareText: string;
  hardwareShownAs: string;
  /** Base kernel model: a name in models/kernel or a path. */
  kernel: string;
  outDir: string;
  command: string;
  date?: Date;
}

export interface CalibrationRun {
  record: CalibrationRecord;
  lockFit: LockbenchFit | null;
  mountFit: MountstormFit | null;
  written: string[];
}

export const FITTED_HARDWARE_FILE = 'hardware.yaml';
export const FITTED_KERNEL_FILE = 'kernel.yaml';

function kernelFileOf(nameOrPath: string): string {
  const bare = !nameOrPath.includes('/') && !nameOrPath.includes('\\') && !nameOrPath.endsWith('.yaml');
  return bare ? join(defaultKernelModelsDir, `${nameOrPath}.yaml`) : isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
}

/**
 * The machine the calibration set was recorded on. A set recorded on two
 * machines holds for neither, so files whose stored identities differ are
 * refused (files written before identities were stored are not compared).
 */
export function calibrationMachine(files: string[]): MachineIdentity {
  const hosts = files.map((f) => ({ f, host: loadMeasurement(f).host }));
  const first = hosts[0]!;
  for (const h of hosts) {
    if (!h.host.machine || !first.host.machine) continue;
    const diff = machineDifferences(first.host.machine, h.host.machine);
    if (diff.length > 0) throw new InputError({ file: h.f, line: 1, column: 1, field: 'host.machine', expected: `the machine of ${first.f} (a calibration holds for one machine)`, got: diff.join(', ') });
  }
  return measurementMachine(first.host);
}

/**
 * Fits the hardware model to the lockbench files first (the mount storm runs
 * on that machine), then the kernel model to the mountstorm files; writes
 * hardware.yaml, kernel.yaml (when there are mount storm files) and
 * calibration.json into outDir.
 */
export async function runCalibration(opts: CalibrateOptions): Promise<CalibrationRun> {
  const date = (opts.date ?? new Date()).toISOString();
  const kinds = measurementKinds(opts.files);
  if (kinds.lockbench.length + kinds.mountstorm.length === 0) {
    // A walk series alone (`--idle-mounts` runs) is mount storm files too, but it only holds the table walk of a storm fit.
    throw commandLineError('<files>', 'at least one lockbench or mountstorm measurement file (walk-series runs, `measure mountstorm --idle-mounts`, go beside mount storms)', kinds.walk.length ? `only ${kinds.walk.length} walk-series run(s)` : 'none');
  }
  const baseHw = new YamlSource(opts.hardwareText, opts.hardwareShownAs).validate(hardwareModelSchema);
  // Every input is read and checked before anything is written: a bad kernel
  // model or measurement must not leave a fitted hardware.yaml behind.
  const baseKernelFile = kinds.mountstorm.length > 0 ? kernelFileOf(opts.kernel) : null;
  const baseKernel = baseKernelFile ? loadKernelModel(opts.kernel) : null;
  const stormPoints = baseKernelFile ? loadMountstormPoints(kinds.mountstorm) : [];
  // A walk series measures open_tree's walk per mount; the kernel fit holds it.
  const walk = baseKernelFile && kinds.walk.length > 0 ? measuredWalkNsPerMount(kinds.walk) : null;
  const lockPoints = loadLockbenchPoints(kinds.lockbench);
  const machine = calibrationMachine([...kinds.lockbench, ...kinds.mountstorm, ...kinds.walk]);
  // Checked after every file was read (a bad file is the more useful message).
  // Levenberg-Marquardt needs two residuals at least; one file of a kind gives
  // one (the fitting library threw from inside the fit).
  for (const [kind, files] of Object.entries({ mountstorm: kinds.mountstorm, lockbench: kinds.lockbench })) {
    if (files.length === 1) {
      throw commandLineError('<files>', `none or at least 2 ${kind} measurement files (a fit needs two points or more)`, `1 (${files[0]})`);
    }
  }
  if (lockPoints.length > 0) checkLockbenchPlacement(lockPoints);
  const name = `${baseHw.name}-fitted`;
  const written: string[] = [];
  mkdirSync(opts.outDir, { recursive: true });

  let lockFit: LockbenchFit | null = null;
  let hwText = opts.hardwareText;
  let hw = baseHw;
  if (kinds.lockbench.length > 0) {
    // An even split of the lockbench runs between placements goes to the storms' (the kernel fit runs them on this hardware).
    lockFit = calibrateLockbench(baseHw, lockPoints, { stormTransferNs: stormPlacementTransferNs([...kinds.mountstorm, ...kinds.walk]) });
    hw = lockFit.model;
    hwText = fittedHardwareModelText(opts.hardwareText, opts.hardwareShownAs, lockFit, { name, files: kinds.lockbench.map(shownPath), date, command: opts.command });
  }
  const hwFile = join(opts.outDir, FITTED_HARDWARE_FILE);
  await atomicWrite(hwFile, hwText);
  written.push(hwFile);

  let mountFit: MountstormFit | null = null;
  let kernelFile: string | null = null;
  if (baseKernelFile && baseKernel) {
    const base = baseKernel;
    // The wakeup probe's umount beside a busy CPU, when the hardware model has it, holds the per-busy-CPU grace period.
    const busy = hw.wakeup?.busyUmountNs;
    mountFit = calibrateMountstorm(hostMachineSpec(hw), base, stormPoints, walk, busy ? { callNs: busy.value, source: busy.source } : null);
    kernelFile = join(opts.outDir, FITTED_KERNEL_FILE);
    await atomicWrite(kernelFile, fittedKernelModelText(baseKernelFile, mountFit, { name: `${base.name}-${baseHw.name}-fitted`, files: kinds.mountstorm.map(shownPath), date, command: opts.command }));
    written.push(kernelFile);
  }

  const strip = <T extends FitReport>(f: T): FitReport => ({ parameters: f.parameters, covariance: f.covariance, steps: f.steps, points: f.points, rmsRelative: f.rmsRelative, iterations: f.iterations, evaluations: f.evaluations, seconds: f.seconds });
  const recordFile = recordFileName(opts.outDir);
  const rel = (f: string) => relative(opts.outDir, f);
  const record: CalibrationRecord = {
    format: 'locksim-calibration',
    version: 1,
    createdAt: date,
    command: opts.command,
    machine,
    hardwareModel: rel(hwFile),
    kernelModel: kernelFile ? rel(kernelFile) : null,
    baseKernelModel: baseKernelFile ? shownPath(baseKernelFile) : null,
    lockbench: lockFit ? { ...strip(lockFit), files: kinds.lockbench.map((f) => rel(resolve(f))), clockReadNs: mean(lockPoints.map((p) => p.clockReadNs)), iterationNs: mean(lockPoints.map((p) => p.iterationNs)), sampleEvery: lockPoints[0]!.sampleEvery, ...(Number.isFinite(lockFit.transferNs) ? { transferNs: lockFit.transferNs } : {}) } : null,
    mountstorm: mountFit ? { ...strip(mountFit), files: kinds.mountstorm.map((f) => rel(resolve(f))), scales: mountFit.scales, groups: mountFit.groups, ...(walk ? { walkFiles: kinds.walk.map((f) => rel(resolve(f))) } : {}), ...(mountFit.busyUmount ? { busyUmount: mountFit.busyUmount } : {}) } : null,
  };
  await atomicWrite(recordFile, JSON.stringify(record, null, 2) + '\n');
  written.push(recordFile);
  return { record, lockFit, mountFit, written };
}
