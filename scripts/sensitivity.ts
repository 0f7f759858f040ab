/**
 * Sensitivity of the blog statements to the hand-set parameters
 * (docs/validation.md, "Hand-set parameters: ranges and sensitivity").
 *
 * Each parameter without a citation or a measurement has a documented range;
 * this script runs the blog statements' checks (the ones of
 * test/launch.blog.slow.test.ts, at one or two loads each, to keep the run
 * affordable) with the parameter at each end of its range, everything else at
 * its default, and prints a markdown table of which statements hold and
 * which flip against the defaults.
 *
 *   npx tsx scripts/sensitivity.ts [--workers 2] [--params NAME,NAME]
 *
 * Parameters of the launch section are set in the scenario; kernel-model and
 * hardware-model parameters are set in copies of the model files written to a
 * temporary directory (the scenario then names the copy), so the same
 * pipeline runs as for `locksim run`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadScenario, type Scenario } from '../src/config/scenarioSchema.ts';
import { resolvePoints, type Point } from '../src/config/points.ts';
import { simulatePoints } from '../src/runner/pool.ts';
import { defaultModelsDir } from '../src/config/hardwareSchema.ts';
import { defaultKernelModelsDir } from '../src/workload/kernelModel.ts';

interface Param {
  name: string;
  where: 'launch' | 'kernel' | 'hardware';
  /** Path inside the launch section, the kernel model file or the hardware model file. */
  path: string[];
  base: number;
  range: [number, number];
}

export const PARAMS: Param[] = [
  { name: 'launch.host.pathLookupsPerSecPerLaunch', where: 'launch', path: ['host', 'pathLookupsPerSecPerLaunch'], base: 200_000, range: [50_000, 400_000] },
  { name: 'launch.host.pathLookupsPerSec', where: 'launch', path: ['host', 'pathLookupsPerSec'], base: 20_000, range: [5_000, 100_000] },
  { name: 'launch.host.containerStartPathLookups', where: 'launch', path: ['host', 'containerStartPathLookups'], base: 100, range: [30, 600] },
  { name: 'launch.host.baseMounts', where: 'launch', path: ['host', 'baseMounts'], base: 40, range: [20, 200] },
  { name: 'kernel host.pathLookupNs', where: 'kernel', path: ['host', 'pathLookupNs', 'value'], base: 500, range: [200, 1500] },
  { name: 'kernel host.containerStartNs', where: 'kernel', path: ['host', 'containerStartNs', 'value'], base: 20_000_000, range: [5_000_000, 60_000_000] },
  { name: 'kernel mechanisms.percpuSumPerCpuNs', where: 'kernel', path: ['mechanisms', 'percpuSumPerCpuNs', 'value'], base: 15, range: [5, 50] },
  { name: 'kernel mechanisms.rcuExpeditedPerCpuNs', where: 'kernel', path: ['mechanisms', 'rcuExpeditedPerCpuNs', 'value'], base: 1000, range: [200, 2000] },
  { name: 'hardware smt.siblingSlowdown', where: 'hardware', path: ['smt', 'siblingSlowdown', 'value'], base: 1.7, range: [1.3, 2.0] },
];

/**
 * The scenarios and loads the checks read. As in test/launch.blog.slow.test.ts,
 * the hardware statements (B1, B4-B6) are checked with mount propagation off
 * (`+propagation`): its ring walks are a term common to every machine.
 */
const RUNS: { scenario: string; at: number[]; ablate?: 'propagation' }[] = [
  { scenario: 'fig3-instance-types', at: [100] },
  { scenario: 'fig3-instance-types', at: [20], ablate: 'propagation' },
  { scenario: 'fig5-numa', at: [100], ablate: 'propagation' },
  { scenario: 'fig6-hyperthreading', at: [100], ablate: 'propagation' },
  { scenario: 'fig9-architecture', at: [150], ablate: 'propagation' },
  { scenario: 'fig11-common-parent-fix', at: [100] },
];
const runKey = (r: (typeof RUNS)[number]) => (r.ablate ? `${r.scenario}+${r.ablate}` : r.scenario);

type Metric = (scenario: string, variant: string, x: number, metric: string) => number;

interface Check {
  id: string;
  what: string;
  /** [holds, the number it turns on]. */
  eval(m: Metric): [boolean, string];
}

const f2 = (x: number) => x.toFixed(2);

/** The statements' checks, as test/launch.blog.slow.test.ts has them, at the loads above. */
export const CHECKS: Check[] = [
  {
    id: 'B1', what: 'p50 at 20 containers: max/min of the three types <= 1.25 (the clock ratio m7a/r5 is 1.19)',
    eval: (m) => {
      const p = ['r5.metal', 'm7i.metal-24xl', 'm7a.24xlarge'].map((t) => m('fig3-instance-types+propagation', t, 20, 'launchP50S'));
      const r = Math.max(...p) / Math.min(...p);
      return [r <= 1.25, f2(r)];
    },
  },
  {
    id: 'B3', what: 'at 100: r5 > m7i > m7a in p50 and p99',
    eval: (m) => {
      const ok = ['launchP50S', 'launchP99S'].every((k) => {
        const [r5, m7i, m7a] = ['r5.metal', 'm7i.metal-24xl', 'm7a.24xlarge'].map((t) => m('fig3-instance-types', t, 100, k));
        return r5! > m7i! && m7i! > m7a!;
      });
      const r = m('fig3-instance-types', 'r5.metal', 100, 'launchP50S') / m('fig3-instance-types', 'm7a.24xlarge', 100, 'launchP50S');
      return [ok, `r5/m7a ${f2(r)}`];
    },
  },
  {
    id: 'B4', what: 'p50 at 100: 2 sockets / 1 socket >= 1.2',
    eval: (m) => {
      const r = m('fig5-numa+propagation', 'm7i.metal-48xl (2 sockets)', 100, 'launchP50S') / m('fig5-numa+propagation', 'm7i.metal-24xl (1 socket)', 100, 'launchP50S');
      return [r >= 1.2, f2(r)];
    },
  },
  {
    id: 'B5', what: 'p50 at 100: HT off / HT on <= 0.85',
    eval: (m) => {
      const r = m('fig6-hyperthreading+propagation', 'm7i.metal-24xl, HT off', 100, 'launchP50S') / m('fig6-hyperthreading+propagation', 'm7i.metal-24xl, HT on', 100, 'launchP50S');
      return [r <= 0.85, f2(r)];
    },
  },
  {
    id: 'B6', what: 'p50 at 150: m7a 48 cores / m7i HT off <= 0.85',
    eval: (m) => {
      const r = m('fig9-architecture+propagation', 'm7a.24xlarge, 48 cores', 150, 'launchP50S') / m('fig9-architecture+propagation', 'm7i.metal-24xl, HT off (48 cores)', 150, 'launchP50S');
      return [r <= 0.85, f2(r)];
    },
  },
  {
    id: 'B8', what: 'at 100: with the fix, p99 lower and spinning on the mount locks < 1/4',
    eval: (m) => {
      const s = 'fig11-common-parent-fix', before = 'r5.metal, variant=per-layer-idmap', after = 'r5.metal, variant=common-parent';
      const spin = (v: string) => m(s, v, 100, 'mountLockSpinS') + m(s, v, 100, 'pathInitSpinS') + m(s, v, 100, 'backgroundSpinS');
      const r = spin(after) / spin(before);
      return [r < 0.25 && m(s, after, 100, 'launchP99S') < m(s, before, 100, 'launchP99S'), `spin ${f2(r)}`];
    },
  },
];

function setPath(o: Record<string, unknown>, path: string[], value: number): void {
  let t = o;
  for (const k of path.slice(0, -1)) t = (t[k] ??= {}) as Record<string, unknown>;
  t[path[path.length - 1]!] = value;
}

/** The run's scenarios with the parameter at `value` (undefined: defaults). */
function scenariosWith(param: Param | undefined, value: number | undefined, tmp: string): Scenario[] {
  return RUNS.map(({ scenario, at, ablate }) => {
    const s = loadScenario(resolve('scenarios', `${scenario}.yaml`));
    if (ablate) s.ablate = [ablate];
    if (s.kind !== 'launch') throw new Error(`${scenario} is not a launch scenario`);
    s.launch.containers = s.launch.containers.filter((x) => at.includes(x));
    if (param && value !== undefined) {
      if (param.where === 'launch') setPath(s.launch as unknown as Record<string, unknown>, param.path, value);
      else if (param.where === 'kernel') {
        const file = join(tmp, `kernel-${param.path.join('.')}-${value}.yaml`);
        const model = parse(readFileSync(join(defaultKernelModelsDir, `${s.launch.kernel}.yaml`), 'utf8'));
        setPath(model, param.path, value);
        writeFileSync(file, stringify(model));
        s.launch.kernel = file;
      } else {
        for (const v of s.variants) {
          const model = parse(readFileSync(join(defaultModelsDir, `${v.machine.model}.yaml`), 'utf8'));
          if (!model.smt) continue;
          setPath(model, param.path, value);
          const file = join(tmp, `${v.machine.model}-${param.path.join('.')}-${value}.yaml`);
          writeFileSync(file, stringify(model));
          v.machine.model = file;
        }
      }
    }
    return s;
  });
}

async function evaluate(scenarios: Scenario[], workers: number): Promise<{ holds: boolean; value: string }[]> {
  const points: Point[] = [];
  const owner: string[] = [];
  scenarios.forEach((s, i) => {
    for (const p of resolvePoints(s)) {
      points.push(p);
      owner.push(runKey(RUNS[i]!));
    }
  });
  const outputs = await simulatePoints(points, { workers, onPoint: (d, t) => process.stderr.write(`\r${d}/${t} points`) });
  process.stderr.write('\n');
  const metric: Metric = (scenario, variant, x, name) => {
    const i = points.findIndex((p, j) => owner[j] === scenario && p.variant === variant && p.x === x);
    if (i < 0) throw new Error(`no point ${variant} x=${x} in ${scenario}`);
    return outputs[i]!.metrics[name]!;
  };
  return CHECKS.map((c) => {
    const [holds, value] = c.eval(metric);
    return { holds, value };
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const workers = Number(flag('--workers') ?? 2);
  const only = flag('--params')?.split(',');
  const params = only ? PARAMS.filter((p) => only.includes(p.name)) : PARAMS;
  const tmp = mkdtempSync(join(tmpdir(), 'locksim-sensitivity-'));
  try {
    const cell = (r: { holds: boolean; value: string }, base?: { holds: boolean }) =>
      `${r.holds ? 'holds' : '**fails**'} (${r.value})${base && base.holds !== r.holds ? ' FLIPS' : ''}`;
    process.stderr.write('defaults\n');
    const base = await evaluate(scenariosWith(undefined, undefined, tmp), workers);
    const lines = [
      `| parameter | value | ${CHECKS.map((c) => c.id).join(' | ')} |`,
      `|---|---|${CHECKS.map(() => '---').join('|')}|`,
      `| (defaults) | | ${base.map((r) => cell(r)).join(' | ')} |`,
    ];
    const flips: string[] = [];
    for (const p of params) {
      for (const v of p.range) {
        process.stderr.write(`${p.name} = ${v}\n`);
        const r = await evaluate(scenariosWith(p, v, tmp), workers);
        lines.push(`| ${p.name} | ${v} (default ${p.base}) | ${r.map((x, i) => cell(x, base[i])).join(' | ')} |`);
        r.forEach((x, i) => {
          if (x.holds !== base[i]!.holds) flips.push(`${CHECKS[i]!.id} flips at ${p.name} = ${v}`);
        });
      }
    }
    process.stdout.write(lines.join('\n') + '\n\n');
    process.stdout.write(CHECKS.map((c) => `- ${c.id}: ${c.what}`).join('\n') + '\n\n');
    process.stdout.write(flips.length ? `Flips:\n${flips.map((f) => `- ${f}`).join('\n')}\n` : 'No statement flips inside the ranges.\n');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
