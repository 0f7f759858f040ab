// Where a storm's slow calls spent their time: for each call of a probe's
// per-call trace (the mountstorm probe's --trace, recorded beside a kernel
// trace by scripts/ftrace-sleep-stacks.sh), the part of it its thread was off
// its CPU, by the state it left in (D: asleep, R/R+: preempted or queued),
// from the kernel's sched_switch events; the rest it was on a CPU. Calls are
// split into fast and slow (over 30 us) per operation.
//
// Why: on kernel -v782 the quick calls (open_tree, mount_setattr,
// move_mount) of a 4-container storm have tails the model lacks; this says
// whether they waited asleep, in a run queue, or on their CPU (interrupts,
// or the vCPU itself stopped by the host) (docs/validation.md, "Thirteenth
// session").
//
// The probe's clock starts at the storm; it is aligned with the kernel's by
// the overlay mounts (sys_mount with a source, one per container and pass),
// whose entries the probe timed too.
//
// Usage: npx tsx scripts/call-offcpu.ts PREFIX   (PREFIX.trace.jsonl and PREFIX.ftrace)
import { median } from '../src/bench/stats.ts';
import { readTraceFile } from '../src/host/calibration/measurements.ts';
import { OP_NAMES, type Trace } from '../src/workload/trace.ts';
import { eventField as field, loadFtrace } from './ftraceEvents.ts';
import { orExit } from './orExit.ts';

const prefix = process.argv[2];
const usage = 'npx tsx scripts/call-offcpu.ts PREFIX   (PREFIX.trace.jsonl and PREFIX.ftrace)';
const events = loadFtrace(prefix === undefined ? undefined : `${prefix}.ftrace`, usage);
const trace: Trace = orExit(() => readTraceFile(`${prefix}.trace.jsonl`));
// The timed calls (a call the probe did not time has no duration).
const calls: { op: string; start_ns: number; dur_ns: number; tid: number }[] = [];
for (let i = 0; i < trace.ops.count; i++) {
  if (Number.isNaN(trace.ops.durNs[i]!)) continue;
  calls.push({ op: OP_NAMES[trace.ops.op[i]!]!, start_ns: trace.ops.startNs[i]!, dur_ns: trace.ops.durNs[i]!, tid: trace.ops.tid[i]! });
}

// The alignment: each thread's overlay mounts in order, kernel entry against probe start.
const entries = new Map<number, number[]>();
for (const e of events) if (e.name === 'sys_mount' && e.rest.startsWith('(dev_name: 0x')) (entries.get(e.pid) ?? entries.set(e.pid, []).get(e.pid)!).push(e.us * 1000);
const offsets: number[] = [];
for (const c of calls) {
  if (c.op !== 'mount_overlay') continue;
  const k = entries.get(c.tid)?.shift();
  if (k !== undefined) offsets.push(k - c.start_ns);
}
if (offsets.length === 0) {
  process.stderr.write(`${prefix}.ftrace: no overlay mount entries (sys_enter_mount) to align the probe's clock with\n`);
  process.exit(2);
}
const offset = median(offsets);

// Off-CPU intervals per thread: from its switch out to its switch back in.
const leftAt = new Map<number, { ns: number; state: string }>();
const offCpu = new Map<number, { from: number; to: number; state: string }[]>();
for (const e of events) {
  if (e.name !== 'sched_switch') continue;
  const prev = Number(field(e.rest, 'prev_pid')), next = Number(field(e.rest, 'next_pid'));
  leftAt.set(prev, { ns: e.us * 1000, state: field(e.rest, 'prev_state') });
  const l = leftAt.get(next);
  if (l) {
    leftAt.delete(next);
    (offCpu.get(next) ?? offCpu.set(next, []).get(next)!).push({ from: l.ns, to: e.us * 1000, state: l.state });
  }
}

const rows = new Map<string, { n: number; durNs: number; off: Map<string, number> }>();
for (const c of calls) {
  const s = c.start_ns + offset, end = s + c.dur_ns;
  const key = `${c.op} | ${c.dur_ns > 30_000 ? 'slow (over 30 us)' : 'fast'}`;
  const r = rows.get(key) ?? rows.set(key, { n: 0, durNs: 0, off: new Map() }).get(key)!;
  r.n++;
  r.durNs += c.dur_ns;
  for (const i of offCpu.get(c.tid) ?? []) {
    const overlap = Math.min(i.to, end) - Math.max(i.from, s);
    if (overlap > 0) r.off.set(i.state, (r.off.get(i.state) ?? 0) + overlap);
  }
}
console.log(`alignment: ${offsets.length} overlay mounts, spread ${((Math.max(...offsets) - Math.min(...offsets)) / 1000).toFixed(1)} us`);
console.log('| operation | speed | calls | mean call (us) | of it off CPU asleep (D) | preempted or queued (R, R+) | on a CPU |\n|---|---|---|---|---|---|---|');
for (const [k, r] of [...rows].sort()) {
  const per = (ns: number) => (ns / r.n / 1000).toFixed(1);
  const d = r.off.get('D') ?? 0, q = (r.off.get('R') ?? 0) + (r.off.get('R+') ?? 0);
  console.log(`| ${k} | ${r.n} | ${per(r.durNs)} | ${per(d)} | ${per(q)} | ${per(r.durNs - d - q)} |`);
}
