/** Piscina worker: simulates one point. Points carry their own seed, so where they run does not matter. */
import type { Point } from '../config/points.ts';
import { simulatePoint } from './kinds.ts';

export default function simulate(point: Point): Record<string, number> {
  return simulatePoint(point);
}
