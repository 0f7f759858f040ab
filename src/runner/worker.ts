/** Piscina worker: simulates one point. Points carry their own seed, so where they run does not matter. */
import type { Point } from '../config/points.ts';
import { simulatePoint, type PointOutput } from './kinds.ts';

export default function simulate(point: Point): PointOutput {
  return simulatePoint(point);
}
