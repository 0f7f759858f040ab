// From a validated scenario to the list of points to simulate: sweeps expanded
// into variants, one point per (variant, x value). A point's seed is a hash of
// the scenario seed and the point's key, never its position in a list, so any
// number of workers in any order produce the same results, and adding a
// variant or an x value leaves the other points' results unchanged.

import { createHash } from 'node:crypto';
import { kindSection, setPath, type Machine, type Scenario, type ScenarioKind } from './scenarioSchema.ts';
import type { AblationName } from './ablations.ts';

/** A variant after sweep expansion: its own machine and parameter section. */
export interface ResolvedVariant {
  label: string;
  machine: Machine;
  /** The kind's section (microbench / pingpong / launch) with sweep values applied. */
  params: Record<string, unknown>;
  /** The sweep values this variant was made with, by dotted path (empty without sweep). */
  sweep: Record<string, string | number | boolean>;
}

export interface Point {
  /** Stable identity: `${variant}|${xName}=${x}`. */
  key: string;
  /** 16 hex digits (64 bits) of sha256(scenario seed, key): a seedrandom seed. */
  seed: string;
  kind: ScenarioKind;
  variant: string;
  xName: string;
  x: number;
  machine: Machine;
  params: Record<string, unknown>;
  sweep: Record<string, string | number | boolean>;
  /** Mechanisms switched off (src/config/ablations.ts); not part of the key or seed, so an ablated point draws the plain one's random numbers. */
  ablate?: AblationName[];
  /** Every spinner simulated on its own (`simulation.detailed`); not part of the key or seed, so both modes draw the same streams. */
  detailed?: boolean;
}

/** Cartesian product of the sweep values, keys in file order; one empty combination without sweep. */
function sweepCombinations(sweep: Record<string, (string | number | boolean)[]> | undefined): Record<string, string | number | boolean>[] {
  let combos: Record<string, string | number | boolean>[] = [{}];
  for (const [key, values] of Object.entries(sweep ?? {})) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  return combos;
}

/** Variants repeated once per sweep combination (see scenarioSchema.ts, "Sweeps"). */
export function expandVariants(scenario: Scenario): ResolvedVariant[] {
  const { section } = kindSection[scenario.kind];
  const base = (scenario as unknown as Record<string, Record<string, unknown>>)[section]!;
  const combos = sweepCombinations(scenario.sweep);
  return scenario.variants.flatMap((variant) =>
    combos.map((combo) => {
      const machine: Record<string, unknown> = { ...variant.machine };
      const params = structuredClone(base);
      for (const [key, value] of Object.entries(combo)) {
        const [head, ...rest] = key.split('.');
        setPath(head === 'machine' ? machine : params, rest, value);
      }
      const suffix = Object.entries(combo).map(([key, value]) => `${key.split('.').pop()}=${String(value)}`);
      return {
        label: [variant.label, ...suffix].join(', '),
        machine: machine as Machine,
        params,
        sweep: combo,
      };
    }),
  );
}

/** The x values of a variant's points. */
function xValues(kind: ScenarioKind, params: Record<string, unknown>): number[] {
  const { xField } = kindSection[kind];
  const xs = params[xField];
  return xs as number[];
}

/** sha256 over seed and key; 64 bits are plenty to keep streams apart and fit seedrandom's string seed. */
export function pointSeed(scenarioSeed: number, key: string): string {
  return createHash('sha256').update(`locksim-point\0${scenarioSeed}\0${key}`).digest('hex').slice(0, 16);
}

export function resolvePoints(scenario: Scenario): Point[] {
  const { xField } = kindSection[scenario.kind];
  return expandVariants(scenario).flatMap((v) =>
    xValues(scenario.kind, v.params).map((x) => {
      const key = `${v.label}|${xField}=${x}`;
      return { key, seed: pointSeed(scenario.seed, key), kind: scenario.kind, variant: v.label, xName: xField, x, machine: v.machine, params: v.params, sweep: v.sweep, ablate: scenario.ablate ?? [], ...(scenario.simulation?.detailed ? { detailed: true } : {}) };
    }),
  );
}
