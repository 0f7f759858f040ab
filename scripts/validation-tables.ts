/**
 * Prints the simulated numbers behind docs/validation.md as markdown tables:
 * runs the blog's scenarios (2 workers) and tabulates the metrics each
 * statement is about. Usage: npx tsx scripts/validation-tables.ts > tables.md
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenarioFile } from '../src/runner/runScenario.ts';
import type { RunResult } from '../src/report/results.ts';

async function run(name: string): Promise<RunResult> {
  const out = mkdtempSync(join(tmpdir(), `locksim-validation-${name}-`));
  process.stderr.write(`running ${name}\n`);
  return (await runScenarioFile(join('scenarios', `${name}.yaml`), { outDir: out, workers: 2, charts: false })).run;
}

function table(r: RunResult, metric: string, digits = 3, scale = 1): string {
  const xs = [...new Set(r.points.map((p) => p.x))].sort((a, b) => a - b);
  const variants = [...new Set(r.points.map((p) => p.variant))];
  const head = `| ${r.xLabel} | ${variants.join(' | ')} |\n|---|${variants.map(() => '---').join('|')}|`;
  const rows = xs.map((x) => `| ${x} | ${variants.map((v) => {
    const p = r.points.find((q) => q.variant === v && q.x === x);
    return p ? Number((p.metrics[metric] * scale).toPrecision(digits)).toString() : '-';
  }).join(' | ')} |`);
  return `${metric}${scale !== 1 ? ` (x${scale})` : ''}:\n\n${head}\n${rows.join('\n')}\n`;
}

const out: string[] = [];
const fig10 = await run('fig10-pause-bench');
out.push('### Fig 10 (B7)\n', table(fig10, 'latencyMeanNs', 3), table(fig10, 'acquisitionsPerSec', 3));
const fig3 = await run('fig3-instance-types');
out.push('### Fig 3 (B1-B3, B9, B10, B11)\n', table(fig3, 'launchP50S'), table(fig3, 'launchP99S'), table(fig3, 'successRate'), table(fig3, 'cpuSpinShare'), table(fig3, 'mountinfoReadMaxS'), table(fig3, 'mountTableReadMaxS'), table(fig3, 'peakPeers', 5), table(fig3, 'criMaxS'), table(fig3, 'maxMountTable', 5), table(fig3, 'mountOps', 6));
for (const [name, label, metrics] of [
  ['fig5-numa', 'Fig 5 (B4)', ['launchP50S', 'launchP99S']],
  ['fig6-hyperthreading', 'Fig 6 (B5)', ['launchP50S', 'launchP99S', 'cpuSpinShare']],
  ['fig9-architecture', 'Fig 9 (B6)', ['launchP50S', 'launchP99S', 'cpuSpinShare']],
  ['fig11-common-parent-fix', 'Fig 11 (B8)', ['launchP50S', 'launchP99S', 'cpuSpinShare', 'syscalls']],
  ['propagation-collapse', 'Mount propagation at ring-step factor 20 (B2, B11)', ['launchP99S', 'successRate', 'mountTableReadMaxS', 'criMaxS', 'peakPeers']],
] as const) {
  const r = await run(name);
  out.push(`### ${label}\n`, ...metrics.map((m) => table(r, m)));
}
process.stdout.write(out.join('\n'));
