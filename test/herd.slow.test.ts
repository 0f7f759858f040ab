/**
 * Spinner herds in aggregate against every spinner on its own (issue 14
 * item 4; docs/model.md 2b, "Spinner herds"): the blog's launch scenarios
 * (Figs 3, 5, 6, 9, 11) run in both modes with the same seeds, and every
 * point's median, p99 and success rate agree within 2%.
 *
 * The two modes compute the same queue orders and the same times (only the
 * event count differs: test/herd.test.ts checks identity on small points);
 * 2% is the tolerance for the blog tables.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenarioFile } from '../src/runner/runScenario.ts';
import type { RunResult } from '../src/report/results.ts';

const SCENARIOS = ['fig3-instance-types', 'fig5-numa', 'fig6-hyperthreading', 'fig9-architecture', 'fig11-common-parent-fix'];
const runs = new Map<string, { aggregate: RunResult; detailed: RunResult }>();

async function run(name: string, detailed: boolean): Promise<RunResult> {
  const out = mkdtempSync(join(tmpdir(), `locksim-herd-${name}-`));
  let file = join('scenarios', `${name}.yaml`);
  if (detailed) {
    file = join(out, `${name}-detailed.yaml`);
    writeFileSync(file, readFileSync(join('scenarios', `${name}.yaml`), 'utf8') + 'simulation: { detailed: true }\n');
  }
  return (await runScenarioFile(file, { outDir: join(out, 'out'), workers: 2, charts: false })).run;
}

beforeAll(async () => {
  for (const name of SCENARIOS) runs.set(name, { aggregate: await run(name, false), detailed: await run(name, true) });
}, 1_800_000);

describe('aggregate herds agree with detailed spinners on the blog tables', () => {
  for (const name of SCENARIOS) {
    it(`${name}: launch p50, p99 and success rate within 2% at every point, with fewer events`, () => {
      const { aggregate, detailed } = runs.get(name)!;
      expect(aggregate.points.length).toBe(detailed.points.length);
      let eventsA = 0, eventsD = 0;
      for (const d of detailed.points) {
        const a = aggregate.points.find((p) => p.key === d.key)!;
        for (const m of ['launchP50S', 'launchP99S', 'successRate']) {
          const x = a.metrics[m], y = d.metrics[m];
          // A success rate of 0 (every launch past the timeout) must stay 0.
          const rel = y === 0 ? Math.abs(x) : Math.abs(x / y - 1);
          expect(rel, `${d.key} ${m}: aggregate ${x}, detailed ${y}`).toBeLessThanOrEqual(0.02);
        }
        eventsA += a.metrics.events;
        eventsD += d.metrics.events;
      }
      expect(eventsA).toBeLessThan(eventsD);
    });
  }
});
