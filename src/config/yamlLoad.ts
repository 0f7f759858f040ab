// YAML loading that remembers where every value came from, so a schema
// violation can be reported as FILE:LINE:COL of the offending node rather than
// as a bare path. The `yaml` package's default (core) schema builds only plain
// data (maps, lists, strings, numbers, booleans, null); any explicit tag is
// refused below, so nothing in an input file can construct objects or run code.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as YamlLib from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { describeValue, InputError } from './errors.ts';

let yamlLib: typeof YamlLib | null = null;
/**
 * The yaml package, loaded at the first parse (~20 ms at start): a process
 * whose models come from the cache of validated models (modelCache.ts), a
 * launch point's or a worker thread's, never parses YAML. Node resolves
 * `yaml` to its CommonJS build for `import` as for `require`, so this is the
 * same instance other modules import. In the CLI's bundle (scripts/bundle.mjs)
 * `require` is defined and `require('yaml')` is the bundle's own copy, the
 * one the bundled modules import (esbuild bundles a literal `require` call);
 * in ES modules (dist/'s, tsx's) `require` is not defined.
 */
function yaml(): typeof YamlLib {
  return (yamlLib ??= (typeof require === 'function' ? require('yaml') : createRequire(import.meta.url)('yaml')) as typeof YamlLib);
}

export type PathSegment = string | number;

/** Values an input may produce by expanding aliases: ample for sharing a few settings, far from a memory bomb. */
export const MAX_ALIAS_COUNT = 100;

/** Renders a zod/YAML path the way users write it: `variants[1].machine.model`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(document)' : out;
}

/**
 * A parsed YAML file plus the means to turn a path into a position. Kept
 * around after validation so later checks (e.g. a scenario naming a machine
 * that lacks the requested sockets) can still point at the right line.
 */
export class YamlSource {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly data: unknown;
  private readonly lineCounter: YamlLib.LineCounter;

  constructor(text: string, file: string) {
    this.file = file;
    this.lineCounter = new (yaml().LineCounter)();
    const deep = nestingBeyond(text, MAX_YAML_DEPTH);
    if (deep !== undefined) {
      // Checked before parsing: thousands of nested `[` make the yaml package
      // exhaust V8's memory (an abort, not an exception), and deep block
      // nesting overflows the stack of any recursive walk afterwards.
      const before = text.slice(0, deep);
      const line = before.split('\n').length;
      throw new InputError({ file, line, column: deep - before.lastIndexOf('\n'), field: '(syntax)', expected: `lists and mappings nested at most ${MAX_YAML_DEPTH} deep`, got: 'deeper nesting' });
    }
    // uniqueKeys: a repeated key would otherwise silently override the first.
    this.doc = yaml().parseDocument(text, { lineCounter: this.lineCounter, uniqueKeys: true, prettyErrors: false });
    const first = this.doc.errors[0];
    if (first) {
      const pos = this.lineCounter.linePos(first.pos[0]);
      // A duplicate key is named by its path; for other syntax errors the node
      // where the parser gave up is often not the one that is wrong, so no field is guessed.
      const field = first.code === 'DUPLICATE_KEY' ? this.fieldAtOffset(first.pos[0]) : '(syntax)';
      throw new InputError({ file, line: pos.line, column: pos.col, field, expected: yamlErrorExpectation(first.code, first.message) });
    }
    // Tags are the YAML feature that can ask a loader for non-data types; the
    // core schema does not resolve them (only warns), but silently turning
    // `!!js/function "x"` into the string "x" would hide a mistake.
    const tagWarning = this.doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
    if (tagWarning) {
      const pos = this.lineCounter.linePos(tagWarning.pos[0]);
      throw new InputError({ file, line: pos.line, column: pos.col, field: this.fieldAtOffset(tagWarning.pos[0]), expected: 'plain YAML data without tags', got: 'a tag' });
    }
    this.checkStructure();
    try {
      this.data = this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      // The yaml package throws a ReferenceError when expanding aliases would
      // exceed maxAliasCount (a "billion laughs" file); checkStructure found
      // every other cause already. Reported at the first alias.
      const at = this.firstAliasOffset ?? 0;
      const pos = this.lineCounter.linePos(at);
      throw new InputError({ file, line: pos.line, column: pos.col, field: this.fieldAtOffset(at), expected: `at most ${MAX_ALIAS_COUNT} values made by expanding YAML aliases (*name)`, got: e instanceof ReferenceError ? 'more (an alias expansion bomb?)' : String(e) });
    }
  }

  private firstAliasOffset: number | undefined;

  /**
   * What the YAML grammar allows but plain data cannot hold, found before
   * toJS: an alias used before (or without) its anchor, and a mapping key that
   * is itself a list or mapping (toJS would stringify it with a process
   * warning on stderr).
   */
  private checkStructure(): void {
    const anchors = new Set<string>();
    let problem: { offset: number; expected: string; got: string } | undefined;
    yaml().visit(this.doc, {
      Alias: (_key, node) => {
        this.firstAliasOffset ??= node.range?.[0];
        if (!anchors.has(node.source)) {
          problem = { offset: node.range?.[0] ?? 0, expected: 'an alias to an anchor defined above it (&name before *name)', got: `*${node.source}` };
          return yaml().visit.BREAK;
        }
        return undefined;
      },
      Node: (_key, node) => {
        if (node.anchor) anchors.add(node.anchor);
        // A tag the core schema does resolve (!!binary, !!str) is refused too:
        // !!binary makes a byte array, which is not plain data.
        if (node.tag) {
          problem = { offset: node.range?.[0] ?? 0, expected: 'plain YAML data without tags', got: `a tag (${node.tag.replace('tag:yaml.org,2002:', '!!')})` };
          return yaml().visit.BREAK;
        }
        return undefined;
      },
      Pair: (_key, pair) => {
        if (pair.key !== null && yaml().isNode(pair.key) && !yaml().isScalar(pair.key)) {
          problem = { offset: pair.key.range?.[0] ?? 0, expected: 'a plain key (a word or a quoted string)', got: yaml().isAlias(pair.key) ? 'an alias as a key' : yaml().isMap(pair.key) ? 'a mapping as a key' : 'a list as a key' };
          return yaml().visit.BREAK;
        }
        return undefined;
      },
    });
    if (problem) {
      const pos = this.lineCounter.linePos(problem.offset);
      throw new InputError({ file: this.file, line: pos.line, column: pos.col, field: this.fieldAtOffset(problem.offset), expected: problem.expected, got: problem.got });
    }
  }

  /** Line and column of the node at `path`; for a missing key, of the deepest existing parent. */
  locate(path: readonly PropertyKey[]): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    let offset = 0;
    if (yaml().isNode(node) && node.range) offset = node.range[0];
    for (const seg of path) {
      const child = childNode(node, seg);
      if (child === undefined) break;
      node = child;
      if (yaml().isNode(child) && child.range) offset = child.range[0];
    }
    const pos = this.lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /** Position of a mapping key itself (for "unknown field" errors). */
  locateKey(path: readonly PropertyKey[], key: string): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      node = childNode(node, seg);
      if (node === undefined) return this.locate(path);
    }
    if (yaml().isMap(node)) {
      for (const item of node.items) {
        if (yaml().isScalar(item.key) && String(item.key.value) === key && item.key.range) {
          const pos = this.lineCounter.linePos(item.key.range[0]);
          return { line: pos.line, column: pos.col };
        }
      }
    }
    return this.locate(path);
  }

  /** The plain value at a path, or undefined when absent. */
  valueAt(path: readonly PropertyKey[]): unknown {
    let v: unknown = this.data;
    for (const seg of path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<PropertyKey, unknown>)[seg];
    }
    return v;
  }

  /** An InputError located at `path` in this file. */
  error(path: readonly PropertyKey[], expected: string, got?: string): InputError {
    const { line, column } = this.locate(path);
    return new InputError({ file: this.file, line, column, field: formatPath(path), expected, ...(got === undefined ? {} : { got }) });
  }

  /** Validates the document; the first zod issue becomes an InputError. */
  validate<T>(schema: z.ZodType<T>): T {
    const result = schema.safeParse(this.data);
    if (result.success) return result.data;
    // A misspelt key usually also makes a required key "missing"; the
    // misspelling is the cause, so it is reported first.
    const issues = result.error.issues;
    const first = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
    throw this.issueToError(first, schema);
  }

  issueToError(issue: z.core.$ZodIssue, schema?: z.ZodType): InputError {
    const path = issue.path as PropertyKey[];
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      const { line, column } = this.locateKey(path, key);
      const known = knownKeysHint(schema, path, this.data);
      return new InputError({ file: this.file, line, column, field: formatPath([...path, key]), expected: known, got: 'an unknown field' });
    }
    const value = this.valueAt(path);
    const { expected, got } = describeIssue(issue, value);
    if (path.length === 0 && this.doc.contents === null) return this.error(path, expected, 'an empty file');
    return this.error(path, expected, got);
  }

  private fieldAtOffset(offset: number): string {
    // Best effort: the path of the innermost node containing the offset.
    const path: PathSegment[] = [];
    let node: unknown = this.doc.contents;
    for (;;) {
      let next: { seg: PathSegment; node: unknown } | undefined;
      if (yaml().isMap(node)) {
        for (const item of node.items) {
          const k = yaml().isScalar(item.key) ? String(item.key.value) : undefined;
          const kr = yaml().isNode(item.key) ? item.key.range : undefined;
          const vr = yaml().isNode(item.value) ? item.value.range : undefined;
          const start = kr ? kr[0] : vr ? vr[0] : -1;
          const end = vr ? vr[2] : kr ? kr[2] : -1;
          if (k !== undefined && offset >= start && offset <= end) next = { seg: k, node: item.value };
        }
      } else if (yaml().isSeq(node)) {
        node.items.forEach((item, i) => {
          if (yaml().isNode(item) && item.range && offset >= item.range[0] && offset <= item.range[2]) next = { seg: i, node: item };
        });
      }
      if (!next) break;
      path.push(next.seg);
      node = next.node;
    }
    return formatPath(path);
  }
}

/** Deeper than any real input nests (model files nest about 6 deep). */
export const MAX_YAML_DEPTH = 64;

/**
 * Offset where YAML text nests deeper than `max`, or undefined. A cheap
 * over-estimate is enough: flow brackets outside quotes and comments, plus
 * block levels from indentation and compact `- `/`? ` indicators. It only has
 * to be exact for real inputs, which nest far less deeply.
 */
export function nestingBeyond(text: string, max: number): number | undefined {
  let flow = 0;
  const indents: number[] = [];
  let lineStart = 0;
  while (lineStart <= text.length) {
    let end = text.indexOf('\n', lineStart);
    if (end < 0) end = text.length;
    let i = lineStart;
    while (i < end && text[i] === ' ') i++;
    const content = i < end && text[i] !== '#' && text[i] !== '\r';
    if (content && flow === 0) {
      while (indents.length > 0 && indents[indents.length - 1]! >= i - lineStart) indents.pop();
      indents.push(i - lineStart);
      // `- - - x`: each compact indicator opens one more level on the same line.
      while ((text[i] === '-' || text[i] === '?') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
        i += 2;
        while (i < end && text[i] === ' ') i++;
        indents.push(i - lineStart);
        if (indents.length > max) return i;
      }
      if (indents.length > max) return i;
    }
    let quote = '';
    for (let j = i; j < end; j++) {
      const c = text[j]!;
      if (quote) {
        if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (j === lineStart || text[j - 1] === ' ')) break;
      else if (c === '[' || c === '{') {
        if (indents.length + ++flow > max) return j;
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    lineStart = end + 1;
  }
  return undefined;
}

function childNode(node: unknown, seg: PropertyKey): YamlNode | undefined {
  if (yaml().isMap(node)) {
    for (const item of node.items) {
      if (yaml().isPair(item) && yaml().isScalar(item.key) && String(item.key.value) === String(seg)) {
        return yaml().isNode(item.value) ? item.value : undefined;
      }
    }
    return undefined;
  }
  if (yaml().isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg];
    return yaml().isNode(item) ? item : undefined;
  }
  return undefined;
}

function yamlErrorExpectation(code: string, message: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key at most once in a mapping';
    case 'TAB_AS_INDENT':
      return 'spaces for indentation, not tabs';
    default: {
      // The library's text with its own position suffix and code excerpt removed.
      const text = message.split(' at line ')[0]!.trim();
      return `valid YAML (${text.charAt(0).toLowerCase()}${text.slice(1)})`;
    }
  }
}

const typeNames: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
  tuple: 'a list',
  null: 'null',
};

function listValues(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
}

/** zod's issue in words a user of the file understands, and what was there instead. */
export function describeIssue(issue: z.core.$ZodIssue, value: unknown): { expected: string; got?: string } {
  const got = describeValue(value);
  switch (issue.code) {
    case 'invalid_type':
      return { expected: typeNames[issue.expected] ?? issue.expected, got: value === undefined ? 'nothing (the field is missing)' : got };
    case 'invalid_value':
      return issue.values.length === 1
        ? { expected: JSON.stringify(issue.values[0]), got }
        : { expected: `one of ${listValues(issue.values)}`, got };
    case 'invalid_union': {
      const u = issue as z.core.$ZodIssueInvalidUnion & { discriminator?: string; options?: unknown[] };
      if (u.options && u.options.length > 0) {
        return { expected: `one of ${listValues(u.options)}`, got: value === undefined ? 'nothing (the field is missing)' : got };
      }
      return { expected: 'a value of one of the accepted shapes', got };
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        if (min === 0) return { expected: issue.inclusive ? 'a number >= 0' : 'a positive number', got };
        return { expected: `a number ${issue.inclusive ? '>=' : '>'} ${min}`, got };
      }
      if (issue.origin === 'string') return { expected: min <= 1 ? 'a non-empty string' : `a string of at least ${min} characters`, got };
      if (issue.origin === 'array' || issue.origin === 'set') return { expected: `a list of at least ${min} item${min === 1 ? '' : 's'}`, got };
      return { expected: `at least ${min}`, got };
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') return { expected: `a number ${issue.inclusive ? '<=' : '<'} ${max}`, got };
      if (issue.origin === 'string') return { expected: `a string of at most ${max} characters`, got };
      if (issue.origin === 'array' || issue.origin === 'set') return { expected: `a list of at most ${max} items`, got };
      return { expected: `at most ${max}`, got };
    }
    case 'not_multiple_of':
      return { expected: `a multiple of ${String(issue.divisor)}`, got };
    case 'invalid_format': {
      // A refine's own message says what it wants; a bare regex is shown as the pattern.
      const pattern = (issue as { pattern?: string }).pattern;
      if (issue.format === 'regex') return { expected: issue.message && !/^Invalid/.test(issue.message) ? issue.message : `a string matching ${pattern ?? 'the expected pattern'}`, got };
      return { expected: `a ${issue.format} string`, got };
    }
    case 'invalid_key':
      return { expected: 'valid keys', got };
    case 'invalid_element':
      return { expected: 'valid elements', got };
    case 'custom': {
      // Our own refinements phrase their message as the expectation and may
      // carry what they found in params.got.
      const params = (issue.params ?? {}) as { got?: string };
      return { expected: issue.message, ...(params.got === undefined ? { got } : { got: params.got }) };
    }
    default:
      return { expected: (issue as { message: string }).message, got };
  }
}

/** "one of a, b, c": the field names the schema accepts at `path`, when they can be found. */
function knownKeysHint(schema: z.ZodType | undefined, path: readonly PropertyKey[], data: unknown): string {
  const keys = schema ? objectKeysAt(schema, path, data) : undefined;
  return keys && keys.length > 0 ? `one of the fields ${keys.join(', ')}` : 'a known field name';
}

// Walks zod's public definition objects (`_zod.def`) down the path, following
// the data through unions, to find the object schema that rejected a key.
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[], data: unknown): string[] | undefined {
  type Def = { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; options?: z.ZodType[]; innerType?: z.ZodType; in?: z.ZodType; valueType?: z.ZodType };
  const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
  const unwrap = (s: z.ZodType, value: unknown): z.ZodType => {
    for (let i = 0; i < 20; i++) {
      const def = defOf(s);
      if (def.innerType) s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else if (def.type === 'union' && def.options) {
        const match = def.options.find((o) => o.safeParse(value).success) ??
          def.options.find((o) => {
            const sh = defOf(unwrap(o, value)).shape;
            return sh !== undefined && value !== null && typeof value === 'object' &&
              Object.entries(sh).some(([k, v]) => defOf(v).type === 'literal' && v.safeParse((value as Record<string, unknown>)[k]).success);
          });
        if (!match) return s;
        s = match;
      } else return s;
    }
    return s;
  };
  let s = unwrap(schema, data);
  let value = data;
  for (const seg of path) {
    const def = defOf(s);
    const next = def.shape ? def.shape[String(seg)] : def.element ?? def.valueType;
    if (!next) return undefined;
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[seg] : undefined;
    s = unwrap(next, value);
  }
  const shape = defOf(s).shape;
  return shape ? Object.keys(shape) : undefined;
}

/** Parses and validates YAML text; every failure is an InputError naming `file`. */
export function parseYamlText<T>(text: string, file: string, schema: z.ZodType<T>): T {
  return new YamlSource(text, file).validate(schema);
}

/**
 * Reads a file as text, turning a missing or unreadable file into an InputError
 * at 1:1 that says what kind of file was `expected`.
 */
export function readInputFile(file: string, expected = 'a readable YAML file', shownAs: string = file): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    // Reported under the name the user gave; the caller may have resolved it.
    const code = (e as NodeJS.ErrnoException).code;
    const got = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : code === 'EACCES' ? 'no permission to read it' : `error ${code ?? String(e)}`;
    throw new InputError({ file: shownAs, line: 1, column: 1, field: '(file)', expected, got });
  }
}

/** `shownAs` is the name used in error messages when it differs from the path read. */
export function loadYamlSource(file: string, shownAs: string = file): YamlSource {
  return new YamlSource(readInputFile(file, 'a readable YAML file', shownAs), shownAs);
}

export function loadYamlFile<T>(file: string, schema: z.ZodType<T>): T {
  return loadYamlSource(file).validate(schema);
}
