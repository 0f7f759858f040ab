// {sharedLines: [...]}: kernel data lines that every CPU's mount ops write
// outside the locks' own words (an ida's lock, a ucounts counter, a list
// head). Alone the lines stay in the CPU's cache; with two containers each
// write after the other CPU's costs a transfer: part of why open_tree waits
// for ~9 transfers a call at K=2 on this host (scripts/placement-slopes.ts).
// The shipped kernel model uses none (tried, not adopted: docs/validation.md,
// twenty-sixth session); these tests use linux-6.6 with lines added.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { InputError } from '../src/config/errors.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, simulateMountstormCalls } from '../src/host/calibration/fit.ts';
import type { MountstormPoint } from '../src/host/calibration/measurements.ts';
import { defaultKernelModelsDir, loadKernelModel, parseKernelModelText, type KernelModel } from '../src/workload/kernelModel.ts';

const base = loadKernelModel('linux-6.6');

/** linux-6.6 with open_tree writing `lines` shared lines after its setup. */
function withLines(lines: string[]): KernelModel {
  const k = structuredClone(base);
  const steps = k.syscalls.open_tree!.steps;
  const at = steps.findIndex((s) => s.kind === 'cpu' && s.cost === 'openTreeSetupNs');
  steps.splice(at + 1, 0, { kind: 'sharedLines', lines });
  return k;
}

/** open_tree's median call (ns) in a K-container storm on a 2-CPU machine whose line transfer takes `transferNs`. */
function openTreeNs(kernel: KernelModel, containers: number, transferNs: number): number {
  const hw = structuredClone(loadHardwareModel('generic-2core'));
  hw.coreToCore.sameL3.value = transferNs;
  const p: MountstormPoint = { file: '(test)', files: [], variant: 'per-layer-idmap', layers: 20, containers, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable: 0 };
  return simulateMountstormCalls(hostMachineSpec(hw), kernel, p).medianCallS.open_tree! * 1e9;
}

describe('sharedLines', () => {
  it('costs nothing alone: one container keeps the lines in its cache', () => {
    const lines = withLines(['a', 'b', 'c', 'd']);
    expect(openTreeNs(lines, 1, 240) - openTreeNs(base, 1, 240)).toBeLessThan(20);
  });

  it('with two containers, open_tree slows by about one transfer per line written after the other CPU', () => {
    const slope = (k: KernelModel) => (openTreeNs(k, 2, 240) - openTreeNs(k, 2, 30)) / 210;
    const extra = slope(withLines(['a', 'b', 'c', 'd'])) - slope(base);
    // Four lines: each write after the other container's costs one transfer; some find it still here.
    expect(extra).toBeGreaterThan(1.5);
    expect(extra).toBeLessThan(4.5);
  });

  it('a line named twice is one line: the second write of a call finds it in the cache', () => {
    const once = withLines(['a']), twice = withLines(['a', 'a']);
    expect(openTreeNs(twice, 2, 240) - openTreeNs(once, 2, 240)).toBeLessThan(100);
  });

  it('is read from the model file, and a bad list is refused with its place', () => {
    // The shipped file with umount's steps replaced.
    const doc = (steps: unknown[]) => {
      const raw = parse(readFileSync(`${defaultKernelModelsDir}/linux-6.6.yaml`, 'utf8')) as { syscalls: Record<string, Record<string, unknown>> };
      raw.syscalls.umount = { ...raw.syscalls.umount, steps };
      return stringify(raw);
    };
    expect(parseKernelModelText(doc([{ sharedLines: ['mnt_id_xa'] }, { cpu: Object.keys(base.costs)[0] }]), 'k.yaml').syscalls.umount!.steps[0]).toEqual({ kind: 'sharedLines', lines: ['mnt_id_xa'] });
    for (const bad of [[], ['two words'], [3]]) {
      let err: unknown;
      try {
        parseKernelModelText(doc([{ sharedLines: bad }]), 'k.yaml');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(InputError);
      expect((err as InputError).field).toMatch(/^syscalls\.umount\.steps\[0\]\.sharedLines/);
      // On the line of the offending value: the empty list, else its bad element (the next line of the block list).
      const text = doc([{ sharedLines: bad }]);
      expect((err as InputError).line).toBe(text.slice(0, text.indexOf('sharedLines')).split('\n').length + (bad.length > 0 ? 1 : 0));
    }
  });
});
