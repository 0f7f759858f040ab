// The events of an ftrace text dump (the text of /sys/kernel/tracing/trace,
// as scripts/ftrace-storm.sh saves it), for the scripts that read one.
import { readFileSync } from 'node:fs';

export interface FtraceEvent {
  /** Timestamp, us. */
  us: number;
  cpu: number;
  comm: string;
  pid: number;
  name: string;
  /** The event's fields, as printed. */
  rest: string;
}

const LINE = /^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+):?(.*)$/;

/** The text of an ftrace dump; no file: the usage line, exit 2; unreadable: one line, exit 2. */
export function readFtraceText(file: string | undefined, usage: string): string {
  if (!file) {
    process.stderr.write(`usage: ${usage}\n`);
    process.exit(2);
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`${file}: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

/** The file's events in order; a missing file or one with no events: one line on stderr, exit 2. */
export function loadFtrace(file: string | undefined, usage: string): FtraceEvent[] {
  const text = readFtraceText(file, usage);
  const events: FtraceEvent[] = [];
  for (const l of text.split('\n')) {
    const m = LINE.exec(l);
    if (m) events.push({ us: Number(m[4]) * 1e6, cpu: Number(m[3]), comm: m[1]!, pid: Number(m[2]), name: m[5]!, rest: m[6]! });
  }
  if (events.length === 0) {
    process.stderr.write(`${file}: no ftrace events (expected the text of /sys/kernel/tracing/trace)\n`);
    process.exit(2);
  }
  return events;
}

/** A field of an event's text (`name=value`, as ftrace prints them), or '' when absent. */
export function eventField(rest: string, name: string): string {
  return new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(rest)?.[1] ?? '';
}
