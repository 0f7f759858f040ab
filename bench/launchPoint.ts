/**
 * One launch point in a fresh process, for the launch benchmarks: prints JSON
 * with wall time, simulated events, mount operations and peak RSS, so memory
 * is measured for this run alone.
 * Usage: tsx bench/launchPoint.ts MODEL CONTAINERS LAYERS [VARIANT] [private]
 * With `private` the layers' mount is private (no peer group, as
 * --ablate propagation): a burst that would collapse and be cut at the
 * horizon runs every one of its operations instead.
 */
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { Machine } from '../src/machine.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema } from '../src/workload/launchParams.ts';

const [model, k, l, variant] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5] ?? 'per-layer-idmap'];
const layerParentShared = process.argv[6] !== 'private';
const spec = machineSpecFromTopology(buildTopology(loadHardwareModel(model)));
const kernel = loadKernelModel('linux-6.6');
const params = launchSchema.parse({ containers: [k], variant, layers: l, host: { layerParentShared } });
const start = process.hrtime.bigint();
const trace = buildLaunchTrace(params, k, kernel, 'bench');
const machine = new Machine(spec, { seed: 'bench', placement: 'spread' });
const r = simulateLaunch(machine, kernel, params, trace);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(
  JSON.stringify({ model, containers: k, layers: l, variant, seconds, events: r.metrics.events, syscalls: r.metrics.syscalls, mountOps: r.metrics.mountOps, launchP99S: r.metrics.launchP99S, unfinished: r.metrics.unfinished, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n',
);
