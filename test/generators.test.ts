import { describe, expect, it } from 'vitest';
import { countMountOps, generateTrace, overlayOptionBytes, RUNTIME_VARIANTS, type GenerateOptions, type RuntimeVariant } from '../src/workload/generators.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { OP_NAMES, opAt, parseTrace, writeTrace, type Trace } from '../src/workload/trace.ts';

const limit = loadKernelModel('linux-6.6').mountOptionLimitBytes.value;

function gen(variant: RuntimeVariant, extra: Partial<GenerateOptions> = {}): Trace {
  return generateTrace({ variant, containers: 100, layers: 50, arrival: { kind: 'burst' }, seed: 7, mountOptionLimitBytes: limit, ...extra } as GenerateOptions);
}

/** "op@layer" for each op of one container and pass, in trace order. */
function sequence(t: Trace, container: number, pass: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.ops.count; i++) {
    if (t.ops.container[i] !== container || t.ops.pass[i] !== pass) continue;
    const o = opAt(t.ops, i);
    out.push(o.layer === undefined ? o.op : `${o.op}@${o.layer}`);
  }
  return out;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('mount operation counts (blog-style: overlay + binds + umounts per pass)', () => {
  it('B9: 100 containers x 50 layers, per-layer idmap = 100 x 2 x (1 + 50 + 50) = 20,200', () => {
    const c = countMountOps(gen('per-layer-idmap'));
    expect(c.total).toBe(20_200);
    expect(c.overlay).toBe(100 * 2);
    expect(c.binds).toBe(100 * 2 * 50);
    expect(c.umounts).toBe(100 * 2 * 50);
  });

  it('common parent: 1 bind + 1 overlay + 1 umount per pass, 2 passes = 600', () => {
    const c = countMountOps(gen('common-parent'));
    expect([c.overlay, c.binds, c.umounts, c.total]).toEqual([200, 200, 200, 600]);
  });

  it('common parent, one pass: 3 for the idmapped pass + 1 plain overlay = 400', () => {
    const c = countMountOps(gen('common-parent-one-pass'));
    expect([c.overlay, c.binds, c.umounts, c.total]).toEqual([200, 100, 100, 400]);
  });

  it('fsconfig lowerdir+: one overlay per pass and no binds or umounts = 200; the 50 detached clones per pass are counted apart', () => {
    const c = countMountOps(gen('fsconfig-lowerdir-plus'));
    expect([c.overlay, c.binds, c.umounts, c.total]).toEqual([200, 0, 0, 200]);
    expect(c.detachedClones).toBe(100 * 2 * 50);
    expect(c.closes).toBe(100 * 2 * 50);
  });

  it('shifted untar (old runtime): one overlay, one pass = 100', () => {
    const c = countMountOps(gen('shifted-untar'));
    expect([c.overlay, c.binds, c.umounts, c.total]).toEqual([100, 0, 0, 100]);
  });

  it('the count scales with layers only for the per-layer variant', () => {
    for (const variant of RUNTIME_VARIANTS) {
      const small = countMountOps(gen(variant, { layers: 10 })).total;
      const big = countMountOps(gen(variant, { layers: 60 })).total;
      if (variant === 'per-layer-idmap') expect(big - small).toBe(100 * 2 * 2 * 50);
      else expect(big).toBe(small);
    }
  });
});

describe('op order per container per pass (docs/sources.md section 3)', () => {
  const L = 4;
  it('per-layer idmap: L x (open_tree, mount_setattr, move_mount), overlay, L umounts, in both passes', () => {
    const t = gen('per-layer-idmap', { containers: 3, layers: L });
    const expected = [
      ...range(L).flatMap((l) => [`open_tree@${l}`, `mount_setattr@${l}`, `move_mount@${l}`]),
      'mount_overlay',
      ...range(L).map((l) => `umount@${l}`),
    ];
    for (const c of [0, 1, 2]) {
      expect(sequence(t, c, 1)).toEqual(expected);
      expect(sequence(t, c, 2)).toEqual(expected);
      expect(sequence(t, c, 3)).toEqual([]);
    }
  });

  it('common parent: the parent is cloned, idmapped and bound once, no layer named', () => {
    const t = gen('common-parent', { containers: 2, layers: L });
    for (const pass of [1, 2]) expect(sequence(t, 1, pass)).toEqual(['open_tree', 'mount_setattr', 'move_mount', 'mount_overlay', 'umount']);
  });

  it('unmountInspection: pass 1 ends with one umount_overlay per container (after its own ops); pass 2 and the blog count unchanged', () => {
    for (const v of ['per-layer-idmap', 'common-parent', 'common-parent-one-pass', 'fsconfig-lowerdir-plus'] as const) {
      const plain = gen(v, { containers: 3, layers: L });
      const t = gen(v, { containers: 3, layers: L, unmountInspection: true });
      for (const c of [0, 1, 2]) {
        expect(sequence(t, c, 1), v).toEqual([...sequence(plain, c, 1), 'umount_overlay']);
        expect(sequence(t, c, 2), v).toEqual(sequence(plain, c, 2));
      }
      expect(countMountOps(t), v).toEqual(countMountOps(plain));
    }
    // One pass, no inspection mount: nothing to unmount.
    expect(gen('shifted-untar', { containers: 3, layers: L, unmountInspection: true }).ops.count).toBe(3);
  });

  it('common parent, one pass: the inspection pass mounts the overlay without any idmap', () => {
    const t = gen('common-parent-one-pass', { containers: 2, layers: L });
    expect(sequence(t, 0, 1)).toEqual(['mount_overlay']);
    expect(sequence(t, 0, 2)).toEqual(['open_tree', 'mount_setattr', 'move_mount', 'mount_overlay', 'umount']);
  });

  it('fsconfig lowerdir+: layers cloned and idmapped but never moved; the overlay is built from fds and attached once', () => {
    const t = gen('fsconfig-lowerdir-plus', { containers: 2, layers: L });
    const expected = [
      ...range(L).flatMap((l) => [`open_tree@${l}`, `mount_setattr@${l}`]),
      'fsopen',
      ...range(L).map((l) => `fsconfig@${l}`),
      'fsconfig',
      'fsmount',
      'move_mount',
      ...range(L).map((l) => `close_tree@${l}`),
    ];
    for (const pass of [1, 2]) expect(sequence(t, 1, pass)).toEqual(expected);
  });

  it('shifted untar: one overlay mount in one pass', () => {
    const t = gen('shifted-untar', { containers: 2, layers: L });
    expect(sequence(t, 0, 1)).toEqual(['mount_overlay']);
    expect(sequence(t, 0, 2)).toEqual([]);
  });

  it('ops of one container are contiguous (each container runs its ops one after another)', () => {
    const t = gen('per-layer-idmap', { containers: 5, layers: 3 });
    for (let i = 1; i < t.ops.count; i++) expect(t.ops.container[i]! >= t.ops.container[i - 1]!).toBe(true);
  });
});

describe('determinism and arrivals', () => {
  it('the same seed gives the same trace text; another seed changes random arrivals', () => {
    const opts = { arrival: { kind: 'rate', perSecond: 50 } as const, imageMix: [{ layers: 10, weight: 1 }, { layers: 30, weight: 1 }], layers: undefined };
    const a = writeTrace(gen('per-layer-idmap', opts).header, gen('per-layer-idmap', opts).ops);
    const b = gen('per-layer-idmap', opts);
    expect(writeTrace(b.header, b.ops)).toBe(a);
    const c = gen('per-layer-idmap', { ...opts, seed: 8 });
    expect(c.header.containers.map((x) => x.start_ns)).not.toEqual(b.header.containers.map((x) => x.start_ns));
  });

  it('burst: every container starts at 0', () => {
    expect(gen('common-parent').header.containers.every((c) => c.start_ns === 0)).toBe(true);
  });

  it('rate: Poisson arrivals, first at 0, increasing, mean gap 1/rate', () => {
    const perSecond = 200;
    const t = gen('shifted-untar', { containers: 4000, arrival: { kind: 'rate', perSecond } });
    const starts = t.header.containers.map((c) => c.start_ns);
    expect(starts[0]).toBe(0);
    for (let i = 1; i < starts.length; i++) expect(starts[i]!).toBeGreaterThanOrEqual(starts[i - 1]!);
    const meanGap = starts[starts.length - 1]! / (starts.length - 1);
    // Exponential gaps: the mean of 3999 has a relative sd of 1/sqrt(3999) = 1.6%; 8% is 5 sd.
    expect(Math.abs(meanGap - 1e9 / perSecond) / (1e9 / perSecond)).toBeLessThan(0.08);
    // Exponential, not evenly spaced: gaps vary (sd ~ mean).
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - meanGap) ** 2, 0) / gaps.length);
    expect(sd / meanGap).toBeGreaterThan(0.8);
  });

  it('schedule: the given times, one per container; a wrong count is rejected', () => {
    const atNs = [0, 5, 1_000_000, 3];
    const t = gen('common-parent', { containers: 4, arrival: { kind: 'schedule', atNs } });
    expect(t.header.containers.map((c) => c.start_ns)).toEqual(atNs);
    expect(() => gen('common-parent', { containers: 5, arrival: { kind: 'schedule', atNs } })).toThrow(/one arrival time per container/);
  });

  it('imageMix draws images by weight and each container gets the ops of its own layer count', () => {
    const t = gen('per-layer-idmap', { containers: 4000, layers: undefined, imageMix: [{ layers: 5, weight: 3 }, { layers: 20, weight: 1 }] });
    const small = t.header.containers.filter((c) => c.layers === 5).length;
    // Binomial(4000, 0.75): sd = 27, so +-3% (120) is > 4 sd.
    expect(Math.abs(small / 4000 - 0.75)).toBeLessThan(0.03);
    const umountsPerContainer = new Map<number, number>();
    for (let i = 0; i < t.ops.count; i++) {
      if (OP_NAMES[t.ops.op[i]!] === 'umount') umountsPerContainer.set(t.ops.container[i]!, (umountsPerContainer.get(t.ops.container[i]!) ?? 0) + 1);
    }
    t.header.containers.forEach((c, i) => expect(umountsPerContainer.get(i)).toBe(2 * c.layers));
  });

  it('needs exactly one of layers and imageMix', () => {
    expect(() => gen('common-parent', { imageMix: [{ layers: 3, weight: 1 }] })).toThrow(/exactly one of layers or imageMix/);
  });
});

describe('mount option limit (containerd #2497: ~60 layers exceed 4096 bytes)', () => {
  it('the option-size estimate crosses the kernel limit near 60 layers', () => {
    expect(overlayOptionBytes(50, 66)).toBeLessThan(limit);
    expect(overlayOptionBytes(65, 66)).toBeGreaterThan(limit);
  });

  it('warns in the header for images over the limit, not for small ones', () => {
    expect(gen('per-layer-idmap', { layers: 40 }).header.warnings).toBeUndefined();
    const w = gen('per-layer-idmap', { layers: undefined, imageMix: [{ layers: 40, weight: 1 }, { layers: 100, weight: 1 }] }).header.warnings!;
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/100-layer images/);
    expect(w[0]).toContain('4096');
  });

  it('fsconfig lowerdir+ passes layers one per call, so it has no option-string limit', () => {
    expect(gen('fsconfig-lowerdir-plus', { layers: 100 }).header.warnings).toBeUndefined();
  });
});

describe('size: 1,000 containers x 100 layers', () => {
  it('fits in compact typed arrays and survives a write/parse round trip', () => {
    const t = gen('per-layer-idmap', { containers: 1000, layers: 100, arrival: { kind: 'rate', perSecond: 100 } });
    expect(t.ops.count).toBe(1000 * 2 * (3 * 100 + 1 + 100));
    const o = t.ops;
    const bytes = o.container.byteLength + o.op.byteLength + o.pass.byteLength + o.layer.byteLength + o.startNs.byteLength + o.durNs.byteLength + o.tid.byteLength;
    expect(bytes).toBeLessThan(40 * t.ops.count); // ~30 bytes per op
    const back = parseTrace(writeTrace(t.header, t.ops), 'big.jsonl');
    expect(countMountOps(back)).toEqual(countMountOps(t));
    expect(back.header.containers[999]!.start_ns).toBe(t.header.containers[999]!.start_ns);
  });
});
