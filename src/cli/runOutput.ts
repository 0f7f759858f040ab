/**
 * What `locksim run` prints when a run finishes: the headline findings first
 * (the story, computed from the results), then the summary table in human
 * units, then one short line per kind of file written.
 */
import type { ScenarioRun } from '../runner/runScenario.ts';
import { headlineFindings } from '../report/findings.ts';
import { writtenFilesLines } from '../report/summary.ts';

/** `seconds`: how long the run took, when it was one (a merge was not). */
export function runReport(result: Omit<ScenarioRun, 'resumed'>, outDir: string, seconds?: number): string {
  const { run } = result;
  const findings = headlineFindings(run);
  const lines = [`${run.scenario.name}: ${run.points.length} points${seconds === undefined ? '' : ` in ${seconds.toFixed(1)} s`}`, ''];
  if (findings.length > 0) lines.push(...findings.map((f) => `  ${f}`), '');
  lines.push(result.summary.trimEnd(), '', ...writtenFilesLines(outDir, result.files));
  return lines.join('\n') + '\n';
}
