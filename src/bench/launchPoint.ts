/**
 * One launch point for the launch benchmarks (bench/launch.ts): simulates
 * MODEL x K containers x L layers with the bench seed and reports the
 * simulate-only time (trace, machine and simulation, models already loaded),
 * events, events per mount operation and peak RSS. With `warm` runs the same
 * point that many times first in the same process, so the timed run is one
 * with a warm JIT (what the cost exponent is fitted on).
 *
 * Compiled into dist/ like the rest of src/, so the bench can time a whole
 * process the way `locksim` runs (`node dist/bench/launchPoint.js ...`).
 * Usage: launchPoint MODEL CONTAINERS LAYERS [VARIANT] [private] [--warm N] [--detailed]
 * (--detailed: every spinner of a herd simulated on its own, CoherenceFabric.detailed).
 * With `private` the layers' mount is private (no peer group, as --ablate
 * propagation): a burst that would collapse and be cut at the horizon runs
 * every one of its operations instead.
 */
import { pathToFileURL } from 'node:url';
import { loadHardwareModel } from '../config/hardwareSchema.ts';
import { buildTopology } from '../hardware/topology.ts';
import { machineSpecFromTopology } from '../hardware/machineSpec.ts';
import { Machine } from '../machine.ts';
import { loadKernelModel } from '../workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../workload/launch.ts';
import { launchSchema } from '../workload/launchParams.ts';

export interface LaunchPointResult {
  model: string;
  containers: number;
  layers: number;
  variant: string;
  /** Simulate-only seconds of the timed run (after `warm` untimed runs). */
  simSeconds: number;
  warmRuns: number;
  events: number;
  syscalls: number;
  mountOps: number;
  eventsPerMountOp: number;
  launchP99S: number;
  unfinished: number;
  maxRssMb: number;
}

export function runLaunchPoint(model: string, containers: number, layers: number, variant = 'per-layer-idmap', layerParentShared = true, warm = 0, detailed = false): LaunchPointResult {
  const spec = machineSpecFromTopology(buildTopology(loadHardwareModel(model)));
  const kernel = loadKernelModel('linux-6.6');
  const params = launchSchema.parse({ containers: [containers], variant, layers, host: { layerParentShared } });
  const once = () => {
    const trace = buildLaunchTrace(params, containers, kernel, 'bench');
    const machine = new Machine(spec, { seed: 'bench', placement: 'spread' });
    machine.coherence.detailed = detailed;
    return simulateLaunch(machine, kernel, params, trace);
  };
  for (let i = 0; i < warm; i++) once();
  const start = process.hrtime.bigint();
  const r = once();
  const simSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const m = r.metrics;
  return {
    model, containers, layers, variant, simSeconds, warmRuns: warm,
    events: m.events, syscalls: m.syscalls, mountOps: m.mountOps, eventsPerMountOp: m.events / m.mountOps,
    launchP99S: m.launchP99S, unfinished: m.unfinished, maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const w = args.indexOf('--warm');
  const warm = w >= 0 ? Number(args.splice(w, 2)[1]) : 0;
  const d = args.indexOf('--detailed');
  const detailed = d >= 0 && args.splice(d, 1).length > 0;
  const [model, k, l, variant] = [args[0], Number(args[1]), Number(args[2]), args[3] ?? 'per-layer-idmap'];
  process.stdout.write(JSON.stringify(runLaunchPoint(model, k, l, variant, args[4] !== 'private', warm, detailed)) + '\n');
}
