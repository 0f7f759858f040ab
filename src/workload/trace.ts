// The launch trace: which mount-related syscalls each container makes, in
// order, and (for measured traces) when and for how long. Format and field
// meanings: docs/trace-format.md. Version 1 is strict: an unknown field is an
// error, because a misspelt `dur_ns` silently ignored would turn a measured
// trace into an unmeasured one.
//
// Ops are held as a struct of typed arrays (about 30 bytes per op), not one
// object per op: 1,000 containers x 100 layers x 2 passes x 3 ops is ~600,000
// ops, and the simulator walks them by index anyway.

import { z } from 'zod';
import { describeValue, InputError } from '../config/errors.ts';
import { describeIssue } from '../config/yamlLoad.ts';

export const TRACE_FORMAT = 'locksim-trace';
export const TRACE_VERSION = 1;

/** Op names in trace files; the index in this list is the op code stored in `TraceOps.op`. */
export const OP_NAMES = [
  'open_tree',
  'mount_setattr',
  'move_mount',
  'mount_overlay',
  'umount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'close_tree',
  'mount_plain',
  // Appended (op codes are indices): the unmount of an overlay, which tears
  // its superblock down and puts each lower layer's private clone.
  'umount_overlay',
] as const;
export type OpName = (typeof OP_NAMES)[number];
/**
 * How each op changes the mount table its caller's namespace lists in
 * /proc/self/mountinfo: a mount attached (move_mount, an overlay or plain
 * mount(2)) adds a line, an umount removes one; detached trees (open_tree,
 * fsmount) are in anonymous namespaces and list nowhere. The one rule the
 * launch simulation and the calibration both use.
 */
export function mountTableDelta(op: OpName): number {
  return op === 'move_mount' || op === 'mount_overlay' || op === 'mount_plain' ? 1 : op === 'umount' || op === 'umount_overlay' ? -1 : 0;
}
export const OP_CODE: Readonly<Record<OpName, number>> = Object.freeze(
  Object.fromEntries(OP_NAMES.map((name, i) => [name, i])) as Record<OpName, number>,
);

/** Largest pass number: passes are stored in a Uint8Array. */
export const MAX_PASS = 255;

const containerIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'a container id of 1-64 letters, digits, ".", "_", ":" or "-"');
const nonNegativeNs = z.number().finite().nonnegative();

export const traceContainerSchema = z.strictObject({
  id: containerIdSchema,
  /** Layers of the container's image (the count of lower directories of its overlay). */
  layers: z.number().int().positive().max(10_000),
  /** When the container's launch starts, ns after the trace's time origin. */
  start_ns: nonNegativeNs,
  /** Optional label of the image, for reports. */
  image: z.string().min(1).max(200).optional(),
  /** Measured traces of one process per container: when its process started running, ns after the trace's time origin (the fork's wait and cost). */
  process_start_ns: nonNegativeNs.optional(),
});
export type TraceContainer = z.infer<typeof traceContainerSchema>;

export const traceHeaderSchema = z.strictObject({
  format: z.literal(TRACE_FORMAT),
  version: z.literal(TRACE_VERSION),
  /** Runtime variant that produced the trace (generated) or a free label (measured). */
  variant: z.string().min(1).max(100).optional(),
  /** Where the trace came from. */
  source: z.enum(['generated', 'measured']).optional(),
  /** Seed of a generated trace, as a string so any seed round-trips exactly. */
  seed: z.string().max(200).optional(),
  description: z.string().max(2000).optional(),
  containers: z.array(traceContainerSchema),
  /** Human-readable warnings, e.g. images over the mount option size limit. */
  warnings: z.array(z.string()).optional(),
});
export type TraceHeader = z.infer<typeof traceHeaderSchema>;

const opLineSchema = z.strictObject({
  container: containerIdSchema,
  op: z.enum(OP_NAMES),
  pass: z.number().int().min(1).max(MAX_PASS),
  layer: z.number().int().nonnegative().optional(),
  path: z.string().min(1).max(4096).optional(),
  start_ns: nonNegativeNs.optional(),
  dur_ns: nonNegativeNs.optional(),
  tid: z.number().int().nonnegative().max(2 ** 31 - 1).optional(),
});
type OpLine = z.infer<typeof opLineSchema>;

/** Field order of an op line as written by `writeTrace` (and documented). */
const OP_FIELDS = ['container', 'op', 'pass', 'layer', 'path', 'start_ns', 'dur_ns', 'tid'] as const;
const HEADER_FIELDS = ['format', 'version', 'variant', 'source', 'seed', 'description', 'containers', 'warnings'] as const;
const CONTAINER_FIELDS = ['id', 'layers', 'start_ns', 'image', 'process_start_ns'] as const;

/**
 * All ops of a trace, column-wise. Op i is (container[i], op[i], pass[i], ...).
 * Absent optional fields: layer/tid -1, startNs/durNs NaN, path not in the map.
 */
export interface TraceOps {
  readonly count: number;
  /** Index into `header.containers`. */
  readonly container: Uint32Array;
  /** Index into OP_NAMES. */
  readonly op: Uint8Array;
  readonly pass: Uint8Array;
  readonly layer: Int32Array;
  readonly startNs: Float64Array;
  readonly durNs: Float64Array;
  readonly tid: Int32Array;
  /** Sparse: op index -> path, only for ops that carry one. */
  readonly path: ReadonlyMap<number, string>;
}

export interface Trace {
  header: TraceHeader;
  ops: TraceOps;
}

/** One op as a small plain object (for building and for tests; not how ops are stored). */
export interface TraceOpInput {
  container: number;
  op: OpName;
  pass: number;
  layer?: number;
  path?: string;
  startNs?: number;
  durNs?: number;
  tid?: number;
}

/** Appends ops into growable typed arrays; `finish()` trims them to size. */
export class TraceOpsBuilder {
  private n = 0;
  private cap: number;
  private container: Uint32Array;
  private op: Uint8Array;
  private pass: Uint8Array;
  private layer: Int32Array;
  private startNs: Float64Array;
  private durNs: Float64Array;
  private tid: Int32Array;
  private readonly path = new Map<number, string>();

  constructor(initialCapacity = 1024) {
    this.cap = Math.max(16, initialCapacity);
    this.container = new Uint32Array(this.cap);
    this.op = new Uint8Array(this.cap);
    this.pass = new Uint8Array(this.cap);
    this.layer = new Int32Array(this.cap);
    this.startNs = new Float64Array(this.cap);
    this.durNs = new Float64Array(this.cap);
    this.tid = new Int32Array(this.cap);
  }

  get count(): number {
    return this.n;
  }

  /** Appends one op; `layer`/`tid` < 0 and NaN times mean "absent". */
  pushRaw(container: number, opCode: number, pass: number, layer = -1, startNs = NaN, durNs = NaN, tid = -1, path?: string): void {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.container[i] = container;
    this.op[i] = opCode;
    this.pass[i] = pass;
    this.layer[i] = layer;
    this.startNs[i] = startNs;
    this.durNs[i] = durNs;
    this.tid[i] = tid;
    if (path !== undefined) this.path.set(i, path);
  }

  push(o: TraceOpInput): void {
    this.pushRaw(o.container, OP_CODE[o.op], o.pass, o.layer ?? -1, o.startNs ?? NaN, o.durNs ?? NaN, o.tid ?? -1, o.path);
  }

  finish(): TraceOps {
    const n = this.n;
    return {
      count: n,
      container: this.container.slice(0, n),
      op: this.op.slice(0, n),
      pass: this.pass.slice(0, n),
      layer: this.layer.slice(0, n),
      startNs: this.startNs.slice(0, n),
      durNs: this.durNs.slice(0, n),
      tid: this.tid.slice(0, n),
      path: this.path,
    };
  }

  private grow(): void {
    const cap = this.cap * 2;
    const grow = <T extends Uint32Array | Uint8Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.container = grow(this.container, (k) => new Uint32Array(k));
    this.op = grow(this.op, (k) => new Uint8Array(k));
    this.pass = grow(this.pass, (k) => new Uint8Array(k));
    this.layer = grow(this.layer, (k) => new Int32Array(k));
    this.startNs = grow(this.startNs, (k) => new Float64Array(k));
    this.durNs = grow(this.durNs, (k) => new Float64Array(k));
    this.tid = grow(this.tid, (k) => new Int32Array(k));
    this.cap = cap;
  }
}

/** Op i as a plain object (absent fields omitted). */
export function opAt(ops: TraceOps, i: number): TraceOpInput {
  const o: TraceOpInput = { container: ops.container[i]!, op: OP_NAMES[ops.op[i]!]!, pass: ops.pass[i]! };
  if (ops.layer[i]! >= 0) o.layer = ops.layer[i]!;
  const path = ops.path.get(i);
  if (path !== undefined) o.path = path;
  if (!Number.isNaN(ops.startNs[i]!)) o.startNs = ops.startNs[i]!;
  if (!Number.isNaN(ops.durNs[i]!)) o.durNs = ops.durNs[i]!;
  if (ops.tid[i]! >= 0) o.tid = ops.tid[i]!;
  return o;
}

// ---------------------------------------------------------------- parsing

/** 1-based column of `"key"` in a JSON line, or 1 when the key is not there. */
function columnOfKey(line: string, key: PropertyKey | undefined): number {
  if (typeof key !== 'string') return 1;
  const at = line.indexOf(JSON.stringify(key) + ':') >= 0 ? line.indexOf(JSON.stringify(key) + ':') : line.indexOf(JSON.stringify(key));
  return at >= 0 ? at + 1 : 1;
}

function formatField(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? String(seg) : `.${String(seg)}`;
  return out === '' ? '(line)' : out;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** Turns the first zod issue of a line into an InputError positioned at the offending field. */
function issueError(file: string, lineNo: number, lineText: string, issue: z.core.$ZodIssue, data: unknown, fieldPrefix: string, knownFields: readonly string[]): InputError {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return new InputError({
      file, line: lineNo, column: columnOfKey(lineText, key), field: formatField(fieldPrefix, [...path, key]),
      expected: `only the fields ${knownFields.join(', ')} (unknown fields are errors in version ${TRACE_VERSION})`,
      got: 'an unknown field',
    });
  }
  // The innermost named key on the path is what we can find in the text.
  const lastKey = [...path].reverse().find((s) => typeof s === 'string');
  const value = valueAt(data, path);
  const { expected, got } = describeIssue(issue, value);
  return new InputError({ file, line: lineNo, column: columnOfKey(lineText, lastKey), field: formatField(fieldPrefix, path), expected, ...(got === undefined ? {} : { got }) });
}

/** JSON.parse with failures as InputErrors; a line without its closing brace is reported as truncated. */
function parseJsonLine(file: string, lineNo: number, text: string): unknown {
  const trimmed = text.trimEnd();
  if (!trimmed.startsWith('{')) {
    throw new InputError({ file, line: lineNo, column: text.length - text.trimStart().length + 1, field: '(line)', expected: 'a JSON object starting with "{"', got: describeValue(trimmed.slice(0, 20)) });
  }
  try {
    return JSON.parse(trimmed);
  } catch (e) {
    if (!trimmed.endsWith('}')) {
      throw new InputError({ file, line: lineNo, column: trimmed.length + 1, field: '(line)', expected: 'a complete JSON object ending with "}"', got: 'a truncated line (no closing brace)' });
    }
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const column = pos ? Number(pos[1]) + 1 : 1;
    // V8's wording ("Expected ',' or '}' after property value") is what the user needs; drop its position suffix.
    const reason = msg.replace(/\s*in JSON at position.*$/s, '').replace(/^JSON\.parse: /, '');
    throw new InputError({ file, line: lineNo, column, field: '(line)', expected: `valid JSON (${reason})` });
  }
}

/**
 * Parses a trace file's text. Every problem is an InputError `file:LINE:COL:
 * FIELD: expected ...`. Blank lines are allowed anywhere; the first non-blank
 * line must be the header.
 */
export function parseTrace(text: string, file: string): Trace {
  // Split without keeping a second copy of every line's text alive longer than needed.
  const lines = text.split('\n');
  let header: TraceHeader | undefined;
  let containerIndex = new Map<string, number>();
  const builder = new TraceOpsBuilder(Math.max(16, lines.length));
  for (let li = 0; li < lines.length; li++) {
    let line = lines[li]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const lineNo = li + 1;
    const data = parseJsonLine(file, lineNo, line);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new InputError({ file, line: lineNo, column: 1, field: '(line)', expected: 'a JSON object', got: describeValue(data) });
    }
    if (header === undefined) {
      header = parseHeader(file, lineNo, line, data as Record<string, unknown>);
      containerIndex = new Map(header.containers.map((c, i) => [c.id, i]));
      continue;
    }
    const result = opLineSchema.safeParse(data);
    if (!result.success) {
      throw issueError(file, lineNo, line, result.error.issues[0]!, data, '', OP_FIELDS);
    }
    const o: OpLine = result.data;
    const ci = containerIndex.get(o.container);
    if (ci === undefined) {
      throw new InputError({
        file, line: lineNo, column: columnOfKey(line, 'container'), field: 'container',
        expected: 'a container id listed in the header\'s containers', got: describeValue(o.container),
      });
    }
    if (o.layer !== undefined && o.layer >= header.containers[ci]!.layers) {
      throw new InputError({
        file, line: lineNo, column: columnOfKey(line, 'layer'), field: 'layer',
        expected: `a layer index below the container's ${header.containers[ci]!.layers} layers`, got: String(o.layer),
      });
    }
    builder.pushRaw(ci, OP_CODE[o.op], o.pass, o.layer ?? -1, o.start_ns ?? NaN, o.dur_ns ?? NaN, o.tid ?? -1, o.path);
  }
  if (header === undefined) {
    throw new InputError({ file, line: 1, column: 1, field: '(header)', expected: `a header line {"format":"${TRACE_FORMAT}","version":${TRACE_VERSION},...}`, got: 'an empty file' });
  }
  return { header, ops: builder.finish() };
}

function parseHeader(file: string, lineNo: number, line: string, data: Record<string, unknown>): TraceHeader {
  // Check the identity fields first so an op line or another format in line 1
  // is reported as "this is not a locksim trace header", not as a missing field.
  if (data.format !== TRACE_FORMAT) {
    throw new InputError({
      file, line: lineNo, column: columnOfKey(line, 'format'), field: 'format',
      expected: `a header line with "format":"${TRACE_FORMAT}" first`,
      got: data.format === undefined && 'op' in data ? 'an op line (the header is missing)' : describeValue(data.format),
    });
  }
  if (data.version !== TRACE_VERSION) {
    throw new InputError({
      file, line: lineNo, column: columnOfKey(line, 'version'), field: 'version',
      expected: `${TRACE_VERSION} (the only trace format version this program reads)`, got: describeValue(data.version),
    });
  }
  const result = traceHeaderSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const known = issue.path.length > 0 && issue.path[0] === 'containers' ? CONTAINER_FIELDS : HEADER_FIELDS;
    throw issueError(file, lineNo, line, issue, data, '', known);
  }
  const seen = new Set<string>();
  result.data.containers.forEach((c, i) => {
    if (seen.has(c.id)) {
      throw new InputError({ file, line: lineNo, column: columnOfKey(line, 'containers'), field: `containers[${i}].id`, expected: 'container ids that are unique', got: `${JSON.stringify(c.id)} twice` });
    }
    seen.add(c.id);
  });
  return result.data;
}

// ---------------------------------------------------------------- writing

/** A copy of `obj` with its keys in `order` (JSON.stringify keeps insertion order); undefined values dropped. */
function ordered(obj: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

/** Serializes a trace: header line then one line per op, keys in the documented order. */
export function writeTrace(header: TraceHeader, ops: TraceOps): string {
  const containers = header.containers.map((c) => ordered(c, CONTAINER_FIELDS));
  const headerLine = JSON.stringify(ordered({ ...header, format: TRACE_FORMAT, version: TRACE_VERSION, containers }, HEADER_FIELDS));
  const out: string[] = [headerLine];
  const ids = header.containers.map((c) => JSON.stringify(c.id));
  const opNames = OP_NAMES.map((n) => JSON.stringify(n));
  for (let i = 0; i < ops.count; i++) {
    let s = `{"container":${ids[ops.container[i]!]},"op":${opNames[ops.op[i]!]},"pass":${ops.pass[i]}`;
    if (ops.layer[i]! >= 0) s += `,"layer":${ops.layer[i]}`;
    const p = ops.path.get(i);
    if (p !== undefined) s += `,"path":${JSON.stringify(p)}`;
    if (!Number.isNaN(ops.startNs[i]!)) s += `,"start_ns":${ops.startNs[i]}`;
    if (!Number.isNaN(ops.durNs[i]!)) s += `,"dur_ns":${ops.durNs[i]}`;
    if (ops.tid[i]! >= 0) s += `,"tid":${ops.tid[i]}`;
    out.push(s + '}');
  }
  return out.join('\n') + '\n';
}
