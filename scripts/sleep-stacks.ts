// Where the tasks of a traced storm slept (scripts/ftrace-sleep-stacks.sh):
// the kernel stacks of their switches into uninterruptible sleep, counted
// by their first frames below schedule(), split by whether the task was
// inside mount(2) (the overlay mount) at the time.
// Why: the model says which lock each syscall waits on (models/kernel); the
// kernel's stacks say which it did (docs/validation.md, "Twelfth session").
// Usage: npx tsx scripts/sleep-stacks.ts OUT.ftrace [FRAMES]
import { readFtraceText } from './ftraceEvents.ts';

const [file, framesArg] = process.argv.slice(2);
const text = readFtraceText(file, 'npx tsx scripts/sleep-stacks.ts OUT.ftrace [FRAMES]');
const frames = Number(framesArg ?? 6);
const skip = new Set(['trace_event_raw_event_sched_switch', '__traceiter_sched_switch', '__schedule', 'schedule', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
const line = /^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (.*)$/;
const inMount = new Set<number>();
const counts = new Map<string, number>();
let where: string | null = null;
let stack: string[] = [];
const flush = () => {
  if (where !== null && stack.length > 0) {
    const k = `${where} | ${stack.slice(0, frames).join(' < ')}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  where = null;
  stack = [];
};
for (const l of text.split('\n')) {
  const t = l.trim();
  if (t.startsWith('=>')) {
    const f = t.slice(3).split('+')[0]!;
    if (!skip.has(f)) stack.push(f);
    continue;
  }
  flush();
  const m = line.exec(l);
  if (!m) continue;
  const pid = Number(m[2]);
  const body = m[5]!;
  if (body.startsWith('sys_mount(')) inMount.add(pid);
  else if (body.startsWith('sys_mount ->')) inMount.delete(pid);
  else if (body.startsWith('<stack trace>')) where = inMount.has(pid) ? 'in mount(2)' : 'elsewhere';
}
flush();
if (counts.size === 0) {
  process.stderr.write(`${file}: no stack traces (expected scripts/ftrace-sleep-stacks.sh's output)\n`);
  process.exit(2);
}
console.log('| sleeps | where | stack (innermost first) |\n|---|---|---|');
for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 16)) {
  const [w, s] = k.split(' | ');
  console.log(`| ${n} | ${w} | ${s} |`);
}
