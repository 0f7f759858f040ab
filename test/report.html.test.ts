// The HTML report: unit checks of escaping, folded-stack parsing and the
// breakdown spec, then a real run's report opened in headless Chromium,
// driven over the DevTools protocol (--remote-debugging-pipe): the page must
// load from disk without console errors or exceptions, every chart container
// must hold a rendered SVG with one line per variant and one symbol per point,
// and hostile text in a variant label must stay text.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { InputError } from '../src/config/errors.ts';
import { breakdownSpec, escapeHtml, flameTree, jsonForScript, parseFolded, shareLabel, topStacks } from '../src/report/html.ts';
import type { RunResult } from '../src/report/results.ts';
import { chartSpecs } from '../src/runner/runScenario.ts';
import { headlineFindings } from '../src/report/findings.ts';

const bin = resolve('bin/locksim.js');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const noChromium = CHROMIUM === undefined;
if (noChromium) console.warn('skipped: chromium not installed (apt-get install chromium)');

describe('escaping', () => {
  it('escapes markup characters in text and keeps JSON in a script element inert', () => {
    expect(escapeHtml(`<b a="1">'&'</b>`)).toBe('&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;');
    const json = jsonForScript({ label: '</script><!-- \u2028' });
    expect(json).not.toMatch(/[<>]/);
    expect(json).not.toContain('\u2028');
    expect(JSON.parse(json)).toEqual({ label: '</script><!-- \u2028' });
  });
});

describe('flame tree', () => {
  it('turns folded stacks into a tree whose node values sum the stacks through them', () => {
    const tree = flameTree(parseFolded('a;b 5\na;c 7\na;b 4\nz 9\n', 'p.folded'), 'p');
    expect(tree).toEqual({
      name: 'p', value: 25, children: [
        { name: 'a', value: 16, children: [{ name: 'b', value: 9, children: [] }, { name: 'c', value: 7, children: [] }] },
        { name: 'z', value: 9, children: [] },
      ],
    });
  });
});

describe('folded stacks', () => {
  it('parses stacks and lists the heaviest, equal stacks summed', () => {
    const stacks = parseFolded('a;b 5\n\na;c 7\na;b 4\nz 9\n', 'p.folded');
    expect(topStacks(stacks, 2)).toEqual([
      { stack: 'a;b', count: 9 },
      { stack: 'z', count: 9 },
    ]);
  });

  it('locates a line without a count', () => {
    let err: unknown;
    try {
      parseFolded('a;b 5\na;c seven\n', 'p.folded');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/^p\.folded:2:5: count: expected .*whole sample count, got "seven"$/);
  });
});

describe('breakdown chart', () => {
  const point = (variant: string, x: number, metrics: Record<string, number>) => ({ variant, x, key: `${variant}|x=${x}`, seed: '0', metrics });
  const run = (points: RunResult['points']): RunResult => ({ scenario: { name: 's', kind: 'launch', seed: 1, resolved: {} }, models: {}, xLabel: 'containers', points, createdBy: 't' });

  it('stacks the share metrics of each point, and is absent for runs without them', () => {
    const spec = breakdownSpec(run([point('a', 1, { shareSpin: 0.25, shareRunQueue: 0.75, cpuSpinShare: 0.5 }), point('a', 2, { shareSpin: 1 })])) as unknown as {
      data: { values: { point: string; part: string; share: number }[] };
    };
    // cpuSpinShare is a share of another whole (all CPU time) and stays out.
    expect(spec.data.values).toEqual([
      { point: 'a | 1', part: 'run queue', order: 0, share: 0.75 },
      { point: 'a | 1', part: 'spin', order: 1, share: 0.25 },
      { point: 'a | 2', part: 'run queue', order: 0, share: 0 },
      { point: 'a | 2', part: 'spin', order: 1, share: 1 },
    ]);
    expect(breakdownSpec(run([point('a', 1, { latencyMeanNs: 3 })]))).toBeUndefined();
    expect(shareLabel('shareLockSleep')).toBe('lock sleep');
  });
});

describe('locksim report', () => {
  it('rejects a directory without results.json with one located line, writing nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'locksim-rep-empty-'));
    try {
      const r = spawnSync(process.execPath, [bin, 'report', dir], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(`${join(dir, 'results.json')}:1:1: (file): expected a results.json written by locksim run, got no such file`);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- in a browser

/** Minimal DevTools-protocol client over Chromium's --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-framed JSON). */
class Cdp {
  private nextId = 1;
  private pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private buffer = '';
  readonly events: { method: string; params: Record<string, unknown>; sessionId?: string }[] = [];
  private waiters: { method: string; resolve(): void }[] = [];

  constructor(private readonly input: Writable, output: Readable) {
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 1);
        if (msg.id !== undefined) {
          const p = this.pending.get(msg.id)!;
          this.pending.delete(msg.id);
          if (msg.error) p.reject(new Error(`${msg.error.message}`));
          else p.resolve(msg.result);
        } else {
          this.events.push(msg);
          for (const w of this.waiters.filter((w) => w.method === msg.method)) w.resolve();
          this.waiters = this.waiters.filter((w) => w.method !== msg.method);
        }
      }
    });
  }

  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    const id = this.nextId++;
    this.input.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return new Promise((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  waitFor(method: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ method, resolve }));
  }
}

interface ChartInfo {
  id: string;
  svg: number;
  lines: number;
  symbols: number;
  areas: number;
  rects: number;
}

interface PageInfo {
  rendered: string | null;
  renderError: string | null;
  pwned: boolean;
  injectedImages: number;
  charts: ChartInfo[];
  tableHasLabel: boolean;
  stacksAll: number;
  profiles: number;
  findings: string[];
  firstSection: string | null;
  flameFrames: number;
  flameOptions: number;
  flameLabels: string[];
}

let dir: string;
let chromium: ChildProcess | undefined;
let cdp: Cdp;
let page: PageInfo;
let problems: string[];
let results: RunResult;

const HOSTILE = 'evil </script><img src=x onerror="window.pwned=true">';

beforeAll(async () => {
  if (noChromium) return;
  dir = mkdtempSync(join(tmpdir(), 'locksim-html-'));
  const scenario = join(dir, 'storm.yaml');
  writeFileSync(
    scenario,
    `name: storm
kind: launch
seed: 3
variants:
  - label: r5.metal
    machine: { model: r5.metal }
  - label: '${HOSTILE}'
    machine: { model: m7a.24xlarge }
launch:
  containers: [4, 8, 12]
  variant: per-layer-idmap
  layers: 5
`,
  );
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [bin, 'run', scenario, '--out', out, '--no-charts'], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const rep = spawnSync(process.execPath, [bin, 'report', out, '--out', join(dir, 'report.html'), '--top', '5'], { encoding: 'utf8', timeout: 60_000 });
  expect(rep.status, rep.stderr).toBe(0);

  chromium = spawn(
    CHROMIUM!,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      `--user-data-dir=${join(dir, 'profile')}`, '--remote-debugging-pipe', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
  );
  cdp = new Cdp(chromium.stdio[3] as Writable, chromium.stdio[4] as Readable);
  const { targetId } = await cdp.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
  await cdp.send('Runtime.enable', {}, sessionId);
  await cdp.send('Log.enable', {}, sessionId);
  await cdp.send('Page.enable', {}, sessionId);
  const loaded = cdp.waitFor('Page.loadEventFired');
  await cdp.send('Page.navigate', { url: pathToFileURL(join(dir, 'report.html')).href }, sessionId);
  await loaded;
  const evaluate = async <T>(expression: string): Promise<T> =>
    (await cdp.send<{ result: { value: T } }>('Runtime.evaluate', { expression, returnByValue: true }, sessionId)).result.value;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !(await evaluate<boolean>(`document.body.hasAttribute('data-rendered') || document.body.hasAttribute('data-render-error')`))) {
    await new Promise((r) => setTimeout(r, 100));
  }
  page = await evaluate<PageInfo>(`(() => {
    const count = (el, sel) => el.querySelectorAll(sel).length;
    return {
      rendered: document.body.getAttribute('data-rendered'),
      renderError: document.body.getAttribute('data-render-error'),
      pwned: window.pwned === true,
      injectedImages: document.querySelectorAll('img').length,
      charts: [...document.querySelectorAll('[data-vl-spec]')].map((el) => ({
        id: el.id, svg: count(el, 'svg'),
        lines: count(el, 'g.mark-line.role-mark path'), symbols: count(el, 'g.mark-symbol.role-mark path'),
        areas: count(el, 'g.mark-area.role-mark path'), rects: count(el, 'g.mark-rect.role-mark path'),
      })),
      tableHasLabel: [...document.querySelectorAll('#results td')].some((td) => td.textContent === ${JSON.stringify(HOSTILE)}),
      stacksAll: count(document, '#stacks-all tbody tr'),
      findings: [...document.querySelectorAll('#findings li')].map((li) => li.textContent),
      firstSection: document.querySelector('section') && document.querySelector('section').id,
      flameFrames: count(document, '#flame-chart svg g rect'),
      flameOptions: count(document, '#flame-select option'),
      flameLabels: [...document.querySelectorAll('#flame-chart svg g')].map((g) => g.textContent).filter(Boolean).slice(0, 50),
      profiles: count(document, 'details.profile'),
    };
  })()`);
  problems = cdp.events
    .filter(
      (e) =>
        e.method === 'Runtime.exceptionThrown' ||
        (e.method === 'Runtime.consoleAPICalled' && ['error', 'warning', 'assert'].includes(String(e.params.type))) ||
        (e.method === 'Log.entryAdded' && ['error', 'warning'].includes(String((e.params.entry as { level: string }).level))),
    )
    .map((e) => JSON.stringify(e.params).slice(0, 300));
}, 180_000);

afterAll(async () => {
  if (chromium) {
    const proc = chromium;
    await cdp.send('Browser.close').catch(() => undefined);
    // Wait for the browser to exit: until then it may still write into its profile.
    if (proc.exitCode === null && proc.signalCode === null) {
      await Promise.race([new Promise((done) => proc.once('exit', done)), new Promise((done) => setTimeout(done, 5_000))]);
    }
    proc.kill();
  }
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

describe('report.html in headless Chromium', () => {
  it.skipIf(noChromium)('loads from disk without console errors and renders every chart', () => {
    expect(problems).toEqual([]);
    expect(page.renderError).toBeNull();
    // The line charts of a launch run (the success chart only when a launch failed) plus the breakdown.
    const lineCharts = chartSpecs(results).length;
    expect(lineCharts).toBeGreaterThanOrEqual(2);
    expect(page.rendered).toBe(String(lineCharts + 1));
    expect(page.charts.map((c) => c.id)).toEqual([...Array.from({ length: lineCharts }, (_, i) => `chart-${i}`), 'breakdown-0']);
    for (const c of page.charts) expect(c.svg, c.id).toBe(1);
  });

  it.skipIf(noChromium)('draws one line per variant and one symbol per point; the breakdown one bar segment per point and share', () => {
    const points = results.points.length;
    const variants = new Set(results.points.map((p) => p.variant)).size;
    expect(points).toBe(6);
    const lineCharts = page.charts.filter((c) => c.id.startsWith('chart-'));
    for (const c of lineCharts) {
      expect(c.lines, c.id).toBe(variants);
      expect(c.symbols, c.id).toBe(points);
    }
    // The latency chart has its p50-p99 band, one area per variant.
    expect(page.charts[0]!.areas).toBe(variants);
    const shares = Object.keys(results.points[0]!.metrics).filter((m) => /^share[A-Z]/.test(m)).length;
    expect(shares).toBeGreaterThan(1);
    expect(page.charts.find((c) => c.id === 'breakdown-0')!.rects).toBe(points * shares);
  });

  it.skipIf(noChromium)('opens with the headline findings computed from the results', () => {
    expect(page.firstSection).toBe('findings');
    expect(page.findings).toEqual(headlineFindings(results));
    expect(page.findings.length).toBeGreaterThanOrEqual(3);
    expect(page.findings.join(' ')).toMatch(/p99 launch time .* lower than/);
  });

  it.skipIf(noChromium)('draws a flame graph of a point from its folded stacks', () => {
    expect(page.flameOptions).toBe(results.points.length);
    expect(page.flameFrames).toBeGreaterThan(5);
    expect(page.flameLabels.join(' ')).toMatch(/containerd/);
  });

  it.skipIf(noChromium)('keeps hostile text as text', () => {
    expect(page.pwned).toBe(false);
    expect(page.injectedImages).toBe(0);
    expect(page.tableHasLabel).toBe(true);
  });

  it.skipIf(noChromium)('lists the heaviest stacks over all profiles and per profile', () => {
    expect(page.stacksAll).toBe(5);
    expect(page.profiles).toBe(6);
  });
});
