/**
 * One launch point in a fresh process, through tsx (the sources); see
 * src/bench/launchPoint.ts, which bench/launch.ts runs compiled from dist/.
 * Usage: tsx bench/launchPoint.ts MODEL CONTAINERS LAYERS [VARIANT] [private] [--warm N]
 */
import { runLaunchPoint } from '../src/bench/launchPoint.ts';

const args = process.argv.slice(2);
const w = args.indexOf('--warm');
const warm = w >= 0 ? Number(args.splice(w, 2)[1]) : 0;
const [model, k, l, variant] = [args[0], Number(args[1]), Number(args[2]), args[3] ?? 'per-layer-idmap'];
process.stdout.write(JSON.stringify(runLaunchPoint(model, k, l, variant, args[4] !== 'private', warm)) + '\n');
