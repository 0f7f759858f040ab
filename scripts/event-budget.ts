/**
 * Calibration of the resource guards (src/config/budget.ts): simulates sample
 * points of the shipped scenarios and prints the estimated events beside the
 * events actually fired, and the process's peak memory. The estimate must stay
 * above the actual count. Usage:
 *
 *   npx tsx scripts/event-budget.ts scenarios/fig10-pause-bench.yaml ...   # estimate vs actual events
 *   npx tsx scripts/event-budget.ts --memory LAYERS CONTAINERS             # peak RSS of one per-layer-idmap launch point
 */
import { loadScenario } from '../src/config/scenarioSchema.ts';
import { resolvePoints } from '../src/config/points.ts';
import { estimatePointCost, formatBytes, formatCount } from '../src/config/budget.ts';
import { machineSpecForPoint, simulatePoint } from '../src/runner/kinds.ts';
import { Simulator } from '../src/engine/simulator.ts';
import { resourceUsage } from 'node:process';

let fired = 0;
const run = Simulator.prototype.run;
Simulator.prototype.run = function (this: Simulator, until?: number) {
  const before = this.eventsFired;
  run.call(this, until);
  fired += this.eventsFired - before;
};

const args = process.argv.slice(2);
if (args[0] === '--memory') {
  const [layers, containers] = [Number(args[1]), Number(args[2])];
  const s = loadScenario('scenarios/fig3-instance-types.yaml');
  const point = resolvePoints(s)[0]!;
  const p = { ...point, x: containers, params: { ...point.params, layers, containers: [containers] } };
  const cost = estimatePointCost(p, machineSpecForPoint(p).siblings.length);
  const t0 = Date.now();
  simulatePoint(p);
  process.stdout.write(`layers ${layers} containers ${containers}: events ${formatCount(fired)} (estimate ${formatCount(cost.events)}), peak RSS ${formatBytes(resourceUsage().maxRSS * 1024)} (estimate ${formatBytes(cost.bytes)}), ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
} else {
  for (const file of args) {
    const points = resolvePoints(loadScenario(file));
    // The first and last point of each of the first two variants: the smallest and largest x.
    const variants = [...new Set(points.map((p) => p.variant))].slice(0, 2);
    const sample = variants.flatMap((v) => { const ps = points.filter((p) => p.variant === v); return [ps[0]!, ps[ps.length - 1]!]; });
    for (const p of sample) {
      fired = 0;
      const cpus = machineSpecForPoint(p).siblings.length;
      const cost = estimatePointCost(p, cpus);
      simulatePoint(p);
      process.stdout.write(`${file.split('/').pop()} | ${p.key} | actual ${formatCount(fired)} | estimate ${formatCount(cost.events)} | ratio ${(cost.events / Math.max(1, fired)).toFixed(1)}\n`);
    }
  }
}
