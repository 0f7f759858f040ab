/**
 * `locksim plan`: for each candidate machine, the largest burst that meets the
 * objective, the p99 at the user's burst with a confidence interval, the cost
 * per 1,000 launches, and which single change improves the p99 most.
 *
 * Everything is simulated as ordinary launch points through the runner's pool,
 * so plans run on workers, show progress and stop on Ctrl-C like `run`. A
 * *configuration* is a machine (with restrictions) and a runtime variant; a
 * point is a configuration at a burst size in one replication. Its key names
 * exactly those three things and its seed is derived from the plan seed and
 * that key, so a configuration reached twice (a candidate, and the "other
 * instance type" alternative of another candidate) is simulated once, and the
 * results do not depend on the number of workers or the order of evaluation.
 */
import { loadHardwareModel } from '../config/hardwareSchema.ts';
import { pointSeed, type Point } from '../config/points.ts';
import { buildTopology } from '../hardware/topology.ts';
import type { PointOutput } from '../runner/kinds.ts';
import { simulatePoints } from '../runner/pool.ts';
import type { RuntimeVariant } from '../workload/generators.ts';
import { launchSchema } from '../workload/launchParams.ts';
import { meanInterval, type Interval } from './confidence.ts';
import { byCodeUnit } from '../report/results.ts';
import { machineLabel, type Plan, type PlanCandidate } from './planSchema.ts';

/** A machine and a runtime variant: what one line of the plan's answers is about. */
export interface Configuration {
  machine: PlanCandidate['machine'];
  modelRef: string;
  runtime: RuntimeVariant;
}

export function configurationKey(c: Configuration): string {
  return `${machineLabel(c.machine)} | runtime=${c.runtime}`;
}

export function pointKey(c: Configuration, burst: number, replication: number): string {
  return `${configurationKey(c)}|containers=${burst}|rep=${replication}`;
}

/** What a configuration did at one burst size, over the replications. */
export interface BurstSummary {
  burst: number;
  p99S: Interval;
  successRate: Interval;
  /** USD per 1,000 successful launches (docs/plan.md); null without a price or without any success. */
  costPer1000Usd: Interval | null;
  /** The p99's upper confidence bound meets the target and the mean success rate meets its target. */
  objectiveHolds: boolean;
}

export interface SafeBurst {
  /** Largest burst known to meet the objective; null when even one container fails it. */
  value: number | null;
  /**
   * Smallest burst known to fail it, above `value`: the answer lies in
   * [value, failsAt). null when no burst checked fails (bound at-least).
   */
  failsAt: number | null;
  method: 'list' | 'bisect';
  /**
   * exact: the next larger burst checked fails (list) or is within `step` (bisect);
   * at-least: the largest burst checked meets it (the answer may be larger);
   * below: the smallest burst checked already fails.
   */
  bound: 'exact' | 'at-least' | 'below';
  checked: { burst: number; p99MeanS: number; p99HiS: number; successRate: number; holds: boolean }[];
}

export interface Alternative {
  /** What changes: "runtime fix: common-parent", "HT off", "one socket", "instance: NAME". */
  change: string;
  kind: 'runtime-fix' | 'smt-off' | 'one-socket' | 'instance';
  machine: PlanCandidate['machine'];
  runtime: RuntimeVariant;
  atBurst: BurstSummary;
  /** (base p99 - this p99) / base p99, of the means: positive is better. */
  p99Improvement: number;
}

export interface CandidateResult {
  label: string;
  machine: PlanCandidate['machine'];
  usdPerHour: number | null;
  /** Largest safe burst per dollar of the hourly price (docs/plan.md); null without a price or a safe burst. */
  containersPerDollarHour: number | null;
  atBurst: BurstSummary;
  largestSafeBurst: SafeBurst;
  /** Ranked by p99 improvement, best first. */
  alternatives: Alternative[];
}

export interface PlanResult {
  format: 'locksim-plan';
  version: 1;
  plan: Omit<Plan, 'candidates' | 'kernelRef'>;
  costDefinition: string;
  candidates: CandidateResult[];
  /** Candidate labels by p99 at the user's burst, lowest first. */
  ranking: string[];
  /** Every simulated point, by key: its seed and the metrics the answers use. */
  points: { key: string; seed: string; launchP99S: number; successRate: number; simulatedS: number }[];
}

export const COST_DEFINITION =
  'USD per 1,000 successful launches = usdPerHour x (simulated time until the last launch of the burst completes, s) / 3600 / (burst x successRate) x 1000: the instance-time a burst occupies, charged at the hourly price, shared by the launches that succeeded. Containers per dollar-hour = largest safe burst / usdPerHour: how many containers one dollar of hourly instance price can start at once within the objective.';

/**
 * The containerd releases that carry each runtime fix: the common-parent
 * idmapped mount (containerd PR #12092, backported to 2.0.7 and 2.1.5, in
 * 2.2) and its one-pass form, whose inspection mount is not idmapped
 * (containerd PR #12433, in 2.3).
 */
export const FIX_RELEASES: Partial<Record<RuntimeVariant, { pr: string; releases: string }>> = {
  'common-parent': { pr: 'containerd PR #12092', releases: 'containerd 2.0.7, 2.1.5, 2.2' },
  'common-parent-one-pass': { pr: 'containerd PR #12433', releases: 'containerd 2.3' },
};

/** Bursts larger than this are not searched (simulating them takes minutes each). */
const SEARCH_CEILING = 5_000;

export interface RunPlanOptions {
  workers: number;
  signal?: AbortSignal;
  /** Upper bound of the points to simulate (bisection may finish early). */
  onStart?: (total: number) => void;
  onPoint?: (done: number, key: string) => void;
}

export async function runPlan(plan: Plan, opts: RunPlanOptions): Promise<PlanResult> {
  const R = plan.replications;
  const results = new Map<string, { seed: string; metrics: Record<string, number> }>();
  let done = 0;

  const paramsFor = (runtime: RuntimeVariant, burst: number): Record<string, unknown> =>
    launchSchema.parse({
      containers: [burst],
      variant: runtime,
      layers: plan.workload.layers,
      imageMix: plan.workload.imageMix,
      arrival: plan.workload.arrival,
      kernel: plan.kernelRef,
      healthCheckTimeoutNs: plan.objective.healthCheckTimeoutS * 1e9,
      ...(plan.workload.host ? { host: plan.workload.host } : {}),
      ...(plan.workload.horizonNs ? { horizonNs: plan.workload.horizonNs } : {}),
    }) as unknown as Record<string, unknown>;

  const pointsFor = (c: Configuration, burst: number): Point[] => {
    const out: Point[] = [];
    const { model: _m, ...restriction } = c.machine;
    for (let rep = 0; rep < R; rep++) {
      const key = pointKey(c, burst, rep);
      out.push({
        key,
        seed: pointSeed(plan.seed, key),
        kind: 'launch',
        variant: configurationKey(c),
        xName: 'containers',
        x: burst,
        machine: { model: c.modelRef, ...restriction },
        params: paramsFor(c.runtime, burst),
        sweep: {},
        ablate: plan.ablate ?? [],
      });
    }
    return out;
  };

  /** Simulates whatever of these (configuration, burst) pairs is not known yet, all in one pool run. */
  const evaluate = async (wanted: { config: Configuration; burst: number }[]) => {
    const todo = new Map<string, Point>();
    for (const w of wanted) for (const p of pointsFor(w.config, w.burst)) if (!results.has(p.key)) todo.set(p.key, p);
    const points = [...todo.values()];
    if (points.length === 0) return;
    const outputs: PointOutput[] = await simulatePoints(points, {
      workers: opts.workers,
      signal: opts.signal,
      onPoint: (_d, _t, p) => opts.onPoint?.(++done, p.key),
    });
    points.forEach((p, i) => results.set(p.key, { seed: p.seed, metrics: outputs[i]!.metrics }));
  };

  const priceOf = (c: Configuration): number | null => loadHardwareModel(c.modelRef).price?.usdPerHour.value ?? null;

  const summarize = (c: Configuration, burst: number): BurstSummary => {
    const reps = Array.from({ length: R }, (_, rep) => results.get(pointKey(c, burst, rep))!.metrics);
    const p99S = meanInterval(reps.map((m) => m.launchP99S), plan.confidence);
    const successRate = meanInterval(reps.map((m) => m.successRate), plan.confidence);
    const price = priceOf(c);
    const costs = reps.map((m) => (price === null || m.successRate <= 0 ? NaN : ((price * m.simulatedS) / 3600 / (burst * m.successRate)) * 1000));
    const costPer1000Usd = costs.some((x) => Number.isNaN(x)) ? null : meanInterval(costs, plan.confidence);
    const objectiveHolds = p99S.hi <= plan.objective.p99LaunchS && successRate.mean >= plan.objective.successRate;
    return { burst, p99S, successRate, costPer1000Usd, objectiveHolds };
  };

  const base = plan.candidates.map((c): Configuration => ({ machine: c.machine, modelRef: c.modelRef, runtime: plan.workload.variant }));
  const alternativesOf = plan.candidates.map((c, i) => alternativeConfigurations(plan, c, base[i]!));

  // Round 1: the user's burst for every candidate and alternative, and the
  // search's first bursts (the whole list, or both bisection bounds).
  const firstSearch = 'bursts' in plan.search ? plan.search.bursts : [plan.search.bisect.low, plan.search.bisect.high];
  const round1 = [
    ...base.map((config) => ({ config, burst: plan.burst })),
    ...alternativesOf.flat().map((a) => ({ config: a.config, burst: plan.burst })),
    ...base.flatMap((config) => firstSearch.map((burst) => ({ config, burst }))),
  ];
  const round1Points = new Set(round1.flatMap((w) => pointsFor(w.config, w.burst).map((p) => p.key))).size;
  // Lists are refined too: about five halvings to 5% of the failing burst, plus one round below or above the list.
  const bisectRounds = 'bisect' in plan.search ? Math.max(0, Math.ceil(Math.log2((plan.search.bisect.high - plan.search.bisect.low) / plan.search.bisect.step))) : 6;
  opts.onStart?.(round1Points + bisectRounds * base.length * R);
  await evaluate(round1);

  const safe = await searchSafeBursts(plan, base, evaluate, summarize);

  const candidates = plan.candidates.map((c, i): CandidateResult => {
    const atBurst = summarize(base[i]!, plan.burst);
    const alternatives = alternativesOf[i]!
      .map((a): Alternative => {
        const s = summarize(a.config, plan.burst);
        return { change: a.change, kind: a.kind, machine: a.config.machine, runtime: a.config.runtime, atBurst: s, p99Improvement: (atBurst.p99S.mean - s.p99S.mean) / atBurst.p99S.mean };
      })
      .sort((x, y) => y.p99Improvement - x.p99Improvement || (x.change < y.change ? -1 : 1));
    const usdPerHour = priceOf(base[i]!);
    const safeValue = safe[i]!.value;
    const containersPerDollarHour = usdPerHour === null || safeValue === null ? null : Number((safeValue / usdPerHour).toFixed(2));
    return { label: c.label, machine: c.machine, usdPerHour, containersPerDollarHour, atBurst, largestSafeBurst: safe[i]!, alternatives };
  });

  const ranking = [...candidates].sort((a, b) => a.atBurst.p99S.mean - b.atBurst.p99S.mean || (a.label < b.label ? -1 : 1)).map((c) => c.label);
  const points = [...results.entries()]
    .sort(([a], [b]) => byCodeUnit(a, b))
    .map(([key, r]) => ({ key, seed: r.seed, launchP99S: r.metrics.launchP99S!, successRate: r.metrics.successRate!, simulatedS: r.metrics.simulatedS! }));
  const { candidates: _c, kernelRef: _k, ...planEcho } = plan;
  return { format: 'locksim-plan', version: 1, plan: planEcho, costDefinition: COST_DEFINITION, candidates, ranking, points };
}

/** Variants that improve the per-layer mount path; the others already mount O(1) per container. */
const FIXABLE: readonly RuntimeVariant[] = ['per-layer-idmap', 'fsconfig-lowerdir-plus'];

function alternativeConfigurations(plan: Plan, candidate: PlanCandidate, base: Configuration): { change: string; kind: Alternative['kind']; config: Configuration }[] {
  const out: { change: string; kind: Alternative['kind']; config: Configuration }[] = [];
  const want = plan.alternatives;
  const model = loadHardwareModel(candidate.modelRef);
  const fits = (machine: PlanCandidate['machine']): boolean => {
    try {
      const { model: _m, ...restriction } = machine;
      buildTopology(model, restriction);
      return true;
    } catch {
      return false; // e.g. a cores restriction larger than one socket: that change does not apply
    }
  };
  if (want.runtimeFix && FIXABLE.includes(base.runtime)) {
    for (const runtime of ['common-parent', 'common-parent-one-pass'] as const) {
      out.push({ change: `runtime fix: ${runtime} (${FIX_RELEASES[runtime]!.releases})`, kind: 'runtime-fix', config: { ...base, runtime } });
    }
  }
  if (want.smtOff && model.topology.threadsPerCore > 1 && candidate.machine.smt !== false) {
    const machine = { ...candidate.machine, smt: false };
    if (fits(machine)) out.push({ change: 'HT off', kind: 'smt-off', config: { ...base, machine } });
  }
  if (want.oneSocket && (candidate.machine.sockets ?? model.topology.sockets) > 1) {
    const machine = { ...candidate.machine, sockets: 1 };
    if (fits(machine)) out.push({ change: 'one socket', kind: 'one-socket', config: { ...base, machine } });
  }
  if (want.otherCandidates) {
    for (const other of plan.candidates) {
      if (other === candidate) continue;
      out.push({ change: `instance: ${other.label}`, kind: 'instance', config: { machine: other.machine, modelRef: other.modelRef, runtime: base.runtime } });
    }
  }
  return out;
}

type Evaluate = (wanted: { config: Configuration; burst: number }[]) => Promise<void>;
type Summarize = (c: Configuration, burst: number) => BurstSummary;

/**
 * The largest burst meeting the objective, per candidate, as a number with
 * the interval it lies in. A list is checked whole first; the largest burst
 * below the first failure is where the bisection starts (a burst that passes
 * above a failing one is noise, not capacity). Then, whatever the list:
 * below the smallest listed burst when that fails (down to 1), between the
 * last passing and the first failing burst, or, when every listed burst
 * passes, by doubling up to four times the largest one (SEARCH_CEILING at
 * most) before bisecting. Bisection assumes the objective gets harder with
 * the burst and halves the interval of all candidates together, one pool run
 * per round, until it is `step` wide (a list's step: 5% of the failing burst).
 */
async function searchSafeBursts(plan: Plan, base: Configuration[], evaluate: Evaluate, summarize: Summarize): Promise<SafeBurst[]> {
  const holds = (c: Configuration, burst: number) => summarize(c, burst).objectiveHolds;
  const fromList = 'bursts' in plan.search;
  const listed = fromList ? [...(plan.search as { bursts: number[] }).bursts].sort((a, b) => a - b) : [];
  const bis = fromList ? null : (plan.search as { bisect: { low: number; high: number; step: number } }).bisect;
  const stepFor = (hi: number) => (bis ? bis.step : Math.max(1, Math.ceil(hi * 0.05)));

  // Each candidate's interval: lo passes (0: nothing passes yet), hi fails (null: none found).
  const state = base.map((c) => {
    const visited = fromList ? [...listed] : [bis!.low, bis!.high];
    if (!fromList) {
      if (!holds(c, bis!.low)) return { lo: 0, hi: bis!.low as number | null, visited, floor: bis!.low };
      if (holds(c, bis!.high)) return { lo: bis!.high, hi: null as number | null, visited, floor: bis!.low };
      return { lo: bis!.low, hi: bis!.high as number | null, visited, floor: bis!.low };
    }
    const firstFail = listed.findIndex((b) => !holds(c, b));
    if (firstFail < 0) return { lo: listed[listed.length - 1]!, hi: null as number | null, visited, floor: 1 };
    return { lo: firstFail === 0 ? 0 : listed[firstFail - 1]!, hi: listed[firstFail]! as number | null, visited, floor: 1 };
  });

  /** Runs one burst per named candidate in one pool run, and narrows each one's interval by the result. */
  const tryBursts = async (tries: { i: number; burst: number }[]) => {
    await evaluate(tries.map(({ i, burst }) => ({ config: base[i]!, burst })));
    for (const { i, burst } of tries) {
      const s = state[i]!;
      s.visited.push(burst);
      if (holds(base[i]!, burst)) s.lo = burst;
      else s.hi = burst;
    }
  };

  // Lists only: when everything listed passes, look above by doubling.
  if (fromList) {
    const ceiling = Math.min(SEARCH_CEILING, 4 * listed[listed.length - 1]!);
    for (;;) {
      const growing = state.map((s, i) => ({ s, i })).filter(({ s }) => s.hi === null && s.lo < ceiling);
      if (growing.length === 0) break;
      await tryBursts(growing.map(({ s, i }) => ({ i, burst: Math.min(ceiling, 2 * s.lo) })));
    }
    // Nothing listed passes: does a single container? (Below that there is no burst.)
    const unknownFloor = state.map((s, i) => ({ s, i })).filter(({ s }) => s.lo === 0 && s.hi !== null && s.hi > 1);
    if (unknownFloor.length > 0) await tryBursts(unknownFloor.map(({ i }) => ({ i, burst: 1 })));
  }

  for (;;) {
    const active = state.map((s, i) => ({ s, i })).filter(({ s }) => s.hi !== null && s.lo >= s.floor && s.hi - s.lo > stepFor(s.hi));
    if (active.length === 0) break;
    await tryBursts(active.map(({ s, i }) => ({ i, burst: Math.round((s.lo + s.hi!) / 2) })));
  }

  const method: SafeBurst['method'] = fromList ? 'list' : 'bisect';
  return base.map((c, i): SafeBurst => {
    const s = state[i]!;
    const checked = [...new Set(s.visited)].sort((a, b) => a - b).map((burst) => {
      const sum = summarize(c, burst);
      return { burst, p99MeanS: sum.p99S.mean, p99HiS: sum.p99S.hi, successRate: sum.successRate.mean, holds: sum.objectiveHolds };
    });
    if (s.lo === 0 || s.lo < s.floor) return { value: null, failsAt: s.hi, method, bound: 'below', checked };
    if (s.hi === null) return { value: s.lo, failsAt: null, method, bound: 'at-least', checked };
    return { value: s.lo, failsAt: s.hi, method, bound: 'exact', checked };
  });
}
