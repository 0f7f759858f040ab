// How a launch point's simulation speeds up as V8 optimizes it (issue 14):
// the wall time of each slice of SLICE scheduled events, for RUNS runs of the
// point in one process (the first run is the cold one a whole process pays).
// Needs `npm run build` (it times the compiled modules of dist/).
//
//   node scripts/cold-progress.mjs [MODEL] [CONTAINERS] [LAYERS] [RUNS] [SLICE]
//   node --always-sparkplug scripts/cold-progress.mjs ...   # a V8 flag's effect on the cold run
import { Simulator } from '../dist/engine/simulator.js';
import { runLaunchPoint } from '../dist/bench/launchPoint.js';

const [model = 'r5.metal', k = '100', l = '50', runs = '3', slice = '16384'] = process.argv.slice(2);
let n = 0;
let marks = [];
let runAt = 0;
const scheduleAt = Simulator.prototype.scheduleAt;
Simulator.prototype.scheduleAt = function (time, target, arg) {
  if (++n % Number(slice) === 0) marks.push(performance.now());
  return scheduleAt.call(this, time, target, arg);
};
const run = Simulator.prototype.run;
Simulator.prototype.run = function (until) {
  runAt = performance.now();
  marks.push(runAt);
  n = 0;
  return run.call(this, until);
};
for (let r = 0; r < Number(runs); r++) {
  marks = [];
  const t0 = performance.now();
  runLaunchPoint(model, Number(k), Number(l));
  const slices = marks.slice(1, 16).map((m, i) => (m - marks[i]).toFixed(0));
  process.stdout.write(`run ${r + 1}: setup ${(runAt - t0).toFixed(0)} ms, first slices of ${slice} events (ms): ${slices.join(' ')}; simulation ${(marks.at(-1) - runAt).toFixed(0)} ms\n`);
}
