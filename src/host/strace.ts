// Turns `strace -f -tt -T` output of a real container runtime into a locksim
// launch trace (src/workload/trace.ts), so a measured launch can be replayed
// in the simulator.
//
// Record with:
//   strace -f -tt -T -s 4096 -o FILE \
//     -e trace=open_tree,mount_setattr,move_mount,mount,umount2,fsopen,fsconfig,fsmount,close \
//     -p PID_OF_RUNTIME
// (`-s 4096` keeps paths whole; without it strace cuts strings at 32 bytes and
// umounts can no longer be matched to their layer.) To pick processes later
// (`locksim import-strace --pid/--comm`), add `-Y` (command names on every
// line) or `execve,clone,clone3,fork,vfork,prctl` to the traced calls.
//
// Which container an operation belongs to: by default one container per
// thread id strace prints (`[pid N]` or the `N ` prefix of `-o` files), named
// `pidN`. That is right for probes/mountstorm (one thread per container) and
// for runtimes that fork one helper per container; for Go runtimes such as
// containerd, whose goroutines hop between threads, pass `containerOf` (e.g.
// mapping by the container's directory in the call's path). Return null from
// it to drop an op (setup work of the runtime itself).
//
// What becomes an op:
//   open_tree(..., OPEN_TREE_CLONE)   open_tree       (a detached copy; a plain open_tree copies nothing)
//   mount_setattr                     mount_setattr
//   move_mount, mount(MS_MOVE)        move_mount
//   mount(..., "overlay", ...)        mount_overlay
//   other new mounts (binds, tmpfs)   mount_plain
//   mount(MS_REMOUNT or propagation)  nothing (changes flags, mounts nothing)
//   umount2, umount                   umount
//   fsopen / fsconfig / fsmount       fsopen / fsconfig / fsmount
//   close(fd) of a tree from open_tree(CLONE) or fsmount that was never
//   attached by move_mount            close_tree      (the kernel dissolves it under namespace_sem)
// Failed calls (`= -1 E...`) and calls cut off by process exit are not ops;
// they are counted in the result. File descriptors are tracked per thread id:
// strace -f does not print thread groups, and runtimes close the trees they
// open on the same thread.
//
// Passes and layers are inferred per container: a pass ends with its overlay
// (mount_overlay, mount_plain or fsmount) and the umounts/closes/attach after
// it; the next other op starts the next pass. When a pass clones two or more
// trees, the n-th clone of the pass is layer n (0-based), and every op on that
// tree (setattr, attach, lowerdir+ fsconfig, umount of its mount point, close)
// gets that layer; a pass with one clone (common parent) has no layers.

import { InputError } from '../config/errors.ts';
import { OP_CODE, TRACE_FORMAT, TRACE_VERSION, TraceOpsBuilder, opAt, parseTrace, writeTrace, type OpName, type Trace, type TraceContainer, type TraceHeader } from '../workload/trace.ts';

/** One decoded syscall line (or unfinished/resumed pair), as given to `containerOf`. */
export interface StraceCall {
  pid: number;
  name: string;
  /** Top-level arguments as strace printed them (strings still quoted). */
  args: string[];
  /** The return value as printed: "3", "0", "-1", "?". */
  ret: string;
  /** Line number of the line that started the call. */
  line: number;
}

export interface StraceImportOptions {
  /** Maps a call to its container id, or null to drop it. Default: `pid${pid}`. */
  containerOf?: (call: StraceCall) => string | null;
  /**
   * Keep only the calls of these thread ids and of the threads they start
   * (clone, clone3, fork, vfork in the trace): e.g. the runtime's pid, leaving
   * out a probe's preflight processes.
   */
  pids?: number[];
  /**
   * Keep only the calls of threads with one of these command names: from
   * strace's `-Y` (`--decode-pids=comm`, lines start `PID<comm>`), else from
   * the thread's execve (the file's base name, cut to 15 characters as the
   * kernel's comm) or prctl(PR_SET_NAME), else inherited from the thread that
   * started it.
   */
  comms?: string[];
  /** Stored as the trace header's variant (default "strace"). */
  variant?: string;
}

export interface StraceImport {
  trace: Trace;
  /** Calls of interest that returned an error. */
  failedCalls: number;
  /** Calls that never completed (the process exited or was killed inside them). */
  unfinishedCalls: number;
}

const MOUNT_SYSCALLS = new Set(['open_tree', 'mount_setattr', 'move_mount', 'mount', 'umount2', 'umount', 'fsopen', 'fsconfig', 'fsmount', 'close']);

/** A tree made by open_tree(CLONE) or fsmount; ops on it share its layer. */
interface TreeRef {
  fromFsmount: boolean;
  attached: boolean;
  /** Set while assigning passes: the pass it was cloned in and its index among the pass's clones. */
  pass: number;
  index: number;
}

interface PendingOp {
  container: string;
  op: OpName;
  startUs: number;
  durNs: number | undefined;
  pid: number;
  path?: string;
  tree?: TreeRef;
  /** lowerdir count from the overlay options, when the option string was not cut. */
  lowerdirs?: number;
  /** Line of the strace output the call was on (for errors found in the trace it makes). */
  line: number;
}

interface Unfinished {
  name: string;
  argsText: string;
  startUs: number;
  line: number;
}

const TIME_RE = /^(?:(\d{2}):(\d{2}):(\d{2})|(\d+))\.(\d{6})(?=\s)/;
const DAY_US = 86_400_000_000;

/** Which thread started which, and each thread's command name, as far as the trace shows them. */
class ProcessTable {
  readonly parent = new Map<number, number>();
  readonly comm = new Map<number, string>();
  /** Processes (not threads: no CLONE_THREAD) started in the trace: when the fork returned in the parent, µs. */
  readonly forkedAtUs = new Map<number, number>();

  /** Updates the table from a completed call of `pid` that returned at `endUs`. */
  observe(call: StraceCall, endUs = NaN): void {
    const ret = Number(call.ret);
    if (['clone', 'clone3', 'fork', 'vfork'].includes(call.name) && Number.isInteger(ret) && ret > 0) {
      this.parent.set(ret, call.pid);
      if (!call.args.some((a) => /\bCLONE_THREAD\b/.test(a)) && Number.isFinite(endUs)) this.forkedAtUs.set(ret, endUs);
      if (!this.comm.has(ret) && this.comm.has(call.pid)) this.comm.set(ret, this.comm.get(call.pid)!);
    } else if ((call.name === 'execve' || call.name === 'execveat') && call.ret === '0') {
      const path = stringArg(call.args[call.name === 'execve' ? 0 : 1] ?? '');
      if (path) this.comm.set(call.pid, basenameOf(path).slice(0, 15));
    } else if (call.name === 'prctl' && call.args[0] === 'PR_SET_NAME' && call.ret === '0') {
      const name = stringArg(call.args[1] ?? '');
      if (name) this.comm.set(call.pid, name.slice(0, 15));
    }
  }

  /** `pid` or one of its ancestors is in `roots`. */
  descendsFrom(pid: number, roots: Set<number>): boolean {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && hops < 10_000; p = this.parent.get(p), hops++) if (roots.has(p)) return true;
    return false;
  }
}

function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function importStrace(text: string, file: string, options: StraceImportOptions = {}): StraceImport {
  const baseContainerOf = options.containerOf ?? ((c: StraceCall) => `pid${c.pid}`);
  const processes = new ProcessTable();
  const pidRoots = options.pids ? new Set(options.pids) : null;
  const comms = options.comms ? new Set(options.comms) : null;
  // The command name as known at the call (a thread that execs changes it);
  // the pid filter is applied at the end, since a child's first calls can be
  // printed before its parent's clone returns.
  const containerOf = (c: StraceCall): string | null => {
    if (comms && !comms.has(processes.comm.get(c.pid) ?? '')) return null;
    return baseContainerOf(c);
  };
  const lines = text.split('\n');
  const unfinished = new Map<number, Unfinished>();
  /** Per thread: fd -> tree it refers to. */
  const fds = new Map<number, Map<number, TreeRef>>();
  /** Per container: mount point -> tree attached there (for umount's layer). */
  const mountPoints = new Map<string, Map<string, TreeRef>>();
  /** Per container: mount points an overlay was mounted on (mount(2), or move_mount of an fsmount'ed tree), so that their umount is umount_overlay. */
  const overlayTargets = new Map<string, Set<string>>();
  const addOverlayTarget = (c: string | null, target: string | undefined): void => {
    if (c === null || target === undefined) return;
    let set = overlayTargets.get(c);
    if (!set) overlayTargets.set(c, (set = new Set()));
    set.add(target);
  };
  const ops: PendingOp[] = [];
  let failedCalls = 0;
  let unfinishedCalls = 0;
  let dayOffsetUs = 0;
  let lastUs = -Infinity;

  const fdTable = (pid: number): Map<number, TreeRef> => {
    let t = fds.get(pid);
    if (!t) fds.set(pid, (t = new Map()));
    return t;
  };

  const handleCall = (call: StraceCall, startUs: number, durNs: number | undefined): void => {
    if (!MOUNT_SYSCALLS.has(call.name)) return;
    const retNum = /^-?\d+$/.test(call.ret) ? Number(call.ret) : NaN;
    if (call.ret === '?') {
      unfinishedCalls++; // cut off by the process's exit: it never returned
      return;
    }
    if (!(retNum >= 0)) {
      if (call.name !== 'close') failedCalls++;
      return;
    }
    const table = fdTable(call.pid);
    const fdArg = (i: number): number | undefined => (/^\d+$/.test(call.args[i] ?? '') ? Number(call.args[i]) : undefined);
    const container = (): string | null => containerOf(call);
    const emit = (op: OpName, extra: Partial<PendingOp> = {}): void => {
      const c = container();
      if (c === null) return;
      ops.push({ container: c, op, startUs, durNs, pid: call.pid, line: call.line, ...extra });
    };
    switch (call.name) {
      case 'open_tree': {
        if (!/\bOPEN_TREE_CLONE\b/.test(call.args[2] ?? '')) return;
        const tree: TreeRef = { fromFsmount: false, attached: false, pass: 0, index: 0 };
        table.set(retNum, tree);
        emit('open_tree', { path: stringArg(call.args[1]), tree });
        return;
      }
      case 'mount_setattr': {
        const fd = fdArg(0);
        emit('mount_setattr', { tree: fd === undefined ? undefined : table.get(fd) });
        return;
      }
      case 'move_mount': {
        const fd = fdArg(0);
        const tree = fd === undefined ? undefined : table.get(fd);
        const to = stringArg(call.args[3]);
        if (tree) tree.attached = true;
        const c = container();
        if (tree?.fromFsmount) addOverlayTarget(c, to);
        if (tree && to !== undefined && c !== null) {
          let m = mountPoints.get(c);
          if (!m) mountPoints.set(c, (m = new Map()));
          m.set(to, tree);
        }
        emit('move_mount', { path: to, tree });
        return;
      }
      case 'mount': {
        const flags = call.args[3] ?? '';
        const target = stringArg(call.args[1]);
        if (/\bMS_MOVE\b/.test(flags)) return emit('move_mount', { path: target });
        if (/\bMS_REMOUNT\b/.test(flags) || /\bMS_(PRIVATE|SHARED|SLAVE|UNBINDABLE)\b/.test(flags)) return;
        if (stringArg(call.args[2]) === 'overlay') {
          const data = call.args[4] ?? '';
          const extra: Partial<PendingOp> = { path: target };
          // A cut string ends in `"...`; only a whole one tells the layer count.
          if (!data.endsWith('...')) {
            const lower = /(?:^|,)lowerdir=([^,]*)/.exec(stringArg(data) ?? '');
            if (lower) extra.lowerdirs = lower[1]!.split(':').length;
          }
          addOverlayTarget(container(), target);
          return emit('mount_overlay', extra);
        }
        return emit('mount_plain', { path: target });
      }
      case 'umount2':
      case 'umount': {
        const target = stringArg(call.args[0]);
        const c = container();
        // The unmount of an overlay this container mounted tears the overlay down too (kernel model umount_overlay).
        if (c !== null && target !== undefined && overlayTargets.get(c)?.delete(target)) return emit('umount_overlay', { path: target });
        const tree = target === undefined || c === null ? undefined : mountPoints.get(c)?.get(target);
        if (tree && target !== undefined) mountPoints.get(c!)!.delete(target);
        return emit('umount', { path: target, tree });
      }
      case 'fsopen':
        return emit('fsopen');
      case 'fsconfig': {
        const key = stringArg(call.args[2]);
        const aux = fdArg(4);
        const tree = key === 'lowerdir+' && /FSCONFIG_SET_FD/.test(call.args[1] ?? '') && aux !== undefined ? table.get(aux) : undefined;
        // docs/trace-format.md: an fsconfig with neither layer nor path is
        // FSCONFIG_CMD_CREATE, so every other parameter carries a path: its
        // string value (upperdir=/...), else its key ("source").
        if (tree) return emit('fsconfig', { tree });
        if (/FSCONFIG_CMD_CREATE\b/.test(call.args[1] ?? '')) return emit('fsconfig');
        return emit('fsconfig', { path: stringArg(call.args[3]) || key || call.args[1] || 'fsconfig' });
      }
      case 'fsmount': {
        table.set(retNum, { fromFsmount: true, attached: false, pass: 0, index: 0 });
        return emit('fsmount');
      }
      case 'close': {
        const fd = fdArg(0);
        if (fd === undefined) return;
        const tree = table.get(fd);
        if (!tree) return;
        table.delete(fd);
        if (!tree.attached) emit('close_tree', { tree: tree.fromFsmount ? undefined : tree });
        return;
      }
    }
  };

  for (let li = 0; li < lines.length; li++) {
    let raw = lines[li]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const lineNo = li + 1;
    if (raw.trim() === '') continue;
    if (raw.startsWith('strace: ')) continue; // attach/detach notices
    const err = (column: number, field: string, expected: string, got?: string): InputError =>
      new InputError({ file, line: lineNo, column, field, expected, ...(got === undefined ? {} : { got }) });

    // Optional pid prefix: "[pid 123] " on a terminal, "123 " (1+ spaces) with -o.
    let pos = 0;
    let pid = 0;
    // With -Y (--decode-pids=comm) the pid carries the command name: "123<runc>".
    const pidMatch = /^(?:\[pid\s+(\d+)(?:<([^>]*)>)?\]|(\d+)(?:<([^>]*)>)?)\s+/.exec(raw);
    if (pidMatch && TIME_RE.test(raw.slice(pidMatch[0].length))) {
      pid = Number(pidMatch[1] ?? pidMatch[3]);
      const comm = pidMatch[2] ?? pidMatch[4];
      if (comm !== undefined) processes.comm.set(pid, comm);
      pos = pidMatch[0].length;
    }
    const tm = TIME_RE.exec(raw.slice(pos));
    if (!tm) {
      throw err(pos + 1, 'timestamp', 'a time as HH:MM:SS.uuuuuu (strace -tt) or seconds.uuuuuu (-ttt), after an optional pid', short(raw.slice(pos)));
    }
    let us: number;
    if (tm[4] !== undefined) us = Number(tm[4]) * 1_000_000 + Number(tm[5]);
    else {
      const [h, m, s] = [Number(tm[1]), Number(tm[2]), Number(tm[3])];
      if (h > 23 || m > 59 || s > 60) throw err(pos + 1, 'timestamp', 'a valid time of day', tm[0]);
      us = ((h * 60 + m) * 60 + s) * 1_000_000 + Number(tm[5]) + dayOffsetUs;
      // -tt has no date: a jump back of more than 12 h is midnight passing.
      if (us < lastUs - DAY_US / 2) {
        dayOffsetUs += DAY_US;
        us += DAY_US;
      }
    }
    lastUs = Math.max(lastUs, us);
    pos += tm[0].length;
    while (raw[pos] === ' ') pos++;
    const rest = raw.slice(pos);
    const restCol = pos + 1;

    if (rest.startsWith('---') || rest.startsWith('+++')) {
      // Signals and exits. An exit while a call was pending ends that call.
      if (rest.startsWith('+++') && !rest.endsWith('+++')) throw err(restCol, '(line)', 'an exit notice ending in "+++"', short(rest));
      if (rest.startsWith('---') && !rest.endsWith('---')) throw err(restCol, '(line)', 'a signal notice ending in "---"', short(rest));
      const open = unfinished.get(pid);
      if (rest.startsWith('+++') && open) {
        if (MOUNT_SYSCALLS.has(open.name)) unfinishedCalls++;
        unfinished.delete(pid);
      }
      continue;
    }

    let name: string;
    let argsText: string; // everything after "NAME(" up to the end of the line
    let startUs = us;
    let callLine = lineNo;
    // Column of index i of argsText: text carried over from an unfinished line
    // is reported at the start of this line's text.
    let prefixLen = 0;
    let argsBaseCol = restCol;
    const resumed = /^<\.\.\. ([A-Za-z_][A-Za-z0-9_]*) resumed>/.exec(rest);
    if (resumed) {
      name = resumed[1]!;
      const open = unfinished.get(pid);
      if (!open || open.name !== name) {
        throw err(restCol, 'syscall', `a "<... ${name} resumed>" only after "${name}(... <unfinished ...>" of pid ${pid}`, open ? `an unfinished ${open.name}` : 'no unfinished call');
      }
      unfinished.delete(pid);
      argsText = open.argsText + rest.slice(resumed[0].length);
      prefixLen = open.argsText.length;
      argsBaseCol = restCol + resumed[0].length;
      startUs = open.startUs;
      callLine = open.line;
    } else {
      const call = /^([A-Za-z_][A-Za-z0-9_]*)\(/.exec(rest);
      if (!call) throw err(restCol, 'syscall', 'a syscall like name(args) = result, "<... name resumed>", "---" or "+++"', short(rest));
      name = call[1]!;
      argsText = rest.slice(call[0].length);
      argsBaseCol = restCol + call[0].length;
      const cut = argsText.endsWith(' <unfinished ...>') ? ' <unfinished ...>' : argsText.endsWith('<unfinished ...>') ? '<unfinished ...>' : null;
      if (cut) {
        if (unfinished.has(pid)) {
          throw err(restCol, 'syscall', `one unfinished call per pid (pid ${pid} has ${unfinished.get(pid)!.name} pending)`, name);
        }
        unfinished.set(pid, { name, argsText: argsText.slice(0, -cut.length), startUs: us, line: lineNo });
        continue;
      }
    }

    const colAt = (i: number): number => (i >= prefixLen ? argsBaseCol + i - prefixLen : restCol);
    const split = splitArgs(argsText);
    if (split.error !== undefined) {
      throw err(colAt(split.errorAt), 'arguments', split.error, 'a truncated or malformed line');
    }
    const tail = argsText.slice(split.end + 1);
    const result = /^\s*=\s*(-?\d+|0x[0-9a-fA-F]+|\?)(?:<[^>]*>)?(?:\s+[A-Z][A-Z0-9_]*(?:\s+\([^)]*\))?)?(?:\s+\(([^)]*)\))?(?:\s+<(\d+\.\d+|unavailable)>)?\s*$/.exec(tail);
    if (!result) {
      throw err(colAt(split.end + 1), 'result', 'a result like " = 0 <0.000012>" after the arguments', short(tail) || 'the end of the line');
    }
    const ret = result[1]!;
    const dur = result[3];
    const durNs = dur === undefined || dur === 'unavailable' ? undefined : Math.round(Number(dur) * 1e9);
    const decoded = { pid, name, args: split.args, ret, line: callLine };
    processes.observe(decoded, startUs + (durNs ?? 0) / 1000);
    handleCall(decoded, startUs, durNs);
  }

  for (const u of unfinished.values()) if (MOUNT_SYSCALLS.has(u.name)) unfinishedCalls++;
  const kept = pidRoots ? ops.filter((o) => processes.descendsFrom(o.pid, pidRoots)) : ops;
  const built = buildTrace(kept, file, options.variant ?? 'strace', processes.forkedAtUs);
  checkImportedTrace(built.trace, built.lines, file);
  const trace = built.trace;
  return { trace, failedCalls, unfinishedCalls };
}

/**
 * The trace made must be one the simulator reads (issue 11: import-strace
 * wrote traces of 10,001 layers, empty paths or pass 0, which `run` then
 * refused). It is checked by the trace reader itself, and a problem is
 * reported at the strace line of the call responsible.
 */
function checkImportedTrace(trace: Trace, lines: number[], file: string): void {
  try {
    parseTrace(writeTrace(trace.header, trace.ops), file);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    // Trace line 1 is the header, op i is on line i + 2; a header field names its container.
    const container = /containers\[(\d+)\]/.exec(e.field);
    const opIndex = e.line >= 2 ? e.line - 2 : container ? firstOpOf(trace, Number(container[1])) : 0;
    throw new InputError({ file, line: lines[opIndex] ?? 1, column: 1, field: `(imported trace) ${e.field}`, expected: e.expected, ...(e.got === undefined ? {} : { got: e.got }) });
  }
}

function firstOpOf(trace: Trace, container: number): number {
  for (let i = 0; i < trace.ops.count; i++) if (opAt(trace.ops, i).container === container) return i;
  return 0;
}

/** Groups ops per container, infers passes and layers, and builds the trace. */
function buildTrace(ops: PendingOp[], file: string, variant: string, forkedAtUs: ReadonlyMap<number, number> = new Map()): { trace: Trace; lines: number[] } {
  const byContainer = new Map<string, PendingOp[]>();
  for (const o of ops) {
    let list = byContainer.get(o.container);
    if (!list) byContainer.set(o.container, (list = []));
    list.push(o);
  }
  // A loop, not Math.min(...ops): spreading a million ops overflows the stack.
  let originUs = ops.length ? Infinity : 0;
  for (const o of ops) if (o.startUs < originUs) originUs = o.startUs;
  // A container whose ops run in a process forked inside the trace (one process per container) keeps when that process started; the origin moves back to the earliest such fork.
  const forkOf = (list: PendingOp[]): number | undefined => forkedAtUs.get(list[0]!.pid);
  for (const list of byContainer.values()) {
    const f = forkOf(list);
    if (f !== undefined && f < originUs) originUs = f;
  }
  const containers: TraceContainer[] = [];
  const passes: number[][] = [];
  const clonesPerPass: Map<number, number>[] = [];
  // Stable sort: ops of one thread are already in order; this interleaves threads mapped to one container.
  for (const list of byContainer.values()) list.sort((a, b) => a.startUs - b.startUs);
  // Containers in order of their first op, as a launch storm would list them.
  const order = [...byContainer.keys()].sort((a, b) => byContainer.get(a)![0]!.startUs - byContainer.get(b)![0]!.startUs);
  for (const id of order) {
    const list = byContainer.get(id)!;
    const passOf: number[] = [];
    const clonesInPass = new Map<number, number>();
    let pass = 1;
    let overlayDone = false;
    let layers = 1;
    for (const o of list) {
      const tailOp = o.op === 'umount' || o.op === 'umount_overlay' || o.op === 'close_tree' || o.op === 'move_mount';
      if (overlayDone && !tailOp) {
        pass++;
        overlayDone = false;
      }
      if (o.op === 'mount_overlay' || o.op === 'mount_plain' || o.op === 'fsmount') overlayDone = true;
      if (o.op === 'open_tree' && o.tree) {
        const n = clonesInPass.get(pass) ?? 0;
        o.tree.pass = pass;
        o.tree.index = n;
        clonesInPass.set(pass, n + 1);
      }
      if (o.lowerdirs !== undefined) layers = Math.max(layers, o.lowerdirs);
      passOf.push(pass);
    }
    for (const n of clonesInPass.values()) if (n >= 2) layers = Math.max(layers, n);
    passes.push(passOf);
    clonesPerPass.push(clonesInPass);
    const forked = forkOf(list);
    containers.push({ id, layers, start_ns: (list[0]!.startUs - originUs) * 1000, ...(forked !== undefined ? { process_start_ns: (forked - originUs) * 1000 } : {}) });
  }
  if (containers.some((c) => !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(c.id))) {
    const bad = containers.find((c) => !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(c.id))!;
    throw new InputError({ file, line: 1, column: 1, field: 'containerOf', expected: 'container ids of 1-64 letters, digits, ".", "_", ":" or "-"', got: JSON.stringify(bad.id) });
  }

  const builder = new TraceOpsBuilder(ops.length);
  const lines: number[] = [];
  order.forEach((id, ci) => {
    const list = byContainer.get(id)!;
    list.forEach((o, i) => {
      const t = o.tree;
      const layer = t && !t.fromFsmount && (clonesPerPass[ci]!.get(t.pass) ?? 0) >= 2 ? t.index : -1;
      builder.pushRaw(ci, OP_CODE[o.op], passes[ci]![i]!, layer, (o.startUs - originUs) * 1000, o.durNs ?? NaN, o.pid, o.path);
      lines.push(o.line);
    });
  });
  const header: TraceHeader = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    variant,
    source: 'measured',
    description: `imported from strace output ${file}`.slice(0, 2000),
    containers,
  };
  return { trace: { header, ops: builder.finish() }, lines };
}

/**
 * Splits the text after "NAME(" into top-level arguments, up to the closing
 * parenthesis. Knows strace's quoting ("..." with backslash escapes) and its
 * nesting of {}, [] and (). `end` is the index of the closing parenthesis.
 */
export function splitArgs(text: string): { args: string[]; end: number; error?: string; errorAt: number } {
  const args: string[] = [];
  const stack: string[] = [];
  let start = 0;
  const closer: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (i >= text.length) return { args, end: -1, error: 'a closing quote of a string argument', errorAt: text.length };
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') stack.push(closer[ch]!);
    else if (ch === ')' || ch === ']' || ch === '}') {
      if (stack.length === 0) {
        if (ch !== ')') return { args, end: -1, error: `")" to close the argument list`, errorAt: i };
        const last = text.slice(start, i).trim();
        if (last !== '' || args.length > 0) args.push(last);
        return { args, end: i, errorAt: 0 };
      }
      if (stack.pop() !== ch) return { args, end: -1, error: 'balanced brackets in the arguments', errorAt: i };
    } else if (ch === ',' && stack.length === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return { args, end: -1, error: 'the closing ")" of the argument list', errorAt: text.length };
}

/** Decodes a strace string argument ("..." with C escapes, maybe followed by ...); undefined if not a string. */
export function stringArg(arg: string | undefined): string | undefined {
  if (arg === undefined) return undefined;
  const m = /^"((?:[^"\\]|\\.)*)"(?:\.\.\.)?$/s.exec(arg);
  if (!m) return undefined;
  return m[1]!.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: '\n', t: '\t', r: '\r', v: '\v', f: '\f' } as Record<string, string>)[e] ?? e;
  });
}

function short(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 37) + '...' : s);
}
