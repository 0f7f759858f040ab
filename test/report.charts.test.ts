import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { lineChartSpec, renderSvg, renderPng, renderPngAsync, renumberSvgIds, chartFiles, chartFilesOf, DEFAULT_FONT_DIR } from '../src/report/charts.ts';
import { writeOutputs } from '../src/report/atomicWrite.ts';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type { PointResult } from '../src/report/results.ts';

const variants = ['r5.metal, 2 sockets', 'r5.metal, 1 socket', 'm7a.metal-48xl'];
const threads = [1, 2, 4, 8, 16, 32, 64];
const points: PointResult[] = variants.flatMap((variant, i) =>
  threads.map((x) => {
    const p50 = 40 * x * (1 + i);
    return { variant, x, metrics: { p50, p99: 2 * p50 }, seed: 's', key: `${variant}|${x}` };
  }),
);
const spec = () =>
  lineChartSpec({
    title: 'Lock acquire latency',
    points,
    xLabel: 'threads',
    yMetric: 'p50',
    yLabel: 'latency p50 (ns)',
    xScale: 'log',
    yScale: 'linear',
    band: { lo: 'p50', hi: 'p99' },
  });

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };
const tagOf = (n: XmlNode) => Object.keys(n).find((k) => k !== ':@') as string;

/** All elements (tag, attributes, children) in document order. */
function elements(nodes: XmlNode[], out: { tag: string; attrs: Record<string, string>; children: XmlNode[] }[] = []) {
  for (const node of nodes) {
    const tag = tagOf(node);
    const children = (node[tag] as XmlNode[]) ?? [];
    out.push({ tag, attrs: node[':@'] ?? {}, children: Array.isArray(children) ? children : [] });
    if (Array.isArray(children)) elements(children, out);
  }
  return out;
}
function parseSvg(svg: string) {
  return elements(new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true }).parse(svg));
}
function textOf(children: XmlNode[]): string {
  return children.map((c) => String((c as { '#text'?: unknown })['#text'] ?? '')).join('');
}

describe('lineChartSpec + renderSvg', () => {
  it('draws one line path per variant, with axis titles, title and a legend entry per variant', async () => {
    const svg = await renderSvg(spec());
    const all = parseSvg(svg);
    // Vega facets a coloured line into one mark container per series, each holding one path.
    const pathsIn = (markClass: string) =>
      all
        .filter((e) => e.tag === 'g' && new RegExp(`\\b${markClass}\\b`).test(e.attrs.class ?? ''))
        .flatMap((g) => g.children.filter((c) => tagOf(c) === 'path'));
    const linePaths = pathsIn('mark-line');
    expect(linePaths).toHaveLength(variants.length);
    // Each line visits every x value: one moveto and one lineto per remaining point.
    for (const path of linePaths) {
      const d = (path as XmlNode)[':@']?.d ?? '';
      expect(d.match(/[ML]/g)).toHaveLength(threads.length);
    }

    const texts = all.filter((e) => e.tag === 'text').map((e) => textOf(e.children));
    expect(texts).toContain('threads');
    expect(texts).toContain('latency p50 (ns)');
    expect(texts).toContain('Lock acquire latency');
    for (const v of variants) expect(texts).toContain(v);
    // The band is drawn: one area per variant.
    expect(pathsIn('mark-area')).toHaveLength(variants.length);
  });

  it('colours variants in scenario order, not alphabetical order', () => {
    const s = spec() as unknown as { layer: { encoding: { color: { scale: { domain: string[] } } } }[] };
    expect(s.layer[1].encoding.color.scale.domain).toEqual(variants);
  });

  it('gives identical SVG bytes for the same input rendered twice', async () => {
    const first = await renderSvg(spec());
    const second = await renderSvg(spec());
    expect(second).toBe(first);
  });

  it('renumbers clip ids so earlier renders in the process do not change the bytes', async () => {
    const clipped = () => {
      const s = spec() as unknown as { layer: { mark: Record<string, unknown> }[] };
      for (const layer of s.layer) layer.mark.clip = true;
      return s as unknown as ReturnType<typeof spec>;
    };
    const first = await renderSvg(clipped());
    const second = await renderSvg(clipped());
    expect(first).toMatch(/id="clip1"/);
    expect(first).toMatch(/url\(#clip1\)/);
    expect(second).toBe(first);
  });

  it('renumberSvgIds maps ids and their references consistently', () => {
    const svg = '<clipPath id="clip7"/><clipPath id="clip9"/><g clip-path="url(#clip9)"/><g clip-path="url(#clip7)"/>';
    expect(renumberSvgIds(svg)).toBe('<clipPath id="clip1"/><clipPath id="clip2"/><g clip-path="url(#clip2)"/><g clip-path="url(#clip1)"/>');
  });

  it('refuses a log scale over values that are not positive', () => {
    const withZero = [...points, { variant: 'x', x: 0, metrics: { p50: 1, p99: 2 }, seed: 's', key: 'x|0' }];
    expect(() => lineChartSpec({ title: 't', points: withZero, xLabel: 'n', yMetric: 'p50', yLabel: 'y', xScale: 'log' })).toThrow(/log scale/);
  });
});

const fontsMissing = !existsSync(join(DEFAULT_FONT_DIR, 'DejaVuSans.ttf'));
if (fontsMissing) console.warn(`skipped: PNG tests need DejaVu fonts in ${DEFAULT_FONT_DIR}`);

describe('renderPng', () => {
  it.skipIf(fontsMissing)('produces a PNG with the requested width and the SVG aspect ratio', async () => {
    const svg = await renderSvg(spec());
    const png = renderPng(svg, { width: 1000 });
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    expect(width).toBe(1000);
    const [, svgWidth, svgHeight] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    expect(height).toBeCloseTo((1000 * svgHeight) / svgWidth, 0);
    if (process.env.LOCKSIM_KEEP_PNG) writeFileSync(join(mkdtempSync(join(tmpdir(), 'chart-')), 'chart.png'), png);
  });

  it.skipIf(fontsMissing)('is deterministic for equal SVG input', async () => {
    const svg = await renderSvg(spec());
    expect(renderPng(svg, { width: 400 }).equals(renderPng(svg, { width: 400 }))).toBe(true);
  });

  it.skipIf(fontsMissing)('chartFiles gives NAME.vl.json, NAME.svg and NAME.png that writeOutputs puts on disk', async () => {
    const out = mkdtempSync(join(tmpdir(), 'charts-'));
    await writeOutputs(out, await chartFiles('fig10', spec()));
    expect(readdirSync(out).sort()).toEqual(['fig10.png', 'fig10.svg', 'fig10.vl.json']);
    expect(JSON.parse(readFileSync(join(out, 'fig10.vl.json'), 'utf8'))).toEqual(spec());
    expect(readFileSync(join(out, 'fig10.svg'), 'utf8')).toBe(await renderSvg(spec()));
    rmSync(out, { recursive: true });
  });

  it.skipIf(fontsMissing)('chartFilesOf (PNGs on libuv threads while the next SVG renders) gives the bytes of each chart rendered alone, in order', async () => {
    const specs = [
      { name: 'a', spec: spec() },
      { name: 'b', spec: lineChartSpec({ title: 'log', points, xLabel: 'threads', yMetric: 'p99', yLabel: 'ns', xScale: 'log', yScale: 'log', band: { lo: 'p50', hi: 'p99' } }) },
      { name: 'c', spec: lineChartSpec({ title: 'another', points, xLabel: 'threads', yMetric: 'p50', yLabel: 'ns' }) },
    ];
    const together = await chartFilesOf(specs);
    const alone: { name: string; content: string | Buffer }[] = [];
    for (const { name, spec: s } of specs) {
      const svg = await renderSvg(s);
      alone.push(...(await chartFiles(name, s)).slice(0, 2), { name: `${name}.png`, content: renderPng(svg) });
    }
    expect(together.map((f) => f.name)).toEqual(['a.vl.json', 'a.svg', 'a.png', 'b.vl.json', 'b.svg', 'b.png', 'c.vl.json', 'c.svg', 'c.png']);
    together.forEach((f, i) => expect(Buffer.from(f.content).equals(Buffer.from(alone[i]!.content)), f.name).toBe(true));
    const svg = await renderSvg(spec());
    expect((await renderPngAsync(svg, { width: 300 })).equals(renderPng(svg, { width: 300 }))).toBe(true);
  });

  it('refuses to render when the font directory has no DejaVu fonts, instead of dropping all text', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'nofonts-'));
    expect(() => renderPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', { fontDir: empty })).toThrow(/DejaVu/);
    // Several charts at once: the same error for the caller (not a PNG failure left unhandled while the next SVG renders).
    await expect(chartFilesOf([{ name: 'a', spec: spec() }, { name: 'b', spec: spec() }], { fontDir: empty })).rejects.toThrow(/DejaVu/);
    rmSync(empty, { recursive: true });
  });
});
