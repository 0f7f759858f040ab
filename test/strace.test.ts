import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/config/errors.ts';
import { importStrace, splitArgs, stringArg } from '../src/host/strace.ts';
import { generateTrace } from '../src/workload/generators.ts';
import { OP_NAMES, parseTrace, writeTrace, type Trace } from '../src/workload/trace.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'strace');
const load = (name: string): { text: string; file: string } => {
  const file = join(FIXTURES, name);
  return { text: readFileSync(file, 'utf8'), file };
};

/** Per container id: ops as "op/pass/layer", in trace order; `keep` filters op indexes. */
function sequences(trace: Trace, keep: (i: number) => boolean = () => true): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < trace.ops.count; i++) {
    if (!keep(i)) continue;
    const id = trace.header.containers[trace.ops.container[i]!]!.id;
    const list = out.get(id) ?? [];
    list.push(`${OP_NAMES[trace.ops.op[i]!]}/${trace.ops.pass[i]}/${trace.ops.layer[i]}`);
    out.set(id, list);
  }
  return out;
}

function generatedSequence(variant: 'per-layer-idmap' | 'fsconfig-lowerdir-plus', layers: number): string[] {
  return sequences(generateTrace({ variant, containers: 1, layers, arrival: { kind: 'burst' }, seed: 1, mountOptionLimitBytes: 4096 })).get('c0001')!;
}

/** Splits containers into the probe's setup thread (it mounts the tmpfs first) and the container threads. */
function splitSetup(trace: Trace): { setup: string; containers: string[] } {
  const firstPath = new Map<string, string | undefined>();
  for (let i = 0; i < trace.ops.count; i++) {
    const id = trace.header.containers[trace.ops.container[i]!]!.id;
    if (!firstPath.has(id)) firstPath.set(id, `${OP_NAMES[trace.ops.op[i]!]} ${trace.ops.path.get(i)}`);
  }
  const setup = [...firstPath].filter(([, p]) => p === 'mount_plain /tmp').map(([id]) => id);
  expect(setup).toHaveLength(1);
  return { setup: setup[0]!, containers: [...firstPath.keys()].filter((id) => id !== setup[0]) };
}

describe('importStrace on real strace output of probes/mountstorm', () => {
  it('per-layer-idmap K=3 L=4: every container thread has the sequence of docs/sources.md section 3, layers and passes recovered', () => {
    const { text, file } = load('mountstorm-per-layer-idmap-k3-l4.strace');
    // The fixture must exercise the split-call path, or this test proves little.
    expect(text).toContain('<unfinished ...>');
    expect(text).toMatch(/<\.\.\. \w+ resumed>/);
    const r = importStrace(text, file, { variant: 'per-layer-idmap' });
    expect(r.failedCalls).toBe(0);
    expect(r.unfinishedCalls).toBe(0);
    const { setup, containers } = splitSetup(r.trace);
    expect(containers).toHaveLength(3);
    const seqs = sequences(r.trace);
    // The setup thread: the private tmpfs (the MS_REC|MS_PRIVATE remount is
    // not a mount), then one idmapped bind as a capability check.
    expect(seqs.get(setup)).toEqual(['mount_plain/1/-1', 'open_tree/2/-1', 'mount_setattr/2/-1', 'move_mount/2/-1', 'umount/2/-1']);
    // Each container: 2 passes of L x (open_tree, mount_setattr, move_mount), overlay, L umounts,
    // with umount i matched to the bind of layer i through its mount point.
    const expected = generatedSequence('per-layer-idmap', 4);
    expect(expected).toHaveLength(2 * (3 * 4 + 1 + 4));
    for (const id of containers) {
      expect(seqs.get(id), id).toEqual(expected);
      expect(r.trace.header.containers.find((c) => c.id === id)!.layers).toBe(4);
    }
  });

  it('fsconfig-lowerdir-plus K=2 L=3: detached trees passed as lowerdir+ fds and closed count as close_tree', () => {
    const { text, file } = load('mountstorm-fsconfig-lowerdir-plus-k2-l3.strace');
    const r = importStrace(text, file);
    const { setup, containers } = splitSetup(r.trace);
    expect(containers).toHaveLength(2);
    const upperOrWork = (i: number): boolean => OP_NAMES[r.trace.ops.op[i]!] === 'fsconfig' && /\/(upper|work)$/.test(r.trace.ops.path.get(i) ?? '');
    const seqs = sequences(r.trace, (i) => !upperOrWork(i));
    const expected = generatedSequence('fsconfig-lowerdir-plus', 3);
    for (const id of containers) expect(seqs.get(id), id).toEqual(expected);
    // Setup: after the tmpfs, the idmap check (attached, then unmounted) and
    // the lowerdir+ check, whose tree is closed without ever being attached.
    // With no overlay between them both checks fall in pass 2, two clones, so
    // by the documented rule they are layers 0 and 1.
    expect(seqs.get(setup)).toEqual([
      'mount_plain/1/-1',
      'open_tree/2/0', 'mount_setattr/2/0', 'move_mount/2/0', 'umount/2/0',
      'open_tree/2/1', 'fsopen/2/-1', 'fsconfig/2/1', 'close_tree/2/1',
    ]);
  });

  it('produces a trace that src/workload/trace.ts writes and reads back unchanged', () => {
    const { text, file } = load('mountstorm-per-layer-idmap-k3-l4.strace');
    const { trace } = importStrace(text, file);
    const written = writeTrace(trace.header, trace.ops);
    const back = parseTrace(written, 'roundtrip.jsonl');
    expect(writeTrace(back.header, back.ops)).toBe(written);
    expect(back.header.source).toBe('measured');
    // Times: relative to the first op, every op has a duration from -T.
    expect(Math.min(...back.ops.startNs)).toBe(0);
    for (let i = 0; i < back.ops.count; i++) expect(back.ops.durNs[i]).toBeGreaterThan(0);
    for (const c of back.header.containers) {
      const starts = [...back.ops.startNs].filter((_, i) => back.header.containers[back.ops.container[i]!]!.id === c.id);
      expect(c.start_ns).toBe(Math.min(...starts));
    }
  });
});

describe('importStrace line formats', () => {
  it('reads [pid N] prefixes, joins unfinished/resumed pairs and takes the start from the unfinished line', () => {
    const text = [
      '[pid 10] 10:00:00.000100 open_tree(AT_FDCWD, "/l0", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC <unfinished ...>',
      '[pid 11] 10:00:00.000150 open_tree(AT_FDCWD, "/l1", OPEN_TREE_CLONE) = 4 <0.000010>',
      '[pid 10] 10:00:00.000300 <... open_tree resumed>) = 3 <0.000200>',
      '[pid 10] 10:00:00.000400 move_mount(3, "", AT_FDCWD, "/t", MOVE_MOUNT_F_EMPTY_PATH) = 0 <0.000005>',
      '[pid 10] 10:00:00.000500 close(3) = 0 <0.000001>',
      '[pid 11] 10:00:00.000600 close(4) = 0 <0.000003>',
    ].join('\n');
    const { trace } = importStrace(text, 'x.strace');
    const ops = [...Array(trace.ops.count).keys()].map((i) => [trace.header.containers[trace.ops.container[i]!]!.id, OP_NAMES[trace.ops.op[i]!], trace.ops.startNs[i], trace.ops.durNs[i]]);
    expect(ops).toEqual([
      ['pid10', 'open_tree', 0, 200_000],
      ['pid10', 'move_mount', 300_000, 5_000],
      ['pid11', 'open_tree', 50_000, 10_000],
      // pid 11 closed its tree without attaching it: the kernel dissolves it under the lock.
      ['pid11', 'close_tree', 500_000, 3_000],
    ]);
  });

  it('the umount2 of a path the container mounted an overlay on is umount_overlay, in the pass it closes; a bind\'s stays umount', () => {
    const text = [
      '5 00:00:00.000000 open_tree(AT_FDCWD, "/img", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC) = 3 <0.000010>',
      '5 00:00:00.000020 move_mount(3, "", AT_FDCWD, "/p1/parent", MOVE_MOUNT_F_EMPTY_PATH) = 0 <0.000010>',
      '5 00:00:00.000040 mount("overlay", "/p1/root", "overlay", 0, "lowerdir=/p1/parent/l0:/p1/parent/l1,upperdir=/u,workdir=/w") = 0 <0.000300>',
      '5 00:00:00.000400 umount2("/p1/parent", 0) = 0 <0.000050>',
      '5 00:00:00.000500 umount2("/p1/root", 0) = 0 <0.000140>',
      '5 00:00:00.000700 open_tree(AT_FDCWD, "/img", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC) = 3 <0.000010>',
      '5 00:00:00.000720 move_mount(3, "", AT_FDCWD, "/p2/parent", MOVE_MOUNT_F_EMPTY_PATH) = 0 <0.000010>',
      '5 00:00:00.000740 mount("overlay", "/p2/root", "overlay", 0, "lowerdir=/p2/parent/l0:/p2/parent/l1,upperdir=/u2,workdir=/w2") = 0 <0.000300>',
      '5 00:00:00.001100 umount2("/p2/parent", 0) = 0 <0.000050>',
    ].join('\n');
    const { ops } = importStrace(text, 'x').trace;
    const seq = [...Array(ops.count).keys()].map((i) => `${OP_NAMES[ops.op[i]!]}/${ops.pass[i]}`);
    expect(seq).toEqual(['open_tree/1', 'move_mount/1', 'mount_overlay/1', 'umount/1', 'umount_overlay/1', 'open_tree/2', 'move_mount/2', 'mount_overlay/2', 'umount/2']);
  });

  it('one process per container: a container forked in the trace keeps when its fork returned (process_start_ns); a thread (CLONE_THREAD) does not', () => {
    const text = [
      '1 00:00:00.000000 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 20 <0.000100>',
      '1 00:00:00.000200 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 21 <0.000100>',
      '1 00:00:00.000400 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, parent_tid=[22]) = 22 <0.000050>',
      '20 00:00:00.000500 mount("overlay", "/a/root", "overlay", 0, "lowerdir=/l0:/l1") = 0 <0.000100>',
      '21 00:00:00.000700 mount("overlay", "/b/root", "overlay", 0, "lowerdir=/l0:/l1") = 0 <0.000100>',
      '22 00:00:00.000900 mount("overlay", "/c/root", "overlay", 0, "lowerdir=/l0:/l1") = 0 <0.000100>',
    ].join('\n');
    const { header } = importStrace(text, 'x').trace;
    // The time origin moves back to the first fork's return (0.1 ms).
    expect(header.containers.map((c) => [c.id, c.start_ns, c.process_start_ns])).toEqual([
      ['pid20', 400_000, 0],
      ['pid21', 600_000, 200_000],
      ['pid22', 800_000, undefined],
    ]);
  });

  it('tells FSCONFIG_CMD_CREATE (no layer, no path) from other fsconfig parameters (a path)', () => {
    const text = [
      '1 00:00:00.000000 fsopen("overlay", FSOPEN_CLOEXEC) = 3 <0.000001>',
      '1 00:00:00.000001 fsconfig(3, FSCONFIG_SET_STRING, "source", "overlay", 0) = 0 <0.000001>',
      '1 00:00:00.000002 fsconfig(3, FSCONFIG_SET_STRING, "upperdir", "/u", 0) = 0 <0.000001>',
      '1 00:00:00.000003 fsconfig(3, FSCONFIG_CMD_CREATE, NULL, NULL, 0) = 0 <0.000001>',
    ].join('\n');
    const { ops } = importStrace(text, 'x').trace;
    expect([1, 2, 3].map((i) => ops.path.get(i))).toEqual(['overlay', '/u', undefined]);
  });

  it('counts failed calls and calls cut off by exit instead of making ops of them', () => {
    const text = [
      '7 00:00:01.000000 umount2("/a", 0) = -1 EBUSY (Device or resource busy) <0.000100>',
      '7 00:00:01.000200 mount("overlay", "/r", "overlay", 0, "lowerdir=/a:/b:/c,upperdir=/u,workdir=/w") = 0 <0.000300>',
      '8 00:00:01.000300 umount2("/b", 0 <unfinished ...>',
      '8 00:00:01.000400 +++ killed by SIGKILL +++',
    ].join('\n');
    const r = importStrace(text, 'x.strace');
    expect(r.failedCalls).toBe(1);
    expect(r.unfinishedCalls).toBe(1);
    expect(r.trace.ops.count).toBe(1);
    // A whole option string tells the layer count.
    expect(r.trace.header.containers).toEqual([{ id: 'pid7', layers: 3, start_ns: 0 }]);
  });

  it('crosses midnight with -tt and reads -ttt epoch times', () => {
    const tt = '1 23:59:59.999000 fsopen("overlay", FSOPEN_CLOEXEC) = 3 <0.000001>\n1 00:00:00.001000 fsmount(3, FSMOUNT_CLOEXEC, 0) = 4 <0.000001>\n';
    expect([...importStrace(tt, 'a').trace.ops.startNs]).toEqual([0, 2_000_000]);
    const ttt = '1 1764220000.000001 fsopen("overlay", FSOPEN_CLOEXEC) = 3 <0.000001>\n1 1764220000.000011 fsmount(3, FSMOUNT_CLOEXEC, 0) = 4 <0.000001>\n';
    expect([...importStrace(ttt, 'b').trace.ops.startNs]).toEqual([0, 10_000]);
  });

  it('maps calls to containers with containerOf, and drops calls mapped to null', () => {
    const text = [
      '1 00:00:00.000000 mount("tmpfs", "/run/x", "tmpfs", 0, NULL) = 0 <0.000001>',
      '2 00:00:00.000010 mount("overlay", "/c/aa/rootfs", "overlay", 0, "lowerdir=/l") = 0 <0.000001>',
      '3 00:00:00.000020 umount2("/c/aa/rootfs", MNT_DETACH) = 0 <0.000001>',
    ].join('\n');
    const r = importStrace(text, 'x', { containerOf: (c) => /\/c\/(\w+)\//.exec(c.args.map(stringArg).join(' '))?.[1] ?? null });
    expect(r.trace.header.containers.map((c) => c.id)).toEqual(['aa']);
    // The container unmounts the overlay it mounted: umount_overlay.
    expect(sequences(r.trace).get('aa')).toEqual(['mount_overlay/1/-1', 'umount_overlay/1/-1']);
  });
});

describe('importStrace errors', () => {
  const errorOf = (text: string): InputError => {
    try {
      importStrace(text, 'run.strace');
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as Error).message).not.toContain('\n');
      return e as InputError;
    }
    throw new Error('expected an InputError');
  };
  const good = '5 10:00:00.000001 umount2("/a", 0) = 0 <0.000001>';

  it('a line cut inside the arguments (strace killed mid-write) names its line', () => {
    const e = errorOf([good, good, '5 10:00:00.000009 open_tree(AT_FDCWD, "/tmp/im'].join('\n'));
    expect(e.line).toBe(3);
    expect(e.field).toBe('arguments');
    expect(e.message).toMatch(/^run\.strace:3:\d+: arguments: expected a closing quote/);
  });

  it('a call without its result names the line and the column after the arguments', () => {
    const line = '5 10:00:00.000001 umount2("/a", 0)';
    const e = errorOf([good, line].join('\n'));
    expect([e.line, e.column, e.field]).toEqual([2, line.length + 1, 'result']);
  });

  it('a resumed call that was never started is an error at that line', () => {
    const e = errorOf([good, '6 10:00:00.000002 <... move_mount resumed>) = 0 <0.000001>'].join('\n'));
    expect([e.line, e.field]).toEqual([2, 'syscall']);
    expect(e.message).toContain('no unfinished call');
  });

  it('a line without a timestamp is an error naming the expected format', () => {
    const e = errorOf([good, good, good, 'hello world'].join('\n'));
    expect([e.line, e.column, e.field]).toEqual([4, 1, 'timestamp']);
    expect(e.message).toContain('HH:MM:SS.uuuuuu');
  });
});

describe('strace argument helpers', () => {
  it('splits top-level arguments, keeping structs, arrays and commas inside strings whole', () => {
    const s = splitArgs('3, "a,b)", AT_EMPTY_PATH, {attr_set=MOUNT_ATTR_IDMAP, userns_fd=4}, [1, 2], 32) = 0');
    expect(s.args).toEqual(['3', '"a,b)"', 'AT_EMPTY_PATH', '{attr_set=MOUNT_ATTR_IDMAP, userns_fd=4}', '[1, 2]', '32']);
    expect(s.error).toBeUndefined();
  });
  it('decodes C escapes and strace truncation marks in strings', () => {
    expect(stringArg('"a\\"b\\\\c\\n\\x41\\101"')).toBe('a"b\\c\nAA');
    expect(stringArg('"lowerdir=/a"...')).toBe('lowerdir=/a');
    expect(stringArg('AT_FDCWD')).toBeUndefined();
  });
});

describe('choosing the processes to import (--pid, --comm)', () => {
  // A runtime (100, "containerd") starts a helper thread (101) and execs a child
  // (102) into runc; a probe's preflight process (200) mounts too. -Y names
  // the preflight process on its lines; the others are known from clone,
  // execve and prctl.
  const text = [
    '100 10:00:00.000000 prctl(PR_SET_NAME, "containerd") = 0 <0.000001>',
    '100 10:00:00.000010 clone(child_stack=NULL, flags=CLONE_VM|CLONE_THREAD) = 101 <0.000010>',
    // The child's first call can be printed before its parent's clone returns.
    '102 10:00:00.000020 open_tree(AT_FDCWD, "/l/b0", OPEN_TREE_CLONE) = 4 <0.000010>',
    '100 10:00:00.000030 clone(child_stack=NULL, flags=SIGCHLD) = 102 <0.000010>',
    '102 10:00:00.000040 execve("/usr/sbin/runc", ["runc"], 0x0 /* 0 vars */) = 0 <0.000100>',
    '101 10:00:00.000050 open_tree(AT_FDCWD, "/l/a0", OPEN_TREE_CLONE) = 3 <0.000010>',
    '101 10:00:00.000060 move_mount(3, "", AT_FDCWD, "/m/a0", MOVE_MOUNT_F_EMPTY_PATH) = 0 <0.000010>',
    '102 10:00:00.000070 mount("overlay", "/r", "overlay", 0, "lowerdir=/l/b0") = 0 <0.000010>',
    '200<preflight> 10:00:00.000080 mount("tmpfs", "/t", "tmpfs", 0, NULL) = 0 <0.000010>',
    '200<preflight> 10:00:00.000090 umount2("/t", 0) = 0 <0.000010>',
  ].join('\n') + '\n';
  const threads = (r: ReturnType<typeof importStrace>) => r.trace.header.containers.map((c) => c.id).sort();

  it('imports every thread without a filter', () => {
    expect(threads(importStrace(text, 'x.strace'))).toEqual(['pid101', 'pid102', 'pid200']);
  });

  it('--pid keeps the thread and the threads it started, wherever their lines fall', () => {
    expect(threads(importStrace(text, 'x.strace', { pids: [100] }))).toEqual(['pid101', 'pid102']);
    expect(threads(importStrace(text, 'x.strace', { pids: [101] }))).toEqual(['pid101']);
  });

  it('--comm keeps threads by command name: -Y prefixes, execve, prctl and inheritance', () => {
    expect(threads(importStrace(text, 'x.strace', { comms: ['preflight'] }))).toEqual(['pid200']);
    // 101 inherits "containerd" from 100; 102's open_tree came before its execve (no name yet), its overlay after.
    expect(threads(importStrace(text, 'x.strace', { comms: ['containerd'] }))).toEqual(['pid101']);
    const runc = importStrace(text, 'x.strace', { comms: ['runc'] });
    expect(threads(runc)).toEqual(['pid102']);
    expect(runc.trace.ops.count).toBe(1);
  });
});
