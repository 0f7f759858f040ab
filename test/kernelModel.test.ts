import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { InputError } from '../src/config/errors.ts';
import {
  countSteps, defaultKernelModelsDir, idleSyscallNs, loadKernelModel, parseKernelModelText, SYSCALL_KEYS, syscallKeyForOp,
  type KernelStep, type StepConditions, type SyscallKey,
} from '../src/workload/kernelModel.ts';

const model = loadKernelModel('linux-6.6');

/** The steps with forEachLayer expanded for `layers` layers. */
function flat(steps: readonly KernelStep[], layers = 1): KernelStep[] {
  return steps.flatMap((s) => (s.kind === 'forEachLayer' ? Array.from({ length: layers }, () => flat(s.steps, layers)).flat() : [s]));
}
const takes = (key: SyscallKey, lock: string, mode: 'read' | 'write', layers = 1, conditions: StepConditions = {}): number =>
  countSteps(model.syscalls[key]!.steps, layers, (s) => s.kind === 'lock' && s.lock === lock && s.mode === mode, conditions);

describe('linux-6.6 kernel model follows docs/sources.md section 2', () => {
  it('describes every syscall a trace can contain and the 4096-byte option limit', () => {
    for (const k of SYSCALL_KEYS) expect(model.syscalls[k]).toBeDefined();
    expect(model.mountOptionLimitBytes.value).toBe(4096);
  });

  it("runc's container start: a namespace copy, the rslave walk and the old root's detach each walk every mount", () => {
    const start = model.containerStart!.steps;
    const syscalls = start.flatMap((s) => ('syscall' in s ? [s.syscall] : []));
    expect(syscalls).toEqual(['unshare_mntns', 'make_rslave', 'mount_plain', 'pivot_root', 'umount_old_root']);
    expect(start.some((s) => 'readMountinfo' in s)).toBe(true);
    const perMount = (key: string) => model.syscalls[key]!.steps.filter((s) => s.kind === 'forEachMount');
    // copy_tree: two mount_lock writes per mount, all under namespace_sem write.
    const copy = perMount('unshare_mntns')[0]!;
    expect(copy.kind === 'forEachMount' && copy.steps.filter((s) => s.kind === 'lock' && s.lock === 'mount_lock').length).toBe(2);
    expect(model.syscalls.unshare_mntns!.steps[0]).toEqual({ kind: 'lock', lock: 'namespace_sem', mode: 'write' });
    expect(perMount('make_rslave')).toHaveLength(1);
    // umount_tree under one hold, then the RCU wait, then one final put per mount.
    expect(perMount('umount_old_root')).toHaveLength(2);
    expect(countSteps(model.syscalls.umount_old_root!.steps, 1, (s) => s.kind === 'rcuGracePeriod')).toBe(1);
  });

  it('open_tree(OPEN_TREE_CLONE): namespace_sem write, mount_lock write', () => {
    expect(takes('open_tree', 'namespace_sem', 'write')).toBe(1);
    expect(takes('open_tree', 'mount_lock', 'write')).toBeGreaterThanOrEqual(1);
  });

  it('mount_setattr with a propagation change (containerd 2.3): namespace_sem write and mount_lock write; without one (2.0/2.1): mount_lock only', () => {
    expect(takes('mount_setattr', 'namespace_sem', 'write', 1, { setsPropagation: true })).toBe(1);
    expect(takes('mount_setattr', 'mount_lock', 'write', 1, { setsPropagation: true })).toBe(1);
    expect(takes('mount_setattr', 'namespace_sem', 'write')).toBe(0);
    expect(takes('mount_setattr', 'mount_lock', 'write')).toBe(1);
  });

  it('move_mount: namespace_sem write, mount_lock write to attach', () => {
    expect(takes('move_mount', 'namespace_sem', 'write')).toBe(1);
    expect(takes('move_mount', 'mount_lock', 'write')).toBeGreaterThanOrEqual(1);
  });

  it('overlay mount: namespace_sem read once per lower layer', () => {
    expect(takes('mount_overlay', 'namespace_sem', 'read', 50)).toBe(50);
    expect(takes('mount_overlay', 'namespace_sem', 'read', 7)).toBe(7);
  });

  it('umount: the per-CPU refcount sum runs while mount_lock is held, and the expedited RCU wait after namespace_sem is released', () => {
    const steps = flat(model.syscalls.umount.steps);
    const firstSum = steps.findIndex((s) => s.kind === 'percpuSum');
    const mlLock = steps.findIndex((s) => s.kind === 'lock' && s.lock === 'mount_lock');
    const mlUnlock = steps.findIndex((s) => s.kind === 'unlock' && s.lock === 'mount_lock');
    expect(mlLock).toBeLessThan(firstSum);
    expect(firstSum).toBeLessThan(mlUnlock);
    const rcu = steps.findIndex((s) => s.kind === 'rcuGracePeriod');
    const nsUnlock = steps.findIndex((s) => s.kind === 'unlock' && s.lock === 'namespace_sem');
    expect(rcu).toBeGreaterThan(nsUnlock);
    expect(takes('umount', 'namespace_sem', 'write')).toBe(1);
  });

  it('close of a detached tree: namespace_sem write, mount_lock write, an expedited grace period', () => {
    expect(takes('close_tree', 'namespace_sem', 'write')).toBe(1);
    expect(takes('close_tree', 'mount_lock', 'write')).toBeGreaterThanOrEqual(1);
    expect(countSteps(model.syscalls.close_tree.steps, 1, (s) => s.kind === 'rcuGracePeriod')).toBe(1);
  });

  it('fsopen and fsconfig(lowerdir+) take no global lock', () => {
    for (const key of ['fsopen', 'fsconfig'] as const) expect(countSteps(model.syscalls[key].steps, 10, (s) => s.kind === 'lock')).toBe(0);
  });

  it('every number carries a source', () => {
    const numbers = [model.mountOptionLimitBytes, ...Object.values(model.mechanisms), ...Object.values(model.host), ...Object.values(model.costs)];
    for (const n of numbers) expect(n.source.length).toBeGreaterThan(10);
  });

  it('costs are of the order docs/sources.md section 6 measured: a few us per layer syscall, ~9 ms per 50-layer per-layer-idmap container with the runtime\'s own work', () => {
    const ns = (k: SyscallKey): number => idleSyscallNs(model, k, 50, 2);
    for (const k of ['open_tree', 'mount_setattr', 'move_mount'] as const) {
      expect(ns(k)).toBeGreaterThan(500);
      expect(ns(k)).toBeLessThan(20_000);
    }
    const ops = 2 * (3 * 50 + 1 + 50);
    const perContainer = 2 * (50 * (ns('open_tree') + ns('mount_setattr') + ns('move_mount')) + ns('mount_overlay') + 50 * ns('umount')) + ops * model.host.runtimePerOpNs.value;
    // "orders of magnitude, not targets": within a factor of 2 of ~9 ms.
    expect(perContainer).toBeGreaterThan(4.5e6);
    expect(perContainer).toBeLessThan(18e6);
  });

  it('maps trace ops to syscall entries; fsconfig without a layer is the create command', () => {
    expect(syscallKeyForOp('fsconfig', true)).toBe('fsconfig');
    expect(syscallKeyForOp('fsconfig', false)).toBe('fsconfig_create');
    // upperdir=/workdir= parameters name a path and are not the create command.
    expect(syscallKeyForOp('fsconfig', false, true)).toBe('fsconfig');
    expect(syscallKeyForOp('umount', true)).toBe('umount');
  });
});

describe('kernel model cross-checks reject impossible kernel code', () => {
  // A minimal valid model built from data so each test changes exactly one thing.
  function minimalModel(): Record<string, unknown> {
    const n = (value: number) => ({ value, source: 'test' });
    const syscalls: Record<string, unknown> = {};
    for (const k of SYSCALL_KEYS) syscalls[k] = { description: k, notifiesMountWatchers: false, steps: [{ cpu: 'work' }] };
    return {
      name: 'test', description: 'test',
      mountOptionLimitBytes: n(4096),
      locks: { namespace_sem: { kind: 'rwsem', source: 's' }, mount_lock: { kind: 'seqlock', source: 's' } },
      mechanisms: { percpuSumPerCpuNs: n(1), rcuExpeditedBaseNs: n(1), rcuExpeditedPerCpuNs: n(1) },
      host: { pathLookupNs: n(1), mountinfoReadPerMountNs: n(1), mountinfoLinesPerRead: n(1), mountinfoProcessPerMountNs: n(1), runtimePerOpNs: n(1), containerStartNs: n(1) },
      costs: { work: n(100) },
      syscalls,
    };
  }
  function withUmountSteps(steps: unknown[]): string {
    const m = minimalModel();
    (m.syscalls as Record<string, { steps: unknown[] }>).umount!.steps = steps;
    return stringify(m);
  }
  function errorOf(text: string): InputError {
    try {
      parseKernelModelText(text, 'k.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return e as InputError;
    }
    throw new Error('model accepted');
  }
  /** 1-based line of the n-th occurrence of `needle` in the text. */
  function lineOf(text: string, needle: string, nth = 1): number {
    let at = -1;
    for (let i = 0; i < nth; i++) at = text.indexOf(needle, at + 1);
    expect(at).toBeGreaterThanOrEqual(0);
    return text.slice(0, at).split('\n').length;
  }

  it('the minimal model itself is accepted', () => {
    expect(parseKernelModelText(stringify(minimalModel()), 'k.yaml').name).toBe('test');
  });

  it('a lock that is never released is reported at the lock step', () => {
    const text = withUmountSteps([{ lock: 'namespace_sem', mode: 'write' }, { cpu: 'work' }]);
    const e = errorOf(text);
    expect(e.field).toBe('syscalls.umount.steps[0]');
    expect(e.line).toBe(lineOf(text, 'lock: namespace_sem'));
    expect(e.message).toContain('namespace_sem still held');
  });

  it('a lock taken inside forEachLayer must be released inside it', () => {
    const e = errorOf(withUmountSteps([{ forEachLayer: [{ lock: 'namespace_sem', mode: 'read' }] }, { unlock: 'namespace_sem' }]));
    expect(e.field).toBe('syscalls.umount.steps[0].forEachLayer[0]');
  });

  it('forEachMount holds no sleeping lock or wait (its passes are chunked), and releases what it takes', () => {
    const e = errorOf(withUmountSteps([{ forEachMount: [{ lock: 'namespace_sem', mode: 'read' }, { unlock: 'namespace_sem' }] }]));
    expect(e.field).toBe('syscalls.umount.steps[0].forEachMount[0]');
    expect(e.expected).toContain('only cpu, percpuSum and mount_lock');
    expect(errorOf(withUmountSteps([{ forEachMount: [{ lock: 'mount_lock', mode: 'write' }] }])).expected).toContain('released inside it');
    // A container-start syscall may be any name; the containerStart list must name defined syscalls and costs.
    const m = minimalModel();
    (m.syscalls as Record<string, unknown>).runc_step = { description: 'x', notifiesMountWatchers: false, steps: [{ forEachMount: [{ cpu: 'work' }] }] };
    m.containerStart = { description: 'x', steps: [{ syscall: 'runc_step', why: 'w' }, { readMountinfo: { parsePerLine: 'work' }, why: 'w' }] };
    expect(parseKernelModelText(stringify(m), 'k.yaml').containerStart!.steps).toHaveLength(2);
    m.containerStart = { description: 'x', steps: [{ syscall: 'runc_missing', why: 'w' }] };
    const e2 = errorOf(stringify(m));
    expect(e2.field).toBe('syscalls.runc_step');
    expect(e2.expected).toContain('or one that containerStart names');
    m.containerStart = { description: 'x', steps: [{ syscall: 'runc_step', why: 'w' }, { syscall: 'runc_missing', why: 'w' }] };
    const e3 = errorOf(stringify(m));
    expect(e3.field).toBe('containerStart.steps[1].syscall');
    expect(e3.expected).toContain('a syscall defined in syscalls');
    // A misspelled trace-op syscall is not taken for a container-start one.
    const typo = minimalModel();
    (typo.syscalls as Record<string, unknown>).umout = { description: 'x', notifiesMountWatchers: false, steps: [{ cpu: 'work' }] };
    expect(errorOf(stringify(typo)).field).toBe('syscalls.umout');
  });

  it('unlocks out of order, or of a lock not held', () => {
    const e1 = errorOf(withUmountSteps([{ lock: 'namespace_sem', mode: 'write' }, { lock: 'mount_lock', mode: 'write' }, { unlock: 'namespace_sem' }, { unlock: 'mount_lock' }]));
    expect(e1.field).toBe('syscalls.umount.steps[2].unlock');
    expect(e1.expected).toContain('mount_lock');
    expect(errorOf(withUmountSteps([{ unlock: 'mount_lock' }])).expected).toContain('none is held');
  });

  it('a cpu step naming a cost that does not exist', () => {
    const text = withUmountSteps([{ cpu: 'missing' }]);
    const e = errorOf(text);
    expect([e.field, e.got, e.line]).toEqual(['syscalls.umount.steps[0].cpu', '"missing"', lineOf(text, 'cpu: missing')]);
  });

  it('a per-CPU sum outside mount_lock, an RCU wait inside it, a read-mode seqlock, an unknown lock, a double lock', () => {
    expect(errorOf(withUmountSteps([{ percpuSum: true }])).field).toBe('syscalls.umount.steps[0].percpuSum');
    expect(errorOf(withUmountSteps([{ lock: 'mount_lock', mode: 'write' }, { rcuGracePeriod: 'expedited' }, { unlock: 'mount_lock' }])).field).toBe('syscalls.umount.steps[1].rcuGracePeriod');
    expect(errorOf(withUmountSteps([{ lock: 'mount_lock', mode: 'read' }, { unlock: 'mount_lock' }])).field).toBe('syscalls.umount.steps[0].mode');
    expect(errorOf(withUmountSteps([{ lock: 'dcache_lock', mode: 'write' }, { unlock: 'dcache_lock' }])).expected).toContain('namespace_sem');
    expect(errorOf(withUmountSteps([{ lock: 'namespace_sem', mode: 'read' }, { lock: 'namespace_sem', mode: 'read' }])).expected).toContain('deadlock');
  });

  it('a malformed step names the shapes a step may have', () => {
    const e = errorOf(withUmountSteps([{ sleep: 5 }]));
    expect(e.field).toBe('syscalls.umount.steps[0].sleep');
    expect(e.expected).toContain('{pathLookups: N}');
  });

  it('a missing syscall entry and a cost without a source', () => {
    const m = minimalModel();
    delete (m.syscalls as Record<string, unknown>).fsmount;
    expect(errorOf(stringify(m)).field).toBe('syscalls.fsmount');
    const m2 = minimalModel();
    (m2.costs as Record<string, unknown>).work = { value: 3 };
    expect(errorOf(stringify(m2)).field).toBe('costs.work.source');
  });

  it('the shipped model breaks if one unlock line is removed from it', () => {
    const text = readFileSync(join(defaultKernelModelsDir, 'linux-6.6.yaml'), 'utf8');
    const broken = text.replace(/\n\s*- unlock: namespace_sem[^\n]*\n\s*- cpu: dentryOpenNs/, '\n      - cpu: dentryOpenNs');
    expect(broken).not.toBe(text);
    const e = errorOf(broken);
    expect(e.field).toMatch(/^syscalls\.open_tree\.steps\[\d+\]$/);
    expect(e.message).toContain('still held');
  });

  it('an unknown bare model name lists the known ones', () => {
    expect(() => loadKernelModel('linux-9.9')).toThrow(/kernel: expected one of linux-6\.6/);
  });
});
