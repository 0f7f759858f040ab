// Editors show a schema's descriptions as hover help: every field of a plan
// file has one (`locksim schema plan`), and `locksim schema` prints both kinds.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { planJsonSchema } from '../src/plan/planSchema.ts';
import { scenarioJsonSchema } from '../src/config/scenarioSchema.ts';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; anyOf?: Schema[]; oneOf?: Schema[]; items?: Schema; description?: string };

/** Paths of object properties without a description, below `path` (skipping the subtrees named in `skip`). */
function undescribed(s: Schema, path = '', skip: string[] = []): string[] {
  if (skip.includes(path)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    if (!v.description) out.push(`${path}.${k}`);
    out.push(...undescribed(v, `${path}.${k}`, skip));
  }
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) out.push(...undescribed(alt, path, skip));
  if (s.items) out.push(...undescribed(s.items, `${path}[]`, skip));
  return out;
}

describe('scenario and plan file schemas', () => {
  it('describe every field of a scenario file, of every kind', () => {
    const schema = scenarioJsonSchema() as Schema;
    expect(schema.oneOf!.length).toBeGreaterThanOrEqual(3);
    expect(undescribed(schema)).toEqual([]);
  });

  it('describe every field of a plan file', () => {
    expect(undescribed(planJsonSchema() as Schema)).toEqual([]);
    expect((planJsonSchema() as Schema).description).toMatch(/capacity plan/);
  });

  it('is printed by `locksim schema plan`; `locksim schema` stays the scenario schema', () => {
    const bin = resolve('bin/locksim.js');
    const plan = JSON.parse(spawnSync(process.execPath, [bin, 'schema', 'plan'], { encoding: 'utf8' }).stdout);
    expect(Object.keys(plan.properties)).toContain('candidates');
    const scenario = JSON.parse(spawnSync(process.execPath, [bin, 'schema'], { encoding: 'utf8' }).stdout);
    // One schema per kind of scenario (launch, lock-microbench, ...), each with its variants.
    expect(scenario.oneOf.every((k: Schema) => Object.keys(k.properties!).includes('variants'))).toBe(true);
  });
});
