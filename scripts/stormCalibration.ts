// A calibration record's mount storm models, for the scripts that simulate
// storms with one (with src/host/calibration/fit.ts simulateProbeStorm; the
// scripts that import this file): an
// unreadable record, or one without a mount storm calibration, is one line
// on stderr, exit 2.
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, loadCalibrationRecord } from '../src/host/calibrate.ts';
import { orExit } from './orExit.ts';
import type { MachineSpec } from '../src/machine.ts';
import { loadKernelModel, type KernelModel } from '../src/workload/kernelModel.ts';

export function loadStormCalibration(file: string): { spec: MachineSpec; kernel: KernelModel } {
  const record = orExit(() => loadCalibrationRecord(file));
  if (!record.kernelModel) {
    process.stderr.write(`${file}: no mount storm calibration\n`);
    process.exit(2);
  }
  return { spec: hostMachineSpec(loadHardwareModel(record.hardwareModel)), kernel: loadKernelModel(record.kernelModel) };
}
