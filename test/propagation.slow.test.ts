/**
 * The blog's collapse from mount propagation (B2, B11, B3, Fig 11), run from
 * the scenario files at the ring-step cost of r5.metal's mean core-to-core
 * transfer (scenarios/propagation-collapse.yaml; the range and what the
 * crossing needs at each end of it: docs/model.md, "Mount propagation").
 * Each statement is also checked with propagation switched off
 * (`ablate: [propagation]`), where the collapse must disappear: the failures
 * are the mechanism's, not the ring-step factor's alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenarioFile } from '../src/runner/runScenario.ts';
import type { RunResult } from '../src/report/results.ts';

const runs = new Map<string, RunResult>();
async function run(name: string, ablate = false): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), `locksim-${name}-`));
  let file = join('scenarios', `${name}.yaml`);
  if (ablate) {
    file = join(out, `${name}-ablated.yaml`);
    writeFileSync(file, readFileSync(join('scenarios', `${name}.yaml`), 'utf8') + 'ablate: [propagation]\n');
  }
  const r = await runScenarioFile(file, { outDir: join(out, 'out'), workers: 2, charts: false });
  runs.set(ablate ? `${name}+ablated` : name, r.run);
}
function metric(scenario: string, variant: string, x: number, m: string): number {
  const p = runs.get(scenario)!.points.find((q) => q.variant === variant && q.x === x);
  if (!p) throw new Error(`no point ${variant} x=${x} in ${scenario}`);
  return p.metrics[m];
}
const failing = (s: string, v: string, x: number) => metric(s, v, x, 'failures') > 0 || metric(s, v, x, 'launchP99S') > 30;
const types = ['r5.metal', 'm7i.metal-24xl', 'm7a.24xlarge'];

beforeAll(async () => {
  await run('propagation-collapse');
  await run('propagation-collapse', true);
  await run('fix-common-parent');
}, 1_800_000);

describe('B2: r5.metal fails its health checks from about 100 containers', () => {
  it('r5 at 100 containers: failures or p99 > 30 s; no machine fails at 20', () => {
    expect(failing('propagation-collapse', 'r5.metal', 100), `p99 ${metric('propagation-collapse', 'r5.metal', 100, 'launchP99S')} s`).toBe(true);
    for (const t of types) expect(metric('propagation-collapse', t, 20, 'failures')).toBe(0);
  });

  it('with --ablate propagation, r5 does not fail at 100', () => {
    expect(failing('propagation-collapse+ablated', 'r5.metal', 100), `p99 ${metric('propagation-collapse+ablated', 'r5.metal', 100, 'launchP99S')} s`).toBe(false);
    expect(metric('propagation-collapse+ablated', 'r5.metal', 100, 'peakPeers')).toBe(0);
  });
});

describe('B11: at failure the mount table takes 30+ s to read', () => {
  it('r5 at 150 containers fails and its slowest mount-table read is >= 30 s; not with --ablate propagation', () => {
    expect(failing('propagation-collapse', 'r5.metal', 150)).toBe(true);
    expect(metric('propagation-collapse', 'r5.metal', 150, 'mountTableReadMaxS')).toBeGreaterThanOrEqual(30);
    expect(metric('propagation-collapse+ablated', 'r5.metal', 150, 'mountTableReadMaxS')).toBeLessThan(30);
    expect(failing('propagation-collapse+ablated', 'r5.metal', 150)).toBe(false);
  });
});

describe('B3: m7a.24xlarge keeps the highest success', () => {
  it('at every burst m7a succeeds at least as often as r5 and m7i, and its p99 is no higher than r5\'s', () => {
    for (const k of [20, 100, 150]) {
      const [r5, m7i, m7a] = types.map((t) => metric('propagation-collapse', t, k, 'successRate'));
      expect(m7a, `K=${k}: r5 ${r5} m7i ${m7i} m7a ${m7a}`).toBeGreaterThanOrEqual(Math.max(r5, m7i));
      expect(metric('propagation-collapse', 'm7a.24xlarge', k, 'launchP99S')).toBeLessThanOrEqual(metric('propagation-collapse', 'r5.metal', k, 'launchP99S'));
    }
  });
});

describe('Fig 11: the common-parent fix removes the collapse', () => {
  it('no failure at 100 containers with the fix, failures without it', () => {
    const fixed = 'r5.metal, variant=common-parent';
    const before = 'r5.metal, variant=per-layer-idmap';
    expect(metric('fix-common-parent', fixed, 100, 'failures')).toBe(0);
    expect(failing('fix-common-parent', before, 100)).toBe(true);
  });
});
