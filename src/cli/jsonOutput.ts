/**
 * `--json`: a command's answer as one JSON document on stdout, so that
 * `locksim run S.yaml --json | jq .findings` works; progress and messages go
 * to stderr as always. Non-finite numbers become null (JSON has no NaN).
 */
import type { ScenarioRun } from '../runner/runScenario.ts';
import { headlineFindings } from '../report/findings.ts';

export function jsonDocument(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

/** The answer of `locksim run --json`: findings, every point's metrics, and the files written. */
export function runJson(result: Omit<ScenarioRun, 'resumed'>, outDir: string, seconds?: number): string {
  return jsonDocument(runJsonValue(result, outDir, seconds));
}

/** runJson's document as a value (`run` of several scenarios prints one per scenario in a list). */
export function runJsonValue(result: Omit<ScenarioRun, 'resumed'>, outDir: string, seconds?: number): Record<string, unknown> {
  const { run } = result;
  return {
    scenario: run.scenario.name,
    kind: run.scenario.kind,
    seed: run.scenario.seed,
    xLabel: run.xLabel,
    ...(seconds === undefined ? {} : { seconds: Number(seconds.toFixed(1)) }),
    findings: headlineFindings(run),
    points: run.points.map((p) => ({ variant: p.variant, x: p.x, metrics: p.metrics })),
    outDir,
    files: result.files,
  };
}
