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
    this.line = fields.line;
    this.column = fields.column;
    this.field = fields.field;
    this.expected = fields.expected;
    if (fields.got !== undefined) this.got = fields.got;
  }
}

function formatInputError(f: InputErrorFields): string {
  const got = f.got === undefined ? '' : `, got ${f.got}`;
  // Newlines inside a value would break the one-line contract.
  return `${f.file}:${f.line}:${f.column}: ${f.field}: expected ${f.expected}${got}`.replace(/\s*\n\s*/g, ' ');
}

/** The single line the CLI prints to stderr for an InputError. */
export function formatForCli(err: InputError): string {
  return err.message;
}

/** Short, printable rendering of a user value for the `got` part of a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
