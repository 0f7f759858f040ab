// The teaching notebooks are committed executed, so that a reader sees their
// charts and numbers without running anything (GitHub and nbviewer show the
// saved outputs). This checks what was committed: every code cell ran, none
// failed, and every chart carries both renderings (vega-lite for live front
// ends, SVG for static viewers). scripts/run-notebooks.sh re-executes them;
// test/notebooks.slow.test.ts runs that.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', 'notebooks');
const notebooks = readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();

interface Output { output_type: string; data?: Record<string, unknown>; ename?: string; evalue?: string }
interface Cell { cell_type: string; source: string | string[]; execution_count?: number | null; outputs?: Output[] }
interface Notebook { metadata: { kernelspec?: { name?: string } }; cells: Cell[] }

const load = (f: string): Notebook => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const text = (s: string | string[]) => (Array.isArray(s) ? s.join('') : s);

describe('committed notebooks', () => {
  it('are the four lessons', () => {
    expect(notebooks).toEqual([
      '01-spinlocks-and-seqlock.ipynb',
      '02-cache-line-bouncing.ipynb',
      '03-mount-storm.ipynb',
      '04-measure-your-machine.ipynb',
    ]);
  });

  for (const f of notebooks) {
    describe(f, () => {
      const nb = load(f);
      const code = nb.cells.filter((c) => c.cell_type === 'code');

      it('names the Deno kernel, which run-notebooks.sh provides', () => {
        expect(nb.metadata.kernelspec?.name).toBe('deno');
      });

      it('was executed top to bottom in one run, without errors', () => {
        const counts = code.map((c) => c.execution_count);
        expect(counts).toEqual(code.map((_, i) => i + 1));
        const errors = code.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`));
        expect(errors).toEqual([]);
      });

      it('shows at least one chart, each as vega-lite and as SVG', () => {
        const charts = code.flatMap((c) => c.outputs ?? []).filter((o) => o.data && ('image/svg+xml' in o.data || 'application/vnd.vegalite.v5+json' in o.data));
        expect(charts.length).toBeGreaterThan(0);
        for (const o of charts) {
          expect(Object.keys(o.data!)).toEqual(expect.arrayContaining(['image/svg+xml', 'application/vnd.vegalite.v5+json']));
          expect(text(o.data!['image/svg+xml'] as string | string[])).toMatch(/^<svg[\s\S]*<\/svg>$/);
        }
      });

      it('ends with exercises', () => {
        const lastMarkdown = nb.cells.filter((c) => c.cell_type === 'markdown').at(-1)!;
        expect(text(lastMarkdown.source)).toMatch(/## Exercises/);
      });

      it('imports the repository code, not copies of it', () => {
        const sources = code.map((c) => text(c.source)).join('\n');
        expect(sources).toMatch(/from '\.\.\/src\//);
      });
    });
  }
});
