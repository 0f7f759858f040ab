// The one error type for bad user input. The CLI prints its message (one line,
// no stack) and exits 2, so the message alone must tell the user where the
// problem is and what would have been accepted.

export interface InputErrorFields {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the offending field, e.g. `variants[1].machine.model`; `(document)` for the whole file. */
  field: string;
  expected: string;
  got?: string;
}

export class InputError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string;
  readonly expected: string;
  readonly got?: string;

  constructor(fields: InputErrorFields) {
    super(formatInputError(fields));
    this.name = 'InputError';
    this.file = fields.file;
    this.line = position(fields.line);
    this.column = position(fields.column);
    this.field = fields.field;
    this.expected = fields.expected;
    if (fields.got !== undefined) this.got = fields.got;
  }
}

/** A bad flag or argument: the command line is the "file", at line 1, column 1. */
export function commandLineError(field: string, expected: string, got: string): InputError {
  return new InputError({ file: '(command line)', line: 1, column: 1, field, expected, got });
}

/** No message is longer than this: a terminal's worth of text, never a whole input echoed back. */
export const MAX_MESSAGE_CHARS = 300;
/** An echoed value (a field path, what was found) is cut to about this many characters. */
export const MAX_ECHO_CHARS = 80;

/** `text` on one line, cut to `max` characters with an ellipsis saying it was cut. */
export function clip(text: string, max: number = MAX_ECHO_CHARS): string {
  const one = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return one.length <= max ? one : `${one.slice(0, Math.max(0, max - 3))}...`;
}

/** A whole number for a position: a parser that lost track of where it was says 1, never "undefined". */
function position(n: number): number {
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

function formatInputError(f: InputErrorFields): string {
  // Each part is cut on its own so that the location and the expectation
  // survive whatever the file held; the whole stays within MAX_MESSAGE_CHARS.
  const got = f.got === undefined ? '' : `, got ${clip(f.got)}`;
  const head = `${clip(f.file, 90)}:${position(f.line)}:${position(f.column)}: ${clip(f.field)}: expected `;
  return `${head}${clip(f.expected, MAX_MESSAGE_CHARS - head.length - got.length)}${got}`;
}

/** The single line the CLI prints to stderr for an InputError. */
export function formatForCli(err: InputError): string {
  return err.message;
}

/** Short, printable rendering of a user value for the `got` part of a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return clip(JSON.stringify(value));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
