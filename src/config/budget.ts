/**
 * Resource guards (issue 11): what a point will cost, estimated from its
 * workload before anything is simulated, so a scenario that would run for
 * days or exhaust memory is refused in a second with one line instead.
 *
 * The estimates are deliberate over-estimates calibrated on the shipped
 * scenarios (scripts/event-budget.ts prints estimate beside actual for each;
 * docs/reliability.md has the table): a guard that under-estimates lets the
 * bomb through, one that over-estimates by a small factor only asks for a flag.
 */
import { getHeapStatistics } from 'node:v8';
import type { Point } from './points.ts';
import { opsPerContainer, type RuntimeVariant } from '../workload/generators.ts';
import { loadTraceFile } from '../workload/launch.ts';

/** Default of `--max-events`: at the ~0.5-2 million events per second of this simulator, minutes per point. */
export const DEFAULT_MAX_EVENTS = 500_000_000;
/** Default of `--max-points`: a sweep larger than this is a typo more often than a plan. */
export const DEFAULT_MAX_POINTS = 10_000;

/**
 * Lock microbenchmark: events per acquisition are about 4 uncontended
 * (measured 3.9-5.0) plus a share of the spinners that re-read the line at
 * each handoff (TAS with 96 threads: 21 per acquisition).
 */
const MICROBENCH_EVENTS_BASE = 6;
const MICROBENCH_EVENTS_PER_SPINNER = 0.25;
/** Lock microbenchmark: the least time an acquire-release loop of one thread takes with no critical section or think time, ns. */
const MICROBENCH_LOOP_FLOOR_NS = 50;
/** Lock microbenchmark: the least time between two acquisitions of the lock by anyone (a handoff), ns. */
const MICROBENCH_HANDOFF_FLOOR_NS = 20;
/** Ping-pong: events per round trip (measured 4.0 on r5.metal, 1,000 round trips). */
const PINGPONG_EVENTS_PER_ROUND_TRIP = 5;
/** Launch: events per mount op (measured 46 to 73 per op on fig3, rising with contention). */
const LAUNCH_EVENTS_PER_OP = 100;
/** Launch: events per container besides its mount ops (CRI polls, systemd, start): measured 2,400-4,300 with common-parent. */
const LAUNCH_EVENTS_PER_CONTAINER = 1000;
/** Launch: events per path walk of a container's start (host.containerStartPathLookups, default 100). */
const LAUNCH_EVENTS_PER_START_LOOKUP = 40;
/**
 * Launch: bytes per mount op of the trace and its simulation. Peak RSS rose
 * 20 MB from 16,020 to 80,100 ops (312 B/op; scripts/event-budget.ts --memory);
 * docs/benchmarks.md (f) has 277 MB for 402,000 ops (690 B/op with the process's base).
 */
const LAUNCH_BYTES_PER_OP = 600;
/** Bytes per pending event slot and per recorded sample: a floor for every kind. */
const BYTES_PER_EVENT = 0.5;
const BASE_BYTES = 50 * 1024 * 1024;

export interface PointCost {
  events: number;
  bytes: number;
}

/** The cost of simulating `point` on a machine of `cpus` logical cpus. */
export function estimatePointCost(point: Point, cpus: number): PointCost {
  const p = point.params;
  switch (point.kind) {
    case 'lock-microbench': {
      const cs = Number(p.criticalSectionNs ?? 0);
      const duration = Number(p.durationNs);
      const running = Math.min(point.x, cpus);
      // Acquisitions: each running thread's loop, or the lock's handoffs when it is saturated.
      const acquisitions = Math.min((running * duration) / (cs + Number(p.thinkNs ?? 0) + MICROBENCH_LOOP_FLOOR_NS), duration / (cs + MICROBENCH_HANDOFF_FLOOR_NS));
      const events = acquisitions * (MICROBENCH_EVENTS_BASE + MICROBENCH_EVENTS_PER_SPINNER * running);
      // Every thread is a generator with its own state, whether it runs or waits.
      return { events, bytes: BASE_BYTES + point.x * 4096 + events * BYTES_PER_EVENT };
    }
    case 'pingpong': {
      const events = PINGPONG_EVENTS_PER_ROUND_TRIP * Number(p.roundTrips);
      return { events, bytes: BASE_BYTES + events * BYTES_PER_EVENT };
    }
    case 'launch': {
      const ops = launchOps(p, point.x);
      const lookups = Number((p.host as { containerStartPathLookups?: number } | undefined)?.containerStartPathLookups ?? 100);
      const events = ops * LAUNCH_EVENTS_PER_OP + point.x * (LAUNCH_EVENTS_PER_CONTAINER + LAUNCH_EVENTS_PER_START_LOOKUP * lookups);
      return { events, bytes: BASE_BYTES + ops * LAUNCH_BYTES_PER_OP };
    }
  }
}

/** Mount ops of a launch point: from the generator's formula, or counted in the recorded trace. */
function launchOps(p: Record<string, unknown>, containers: number): number {
  if (typeof p.trace === 'string') {
    const trace = loadTraceFile(p.trace);
    const n = trace.header.containers.length;
    return n === 0 ? 0 : Math.ceil((trace.ops.count * Math.min(containers, n)) / n);
  }
  const mix = p.imageMix as { layers: number }[] | undefined;
  const layers = mix ? Math.max(...mix.map((m) => m.layers)) : Number(p.layers);
  return containers * opsPerContainer(p.variant as RuntimeVariant, layers);
}

/** The heap this process may grow to: a point estimated above it would abort V8 (no exception, a crash). */
export function heapLimitBytes(): number {
  return getHeapStatistics().heap_size_limit;
}

/** 1.2e9, 3.4 GB: short forms for one-line messages. */
export function formatCount(n: number): string {
  if (n < 1e6) return String(Math.round(n));
  return n.toExponential(1).replace('e+', 'e');
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  return `${Math.max(1, Math.round(n / 1e6))} MB`;
}
