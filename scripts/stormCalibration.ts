// A calibration record's mount storm models, for the scripts that simulate
// storms with one (with src/host/calibration/fit.ts simulateProbeStorm; the
// scripts that import this file): an
// unreadable record, or one without a mount storm calibration, is one line
// on stderr, exit 2.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadHardwareModel, type HardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, loadCalibrationRecord } from '../src/host/calibrate.ts';
import { orExit } from './orExit.ts';
import type { MachineSpec } from '../src/machine.ts';
import { loadKernelModel, type KernelModel } from '../src/workload/kernelModel.ts';

export function loadStormCalibration(file: string): { spec: MachineSpec; kernel: KernelModel; hardware: HardwareModel } {
  const record = orExit(() => loadCalibrationRecord(file));
  if (!record.kernelModel) {
    process.stderr.write(`${file}: no mount storm calibration\n`);
    process.exit(2);
  }
  const hardware = loadHardwareModel(record.hardwareModel);
  return { spec: hostMachineSpec(hardware), kernel: loadKernelModel(record.kernelModel), hardware };
}

/**
 * A configuration's measurement files in a recorded window's directory
 * (CONFIG.r1.json, CONFIG.r2.json, ... as `calibrate --record` names them);
 * none is one line on stderr, exit 2.
 */
export function configurationFiles(dir: string, config: string): string[] {
  const files: string[] = [];
  for (let r = 1; existsSync(join(dir, `${config}.r${r}.json`)); r++) files.push(join(dir, `${config}.r${r}.json`));
  if (files.length === 0) {
    process.stderr.write(`${join(dir, `${config}.r1.json`)}: not found\n`);
    process.exit(2);
  }
  return files;
}
