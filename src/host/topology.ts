// Reading this host's CPU topology into a hardware model (models/hardware/*.yaml),
// from Linux sysfs or from hwloc's XML (`lstopo --of xml`). Both readers produce
// the same intermediate: one entry per logical CPU naming its package, core and
// L3 group, plus where each of those came from, so a topology the simulator
// cannot represent (a model file has one number of cores per socket, of L3
// groups per socket, of threads per core) is reported at the element that
// breaks the pattern.
//
// What a topology reading cannot know (core-to-core latencies, PAUSE cycles,
// the SMT slowdown) is filled with published numbers of the same vendor whose
// source says they are placeholders, or, given a pingpong measurement of this
// host (src/host/measure.ts), with its medians per pair kind.

import { readInputFile } from '../config/yamlLoad.ts';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Document, isScalar, isSeq, visit } from 'yaml';
import { InputError } from '../config/errors.ts';
import { hardwareModelSchema, type HardwareModel, type SourcedNumber } from '../config/hardwareSchema.ts';
import { atomicWrite } from '../report/atomicWrite.ts';
import { median } from '../bench/stats.ts';
import { formatMicroseconds as us } from '../report/units.ts';

/** Where a package, core, L3 group or CPU was read from, for error messages. */
export interface ElementRef {
  file: string;
  line: number;
  column: number;
  /** How the user would name the element, e.g. `Package os_index=1` or `cpu5 physical_package_id`. */
  name: string;
}

/** One logical CPU as read, before the shape is checked. Keys are opaque strings unique per element. */
interface RawCpu {
  cpu: number;
  packageKey: string;
  coreKey: string;
  /** null: no L3 seen above this CPU; the package then counts as one L3 group. */
  l3Key: string | null;
  numaNode: number | null;
}

export interface HostCpuInfo {
  /** As the CPU reports it: GenuineIntel, AuthenticAMD, or null when the input does not say. */
  vendorId: string | null;
  model: string | null;
  family: number | null;
  modelNumber: number | null;
  stepping: number | null;
  ghz: SourcedNumber | null;
}

/** One logical CPU with dense indexes: socket, core (global, 0..cores-1), l3 (global), thread within its core. */
export interface HostCpu {
  cpu: number;
  socket: number;
  core: number;
  l3: number;
  thread: number;
}

export interface HostTopology {
  /** What was read, e.g. `/sys` or `lstopo.xml`. */
  origin: string;
  /** Sorted by cpu number. */
  cpus: HostCpu[];
  sockets: number;
  cores: number;
  l3Groups: number;
  /** Socket-level SLIT distances, or null when the input has none. */
  numaDistance: number[][] | null;
  cpuInfo: HostCpuInfo;
  /** Per dense socket / core / l3 index, where it was read (for errors found later). */
  refs: { socket: ElementRef[]; core: ElementRef[]; l3: ElementRef[] };
  /**
   * Set when the input told no L3 sharing for any cpu and the package was
   * taken as the L3 group: what was missing, for a one-line note.
   */
  l3Assumed?: string;
}

/** The shape a hardware model file can hold. */
export interface HostShape {
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  l3GroupsPerSocket: number;
}

function fail(ref: ElementRef, expected: string, got?: string): InputError {
  return new InputError({ file: ref.file, line: ref.line, column: ref.column, field: ref.name, expected, ...(got === undefined ? {} : { got }) });
}

/** Parses a Linux cpu list such as `0-3,8,10-11`. */
export function parseCpuList(text: string): number[] | null {
  const out: number[] = [];
  const trimmed = text.trim();
  if (trimmed === '') return out;
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return null;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Turning raw CPUs into dense indexes

interface RawReading {
  origin: string;
  cpus: RawCpu[];
  refs: Map<string, ElementRef>;
  /** SLIT between NUMA node numbers, or null. */
  nodeDistance: { nodes: number[]; distance: number[][] } | null;
  cpuInfo: HostCpuInfo;
}

function densify(raw: RawReading): HostTopology {
  const cpus = [...raw.cpus].sort((a, b) => a.cpu - b.cpu);
  // Sockets are numbered in order of their first CPU, as are cores and L3 groups,
  // so the dense numbers follow the host's own cpu numbering.
  const index = (keyOf: (c: RawCpu) => string) => {
    const m = new Map<string, number>();
    for (const c of cpus) if (!m.has(keyOf(c))) m.set(keyOf(c), m.size);
    return m;
  };
  const sockets = index((c) => c.packageKey);
  const cores = index((c) => c.coreKey);
  const l3KeyOf = (c: RawCpu) => c.l3Key ?? `package-l3:${c.packageKey}`;
  const l3s = index(l3KeyOf);
  const threadOf = new Map<string, number>();
  const hostCpus: HostCpu[] = cpus.map((c) => {
    const t = threadOf.get(c.coreKey) ?? 0;
    threadOf.set(c.coreKey, t + 1);
    return { cpu: c.cpu, socket: sockets.get(c.packageKey)!, core: cores.get(c.coreKey)!, l3: l3s.get(l3KeyOf(c))!, thread: t };
  });
  const refOf = (key: string): ElementRef => raw.refs.get(key) ?? { file: raw.origin, line: 1, column: 1, name: key };
  const refs = {
    socket: [...sockets.keys()].map(refOf),
    core: [...cores.keys()].map(refOf),
    l3: [...l3s.keys()].map((k) => (k.startsWith('package-l3:') ? refOf(k.slice('package-l3:'.length)) : refOf(k))),
  };

  // A socket's distance row is that of the NUMA node holding its first CPU
  // (with sub-NUMA clustering a socket has several; the first stands for all).
  let numaDistance: number[][] | null = null;
  if (raw.nodeDistance) {
    const { nodes, distance } = raw.nodeDistance;
    const nodeOfSocket: number[] = [];
    for (const c of cpus) {
      const s = sockets.get(c.packageKey)!;
      if (nodeOfSocket[s] === undefined && c.numaNode !== null) nodeOfSocket[s] = c.numaNode;
    }
    const rows = [...sockets.values()].map((s) => nodes.indexOf(nodeOfSocket[s] ?? -1));
    if (rows.every((r) => r >= 0)) numaDistance = rows.map((a) => rows.map((b) => distance[a]![b]!));
  }
  return { origin: raw.origin, cpus: hostCpus, sockets: sockets.size, cores: cores.size, l3Groups: l3s.size, numaDistance, cpuInfo: raw.cpuInfo, refs };
}

/**
 * The shape of a model file, or an InputError naming the first element that
 * does not fit it: every socket the same number of cores and L3 groups, every
 * L3 group the same number of cores, every core the same number of threads (1 or 2).
 */
export function hostShape(host: HostTopology): HostShape {
  const coresOfSocket = new Map<number, Set<number>>();
  const l3sOfSocket = new Map<number, Set<number>>();
  const coresOfL3 = new Map<number, Set<number>>();
  const threadsOfCore = new Map<number, number>();
  const socketOfCore = new Map<number, number>();
  const socketOfL3 = new Map<number, number>();
  const add = (m: Map<number, Set<number>>, k: number, v: number) => {
    const s = m.get(k) ?? new Set<number>();
    s.add(v);
    m.set(k, s);
  };
  for (const c of host.cpus) {
    const s0 = socketOfCore.get(c.core);
    if (s0 !== undefined && s0 !== c.socket) throw fail(host.refs.core[c.core]!, `a core whose threads are all in one package`, `threads in packages ${s0} and ${c.socket}`);
    socketOfCore.set(c.core, c.socket);
    const l0 = socketOfL3.get(c.l3);
    if (l0 !== undefined && l0 !== c.socket) throw fail(host.refs.l3[c.l3]!, `an L3 cache shared within one package`, `an L3 shared by packages ${l0} and ${c.socket}`);
    socketOfL3.set(c.l3, c.socket);
    add(coresOfSocket, c.socket, c.core);
    add(l3sOfSocket, c.socket, c.l3);
    add(coresOfL3, c.l3, c.core);
    threadsOfCore.set(c.core, (threadsOfCore.get(c.core) ?? 0) + 1);
  }
  const uniform = <K>(m: Map<number, K>, size: (v: K) => number, refs: ElementRef[], what: string, per: string): number => {
    let first: { key: number; n: number } | undefined;
    for (const [key, v] of m) {
      const n = size(v);
      if (!first) first = { key, n };
      else if (n !== first.n) {
        throw fail(refs[key]!, `${first.n} ${what} per ${per} like every other ${per} (locksim models one shape per machine; ${refs[first.key]!.name} has ${first.n})`, String(n));
      }
    }
    return first?.n ?? 0;
  };
  const coresPerSocket = uniform(coresOfSocket, (s) => s.size, host.refs.socket, 'cores', 'package');
  const l3GroupsPerSocket = uniform(l3sOfSocket, (s) => s.size, host.refs.socket, 'L3 groups', 'package');
  uniform(coresOfL3, (s) => s.size, host.refs.l3, 'cores', 'L3 group');
  const threadsPerCore = uniform(threadsOfCore, (n) => n, host.refs.core, 'threads', 'core');
  if (threadsPerCore > 2) throw fail(host.refs.core[0]!, 'at most 2 threads per core', String(threadsPerCore));
  return { sockets: host.sockets, coresPerSocket, threadsPerCore, l3GroupsPerSocket };
}

// ---------------------------------------------------------------------------
// sysfs

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** /proc/cpuinfo fields of the first processor, plus the best clock the host tells. */
function readCpuInfo(root: string): HostCpuInfo {
  const cpuinfoPath = join(root, 'proc/cpuinfo');
  const text = readText(cpuinfoPath) ?? '';
  const first = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string): string | null => {
    const m = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first);
    return m ? m[1]!.trim() : null;
  };
  const num = (s: string | null) => (s === null || s === '' || Number.isNaN(Number(s)) ? null : Number(s));
  const model = field('model name');
  let ghz: SourcedNumber | null = null;
  const maxKhz = num(readText(join(root, 'sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq'))?.trim() ?? null);
  const mhz = num(field('cpu MHz'));
  if (maxKhz && maxKhz > 0) ghz = { value: round(maxKhz / 1e6, 3), source: `cpufreq cpuinfo_max_freq of cpu0 on this host (${maxKhz} kHz)` };
  else if (mhz && mhz > 0) ghz = { value: round(mhz / 1000, 3), source: `/proc/cpuinfo 'cpu MHz' ${mhz} on this host (the clock when read; no cpufreq maximum available)` };
  else ghz = ghzFromModelName(model);
  return { vendorId: field('vendor_id'), model, family: num(field('cpu family')), modelNumber: num(field('model')), stepping: num(field('stepping')), ghz };
}

function ghzFromModelName(model: string | null): SourcedNumber | null {
  const m = model ? /@\s*([\d.]+)\s*GHz/i.exec(model) : null;
  return m ? { value: Number(m[1]), source: `base clock in the CPU model name "${model}"` } : null;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Reads the topology under `root` (default `/`): the online CPUs of
 * /sys/devices/system/cpu, their package, core siblings and L3 sharing, the
 * NUMA distances of /sys/devices/system/node, and /proc/cpuinfo.
 */
export function readSysfsTopology(root = '/'): HostTopology {
  const cpuDir = join(root, 'sys/devices/system/cpu');
  const origin = join(root, 'sys');
  const refs = new Map<string, ElementRef>();
  const at = (file: string, name: string): ElementRef => ({ file, line: 1, column: 1, name });
  let entries: string[];
  try {
    entries = readdirSync(cpuDir);
  } catch {
    throw new InputError({ file: cpuDir, line: 1, column: 1, field: '(directory)', expected: 'a readable sysfs cpu directory (Linux)', got: 'nothing there' });
  }
  const onlineText = readText(join(cpuDir, 'online'));
  const online = onlineText === null ? null : parseCpuList(onlineText);
  const cpuNumbers = entries
    .map((e) => /^cpu(\d+)$/.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((n) => (online ? online.includes(n) : existsSync(join(cpuDir, `cpu${n}`, 'topology'))))
    .sort((a, b) => a - b);
  if (cpuNumbers.length === 0) throw new InputError({ file: cpuDir, line: 1, column: 1, field: 'cpu*', expected: 'at least one online cpu with a topology directory', got: 'none' });

  // NUMA node of each cpu, from node*/cpulist.
  const nodeDir = join(root, 'sys/devices/system/node');
  const nodeOfCpu = new Map<number, number>();
  const nodes: number[] = [];
  const rows: number[][] = [];
  let nodeEntries: string[] = [];
  try {
    nodeEntries = readdirSync(nodeDir);
  } catch {
    /* no NUMA information: one node assumed */
  }
  for (const n of nodeEntries.map((e) => /^node(\d+)$/.exec(e)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b)) {
    const listFile = join(nodeDir, `node${n}`, 'cpulist');
    const list = parseCpuList(readText(listFile) ?? '');
    if (list === null) throw new InputError({ file: listFile, line: 1, column: 1, field: `node${n} cpulist`, expected: 'a cpu list like 0-3,8' });
    for (const c of list) nodeOfCpu.set(c, n);
    const distFile = join(nodeDir, `node${n}`, 'distance');
    const distText = readText(distFile);
    if (distText === null) continue;
    const row = distText.trim().split(/\s+/).map(Number);
    if (row.some((d) => !Number.isInteger(d) || d <= 0)) throw new InputError({ file: distFile, line: 1, column: 1, field: `node${n} distance`, expected: 'positive whole numbers separated by spaces', got: JSON.stringify(distText.trim()) });
    nodes.push(n);
    rows.push(row);
  }
  const nodeDistance = nodes.length > 0 && rows.every((r) => r.length === nodes.length) ? { nodes, distance: rows } : null;

  const cpus: RawCpu[] = [];
  for (const n of cpuNumbers) {
    const topo = join(cpuDir, `cpu${n}`, 'topology');
    const pkgFile = join(topo, 'physical_package_id');
    const pkgText = readText(pkgFile);
    const pkg = pkgText === null ? NaN : Number(pkgText.trim());
    if (!Number.isInteger(pkg) || pkg < 0) {
      throw new InputError({ file: pkgFile, line: 1, column: 1, field: `cpu${n} physical_package_id`, expected: 'the package (socket) number of the cpu, 0 or more', got: pkgText === null ? 'no such file' : JSON.stringify(pkgText.trim()) });
    }
    const sibFile = join(topo, 'thread_siblings_list');
    const siblings = parseCpuList(readText(sibFile) ?? '');
    if (siblings === null || siblings.length === 0 || !siblings.includes(n)) {
      throw new InputError({ file: sibFile, line: 1, column: 1, field: `cpu${n} thread_siblings_list`, expected: `a cpu list including cpu${n}` });
    }
    // A core is identified by its set of sibling threads: core_id repeats
    // across packages (and across dies on some parts), the sibling set does not.
    const coreKey = `core:${siblings.filter((s) => online === null || online.includes(s)).join(',')}`;
    const packageKey = `package:${pkg}`;
    if (!refs.has(packageKey)) refs.set(packageKey, at(pkgFile, `package ${pkg} (cpu${n} physical_package_id)`));
    if (!refs.has(coreKey)) refs.set(coreKey, at(sibFile, `core of cpu${n} (thread_siblings_list ${siblings.join(',')})`));

    let l3Key: string | null = null;
    const cacheDir = join(cpuDir, `cpu${n}`, 'cache');
    let indexes: string[] = [];
    try {
      indexes = readdirSync(cacheDir).filter((e) => /^index\d+$/.test(e));
    } catch {
      /* no cache information: the package is the L3 group */
    }
    for (const idx of indexes.sort()) {
      if (readText(join(cacheDir, idx, 'level'))?.trim() !== '3') continue;
      const sharedFile = join(cacheDir, idx, 'shared_cpu_list');
      const shared = parseCpuList(readText(sharedFile) ?? '');
      if (shared === null || !shared.includes(n)) throw new InputError({ file: sharedFile, line: 1, column: 1, field: `cpu${n} L3 shared_cpu_list`, expected: `a cpu list including cpu${n}` });
      l3Key = `l3:${shared.join(',')}`;
      if (!refs.has(l3Key)) refs.set(l3Key, at(sharedFile, `L3 of cpu${n} (shared_cpu_list ${shared.join(',')})`));
      break;
    }
    cpus.push({ cpu: n, packageKey, coreKey, l3Key, numaNode: nodeOfCpu.get(n) ?? null });
  }
  const host = densify({ origin, cpus, refs, nodeDistance, cpuInfo: readCpuInfo(root) });
  // Some kernels expose no cache information (a Firecracker guest seen here:
  // no cpu*/cache directory), and then nothing in sysfs tells the L3 groups.
  if (cpus.every((c) => c.l3Key === null)) host.l3Assumed = `${join(cpuDir, `cpu${cpuNumbers[0]}`, 'cache')} tells no L3`;
  return host;
}

// ---------------------------------------------------------------------------
// hwloc XML

type XmlNode = Record<string, unknown>;
/** fast-xml-parser, loaded on first use (only `host topology --from-xml` needs it; every command would pay for it at start). */
let xmlParser: typeof import('fast-xml-parser') | undefined;
function fxp(): typeof import('fast-xml-parser') {
  return (xmlParser ??= createRequire(import.meta.url)('fast-xml-parser') as typeof import('fast-xml-parser'));
}

function lineColAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}

function asArray(v: unknown): XmlNode[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is XmlNode => x !== null && typeof x === 'object');
}

/** Lowest set bit of an hwloc bitmap such as `0x00000003` or `0xffffffff,0x00000001`. */
function lowestBit(mask: string | undefined): number | null {
  if (!mask) return null;
  const words = mask.split(',').map((w) => w.replace(/^0x/i, ''));
  if (words.some((w) => !/^[0-9a-f]*$/i.test(w))) return null;
  // Words are 32-bit, most significant first.
  const v = BigInt('0x' + (words.map((w) => w.padStart(8, '0')).join('') || '0'));
  if (v === 0n) return null;
  let i = 0;
  while (((v >> BigInt(i)) & 1n) === 0n) i++;
  return i;
}

/**
 * Reads an hwloc XML export (hwloc 2.x, and 1.x's Socket objects): Package,
 * L3Cache, Core and PU objects in whatever nesting (Die and Group objects in
 * between are passed through), NUMA distances from `distances2` when present.
 * `file` names the input in error messages.
 */
export function parseHwlocXml(text: string, file: string): HostTopology {
  if (text.trim() === '') throw new InputError({ file, line: 1, column: 1, field: '(xml)', expected: 'an hwloc topology (`lstopo --of xml FILE`)', got: 'an empty file' });
  const { XMLParser, XMLValidator } = fxp();
  const META = XMLParser.getMetaDataSymbol() as unknown as string;
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new InputError({ file, line: valid.err.line, column: valid.err.col, field: '(xml)', expected: 'well-formed XML', got: valid.err.msg });
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseAttributeValue: false,
    parseTagValue: false,
    captureMetaData: true,
    isArray: (name) => ['object', 'info', 'distances2', 'distances'].includes(name),
  });
  let doc: XmlNode;
  try {
    doc = parser.parse(text) as XmlNode;
  } catch (e) {
    // Well-formed to the validator but refused by the parser: a DOCTYPE it
    // cannot read (e.g. a second one) or nesting deeper than its limit.
    throw xmlParserError(text, file, (e as Error).message);
  }
  const top = doc['topology'] as XmlNode | undefined;
  if (!top || typeof top !== 'object') {
    const rootName = Object.keys(doc).find((k) => !k.startsWith('?')) ?? 'nothing';
    throw new InputError({ file, line: 1, column: 1, field: '(root element)', expected: 'an hwloc topology (<topology>, from `lstopo --of xml`)', got: `<${rootName}>` });
  }
  const refOf = (node: XmlNode, name: string): ElementRef => {
    const meta = (node as Record<string, unknown>)[META] as { startIndex?: number } | undefined;
    const pos = meta?.startIndex !== undefined ? lineColAt(text, meta.startIndex) : { line: 1, column: 1 };
    return { file, ...pos, name };
  };
  const describe = (node: XmlNode): string => {
    const type = String(node['@_type']);
    const os = node['@_os_index'];
    const gp = node['@_gp_index'];
    return `${type}${os !== undefined ? ` os_index=${String(os)}` : ''}${gp !== undefined ? ` gp_index=${String(gp)}` : ''}`;
  };

  const refs = new Map<string, ElementRef>();
  const cpus: RawCpu[] = [];
  const info: Record<string, string> = {};
  const seenPu = new Set<number>();
  let cpuModelFromPackage = false;

  interface Ctx {
    pkg: string | null;
    core: XmlNode | null;
    coreKey: string | null;
    l3: string | null;
  }
  const walk = (node: XmlNode, ctx: Ctx): void => {
    const type = String(node['@_type'] ?? '');
    const key = `${type}#${String(node['@_gp_index'] ?? refs.size)}`;
    let next = ctx;
    if (type === 'Package' || type === 'Socket') {
      next = { ...ctx, pkg: key };
      refs.set(key, refOf(node, describe(node)));
      // CPU description: the first package's infos (every package of a
      // supported machine is the same part).
      if (!cpuModelFromPackage) {
        for (const i of asArray(node['info'])) info[String(i['@_name'])] = String(i['@_value'] ?? '');
        cpuModelFromPackage = true;
      }
    } else if (type === 'L3Cache' || (type === 'Cache' && String(node['@_depth']) === '3')) {
      next = { ...ctx, l3: key };
      refs.set(key, refOf(node, describe(node)));
    } else if (type === 'Core') {
      if (ctx.pkg === null) throw fail(refOf(node, describe(node)), 'a Core inside a Package (locksim places every core on a socket)', 'a Core without a Package');
      next = { ...ctx, core: node, coreKey: key };
      refs.set(key, refOf(node, describe(node)));
    } else if (type === 'PU') {
      const ref = refOf(node, describe(node));
      const os = Number(node['@_os_index']);
      if (!Number.isInteger(os) || os < 0) throw fail(ref, 'an os_index attribute (the Linux cpu number)', String(node['@_os_index']));
      if (ctx.pkg === null) throw fail(ref, 'a PU inside a Package (locksim places every cpu on a socket)', 'a PU without a Package');
      if (seenPu.has(os)) throw fail(ref, 'each PU os_index once', `os_index ${os} again`);
      seenPu.add(os);
      // A PU hwloc found no core for is a core of its own.
      const coreKey = ctx.coreKey ?? `PUcore#${os}`;
      if (!ctx.coreKey) refs.set(coreKey, ref);
      cpus.push({ cpu: os, packageKey: ctx.pkg, coreKey, l3Key: ctx.l3, numaNode: lowestBit(node['@_nodeset'] as string | undefined) });
    }
    for (const child of asArray(node['object'])) walk(child, next);
  };
  for (const o of asArray(top['object'])) walk(o, { pkg: null, core: null, coreKey: null, l3: null });
  if (cpus.length === 0) throw new InputError({ file, line: 1, column: 1, field: 'PU', expected: 'at least one PU object', got: 'none' });

  // Machine-level infos (e.g. synthetic topologies annotated with a vendor) fill what packages lack.
  for (const o of asArray(top['object'])) for (const i of asArray(o['info'])) info[String(i['@_name'])] ??= String(i['@_value'] ?? '');

  // NUMA latencies: hwloc 2 `distances2` with type NUMANode and os indexing.
  let nodeDistance: RawReading['nodeDistance'] = null;
  for (const d of asArray(top['distances2'])) {
    if (d['@_type'] !== 'NUMANode') continue;
    const kind = Number(d['@_kind'] ?? 0);
    // kind bit 2 (HWLOC_DISTANCES_KIND_MEANS_LATENCY = 4); bandwidth matrices are not SLIT.
    if ((kind & 4) === 0) continue;
    const n = Number(d['@_nbobjs']);
    const textOf = (v: unknown) => (v !== null && typeof v === 'object' ? String((v as XmlNode)['#text'] ?? '') : String(v ?? ''));
    const nodes = textOf(d['indexes']).trim().split(/\s+/).map(Number);
    const values = textOf(d['u64values']).trim().split(/\s+/).map(Number);
    if (!Number.isInteger(n) || nodes.length !== n || values.length !== n * n || values.some((v) => !Number.isInteger(v) || v <= 0)) {
      throw fail(refOf(d, 'distances2'), `${n} indexes and ${n}x${n} positive distances`, `${nodes.length} indexes, ${values.length} values`);
    }
    nodeDistance = { nodes, distance: nodes.map((_, i) => values.slice(i * n, (i + 1) * n)) };
    break;
  }

  const num = (s: string | undefined) => (s === undefined || s === '' || Number.isNaN(Number(s)) ? null : Number(s));
  const model = info['CPUModel'] ?? null;
  const cpuInfo: HostCpuInfo = {
    vendorId: info['CPUVendor'] ?? null,
    model,
    family: num(info['CPUFamilyNumber']),
    modelNumber: num(info['CPUModelNumber']),
    stepping: num(info['CPUStepping']),
    ghz: ghzFromModelName(model),
  };
  return densify({ origin: file, cpus, refs, nodeDistance, cpuInfo });
}

/** fast-xml-parser's default limit on nested elements; lstopo output nests about ten deep. */
const MAX_XML_DEPTH = 100;

/** The parser's exception as a located InputError (its messages carry no position). */
function xmlParserError(text: string, file: string, message: string): InputError {
  let offset = 0;
  let expected = 'an hwloc topology the XML parser accepts';
  if (/DOCTYPE/i.test(message)) {
    const all = [...text.matchAll(/<!DOCTYPE/gi)].map((m) => m.index);
    offset = all[1] ?? all[0] ?? 0;
    expected = 'at most one well-formed <!DOCTYPE ...> before the root element';
  } else if (/nested/i.test(message)) {
    expected = `elements nested at most ${MAX_XML_DEPTH} deep`;
    let depth = 0;
    // Start and end tags in order; self-closing tags, comments and declarations do not nest.
    for (const m of text.matchAll(/<(\/?)([A-Za-z_][^\s/>]*)[^>]*?(\/?)>/g)) {
      if (m[1]) depth--;
      else if (!m[3]) depth++;
      if (depth > MAX_XML_DEPTH) {
        offset = m.index;
        break;
      }
    }
  }
  return new InputError({ file, ...lineColAt(text, offset), field: '(xml)', expected, got: message });
}

export function readHwlocXmlFile(file: string): HostTopology {
  const text = readInputFile(file, 'a readable hwloc XML file (`lstopo --of xml FILE`)');
  return parseHwlocXml(text, file);
}

// ---------------------------------------------------------------------------
// From a reading to a model

type Vendor = 'intel' | 'amd';

/** Placeholder numbers per vendor, each from docs/sources.md section 4 with its origin. */
const PLACEHOLDER_ORIGIN: Record<Vendor, Record<'smtSibling' | 'sameL3' | 'crossL3' | 'crossSocket' | 'pauseCycles', { value: number; origin: string }>> = {
  intel: {
    smtSibling: { value: 7.6, origin: 'Xeon 8275CL SMT-sibling median, nviennot/core-to-core-latency community results' },
    sameL3: { value: 46.6, origin: 'Xeon 8275CL same-socket median, nviennot/core-to-core-latency community results' },
    // No Intel part in the community results has several L3 groups per socket.
    crossL3: { value: 99.3, origin: 'EPYC 9654 cross-CCX median (no Intel reference with several L3 groups per socket), nviennot/core-to-core-latency community results' },
    crossSocket: { value: 134.1, origin: 'Xeon 8275CL cross-socket median, nviennot/core-to-core-latency community results' },
    pauseCycles: { value: 140, origin: 'Intel optimization manual: up to ~140 cycles on Skylake-SP and later server cores' },
  },
  amd: {
    smtSibling: { value: 10.3, origin: 'EPYC 9454 SMT-sibling median, nviennot/core-to-core-latency community results' },
    sameL3: { value: 27.1, origin: 'EPYC 9654 same-CCX median, nviennot/core-to-core-latency community results' },
    crossL3: { value: 99.3, origin: 'EPYC 9654 cross-CCX median, nviennot/core-to-core-latency community results' },
    crossSocket: { value: 191.6, origin: 'EPYC 9654 cross-socket median, nviennot/core-to-core-latency community results' },
    pauseCycles: { value: 64, origin: 'dotnet/runtime#99991: 64 cycles on Zen 4' },
  },
};

export const PLACEHOLDER_NOTE = 'placeholder until `locksim calibrate`';

function placeholder(vendor: Vendor, what: keyof (typeof PLACEHOLDER_ORIGIN)['amd']): SourcedNumber {
  const p = PLACEHOLDER_ORIGIN[vendor][what];
  return { value: p.value, source: `${PLACEHOLDER_NOTE}: ${p.origin}` };
}

/** Microarchitecture from family/model numbers; only the server parts this project models are named. */
export function microarchitecture(vendor: Vendor, family: number | null, model: number | null, stepping: number | null): string {
  const unknown = `unknown (family ${family ?? '?'} model ${model ?? '?'})`;
  if (family === null || model === null) return unknown;
  if (vendor === 'amd') {
    if (family === 0x17) return model < 0x30 ? 'zen' : 'zen2';
    if (family === 0x19) return (model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0x7f) || (model >= 0xa0 && model <= 0xaf) ? 'zen4' : 'zen3';
    if (family === 0x1a) return 'zen5';
    return unknown;
  }
  if (family !== 6) return unknown;
  const intel: Record<number, string> = { 0x3f: 'haswell', 0x4f: 'broadwell', 0x6a: 'icelake', 0x6c: 'icelake', 0x8f: 'sapphirerapids', 0xcf: 'emeraldrapids', 0xad: 'graniterapids', 0xae: 'graniterapids', 0xaf: 'sierraforest' };
  if (model === 0x55) return stepping !== null && stepping >= 5 ? 'cascadelake' : 'skylake';
  return intel[model] ?? unknown;
}

export interface ModelOptions {
  /** Model name (default `host`). */
  name?: string;
  /** For inputs that do not say (hwloc synthetic topologies): intel or amd. */
  vendor?: Vendor;
  /** A pingpong measurement of this host: its medians per pair kind replace the latency placeholders. */
  pingpong?: PingpongEvidence;
  /** A wakeup measurement of this host: the model's `wakeup` (wake-up latency by where the wakee runs). */
  wakeup?: WakeupEvidence;
}

/** What the model needs from a wakeup measurement file (src/host/measure.ts loads and validates it). */
export interface WakeupEvidence {
  file: string;
  startedAt: string;
  /** The measured host's cpu count (a model of another host must not take it). */
  cpus: number;
  /** Probe runs behind each median. */
  runs: number;
  /** Runnable tasks of other work before the runs (mean), when the file says: the placements depend on it. */
  otherRunnable?: number;
  localNs: number;
  remoteNs: number;
  remoteGapNs: number;
  remoteByGap: { gapNs: number; p50Ns: number }[];
  /** The host's halt polling, when the gap sweep shows it (src/host/measure.ts, haltPollEvidence). */
  haltPoll?: { haltedNs: number; maxNs: number; lastFastGapNs: number; firstSlowGapNs: number };
  waitOnPrevious: { share: number; samples: number };
  preemptOnPrevious: { share: number; samples: number };
  /** The waker's FUTEX_WAKE call, onto its own cpu, onto the other, and with no waiter (medians over runs); absent in older files. */
  wakeCall?: { localNs: number; remoteNs: number; noneNs: number };
  /** Time an IPI (membarrier) took from a thread busy in user mode on the other cpu, per call; absent in older files. */
  ipiStolen?: StolenEvidence;
  /** The same for an expedited RCU grace period's IPI (an umount; the probe needs root for it). */
  gracePeriodStolen?: StolenEvidence;
  /**
   * What loading another address space adds to a context switch (the probe's
   * addressSpace rings: processes less threads, medians over runs of each
   * run's median batch), back to the one left just before (ring of 2) and
   * to another (ring of 3), with each ring's per-hand-off medians; absent in
   * older files.
   */
  addressSpace?: { recentNs: number; otherNs: number; handoffNs: { threads2: number; processes2: number; threads3: number; processes3: number } };
}

/** Stolen time per call of an interrupt source (the wakeup probe's `interrupts`). */
export interface StolenEvidence {
  /** Median over runs of each run's median batch. */
  ns: number;
  minNs: number;
  maxNs: number;
  /** The source call's own median time (the membarrier or umount2 call). */
  callNs: number;
  /** Calls per run. */
  calls: number;
}

/** What the model needs from a pingpong measurement file (src/host/measure.ts loads and validates it). */
export interface PingpongEvidence {
  file: string;
  startedAt: string;
  /** The host's cpus as the measurement recorded them. */
  cpuMap: HostCpu[];
  hostSummary: { sockets: number; cores: number; cpus: number; l3Groups: number };
  cpus: number[];
  matrixNs: (number | null)[][];
  /** Where in the measurement file the host summary is, for a mismatch error. */
  hostRef: ElementRef;
}

export type PairKind = 'smtSibling' | 'sameL3' | 'crossL3' | 'crossSocket';

/** Which coreToCore entry a pair of cpus measures. */
export function pairKind(a: HostCpu, b: HostCpu): PairKind {
  if (a.socket !== b.socket) return 'crossSocket';
  if (a.core === b.core) return 'smtSibling';
  if (a.l3 !== b.l3) return 'crossL3';
  return 'sameL3';
}

/** Medians of a pingpong matrix per pair kind, with the number of ordered pairs behind each. */
export function pingpongMedians(ev: Pick<PingpongEvidence, 'cpuMap' | 'cpus' | 'matrixNs'>): Partial<Record<PairKind, { value: number; pairs: number }>> {
  const byCpu = new Map(ev.cpuMap.map((c) => [c.cpu, c]));
  const values: Record<PairKind, number[]> = { smtSibling: [], sameL3: [], crossL3: [], crossSocket: [] };
  ev.cpus.forEach((ci, i) => {
    ev.cpus.forEach((cj, j) => {
      const v = ev.matrixNs[i]?.[j];
      const a = byCpu.get(ci);
      const b = byCpu.get(cj);
      if (i === j || v === null || v === undefined || !a || !b) return;
      values[pairKind(a, b)].push(v);
    });
  });
  const out: Partial<Record<PairKind, { value: number; pairs: number }>> = {};
  for (const k of Object.keys(values) as PairKind[]) if (values[k].length > 0) out[k] = { value: round(median(values[k]), 2), pairs: values[k].length };
  return out;
}

function vendorOf(host: HostTopology, override: Vendor | undefined): Vendor {
  if (override) return override;
  const id = host.cpuInfo.vendorId;
  if (id === 'GenuineIntel') return 'intel';
  if (id === 'AuthenticAMD') return 'amd';
  throw new InputError({
    file: host.origin,
    line: 1,
    column: 1,
    field: 'cpu vendor',
    expected: 'GenuineIntel or AuthenticAMD (locksim models Intel mesh and AMD chiplet parts; for a synthetic topology pass --vendor intel|amd)',
    got: id === null ? 'no vendor in the input' : JSON.stringify(id),
  });
}

/** A near-square tile grid with room for every core: columns = ceil(sqrt(n)). */
export function meshGrid(cores: number): { columns: number; rows: number } {
  const columns = Math.ceil(Math.sqrt(cores));
  return { columns, rows: Math.ceil(cores / columns) };
}

/** Builds a hardware model of the host reading; the result passes hardwareModelSchema. */
export function hostToModel(host: HostTopology, options: ModelOptions = {}): HardwareModel {
  const shape = hostShape(host);
  const vendor = vendorOf(host, options.vendor);
  const ci = host.cpuInfo;
  // Intel server parts have a mesh per socket; AMD parts a CCX per L3 and an IO die between them.
  const fabric: HardwareModel['fabric'] = vendor === 'intel' ? { kind: 'mesh', mesh: meshGrid(shape.coresPerSocket) } : { kind: 'chiplet' };

  const measured = options.pingpong ? checkedMedians(options.pingpong, host) : {};
  const latency = (k: PairKind): SourcedNumber => {
    const m = measured[k];
    if (m && options.pingpong) {
      return { value: m.value, source: `${options.pingpong.file}: median of ${m.pairs} one-way ${k} cpu pairs (pingpong, CAS round trip / 2) measured on this host ${options.pingpong.startedAt}` };
    }
    return placeholder(vendor, k);
  };
  const coreToCore: HardwareModel['coreToCore'] = { sameL3: latency('sameL3') };
  if (shape.threadsPerCore > 1) coreToCore.smtSibling = latency('smtSibling');
  if (shape.l3GroupsPerSocket > 1) coreToCore.crossL3 = latency('crossL3');
  if (shape.sockets > 1) coreToCore.crossSocket = latency('crossSocket');

  const numaDistance = host.numaDistance ?? Array.from({ length: shape.sockets }, (_, a) => Array.from({ length: shape.sockets }, (_, b) => (a === b ? 10 : 20)));
  const cpuModel = ci.model && ci.model.trim() !== '' ? ci.model.trim() : 'unknown';
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const model: HardwareModel = {
    name: options.name ?? 'host',
    description:
      `${cpuModel}: ${plural(shape.sockets, 'socket')}, ${shape.coresPerSocket} cores per socket in ${plural(shape.l3GroupsPerSocket, 'L3 group')}, ` +
      `${plural(shape.threadsPerCore, 'thread')} per core; read from ${host.origin}` +
      (host.numaDistance || shape.sockets === 1 ? '' : ' (no NUMA distances there: 10 local, 20 remote assumed)'),
    cpu: {
      vendor,
      model: cpuModel,
      microarchitecture: microarchitecture(vendor, ci.family, ci.modelNumber, ci.stepping),
      ghz: ci.ghz ?? { value: 2, source: `${PLACEHOLDER_NOTE}: ${host.origin} gives no clock` },
    },
    topology: { ...shape, numaDistance, cpuNumbering: 'linux' },
    fabric,
    coreToCore,
    pause: { cycles: placeholder(vendor, 'pauseCycles') },
  };
  if (options.wakeup) model.wakeup = wakeupModel(options.wakeup, host);
  if (shape.threadsPerCore > 1) {
    model.smt = { siblingSlowdown: { value: 1.3, source: `${PLACEHOLDER_NOTE}: Netflix mount-lock blog, HT off improved launch latency 20-30% on m7i.metal-24xl` } };
  }
  // The reading is ours, so a model failing the schema is a bug here, not bad input.
  return hardwareModelSchema.parse(model);
}

function wakeupModel(ev: WakeupEvidence, host: HostTopology): NonNullable<HardwareModel['wakeup']> {
  if (ev.cpus !== host.cpus.length) {
    throw new InputError({ file: ev.file, line: 1, column: 1, field: 'host.topology.cpus', expected: `a wakeup measurement of a host like this one (${host.cpus.length} cpus)`, got: String(ev.cpus) });
  }
  const load = ev.otherRunnable !== undefined ? `, ${ev.otherRunnable} other runnable tasks on average` : '';
  const at = `${ev.file} (probes/wakeup, measured on this host ${ev.startedAt}; medians of ${ev.runs} runs${load})`;
  return {
    localNs: { value: ev.localNs, source: `${at}: median futex wake to run with both threads on one cpu, the waker sleeping right after the wake` },
    remoteNs: {
      value: ev.remoteNs,
      source: `${at}: median futex wake to run onto the other cpu after it idled ${us(ev.remoteGapNs)} (by idle gap: ${ev.remoteByGap.map((g) => `${us(g.gapNs)} -> ${us(g.p50Ns)}`).join(', ')})`,
    },
    waitOnPreviousShare: { value: round(ev.waitOnPrevious.share, 3), source: `${at}: share of ${ev.waitOnPrevious.samples} wake-ups that ran on their previous cpu, busy with the waker, while the other cpu idled (mainline select_idle_sibling() would take the idle one)` },
    preemptShare: { value: round(ev.preemptOnPrevious.share, 3), source: `${at}: share of ${ev.preemptOnPrevious.samples} wake-ups onto their previous cpu, busy with another thread spinning in user mode, that ran there within 1 ms (wake-up preemption, wakeup_preempt_fair(); a time slice is 0.75-3 ms)` },
    ...(ev.wakeCall
      ? { ipiSendNs: { value: Math.max(0, Math.round(ev.wakeCall.remoteNs - ev.wakeCall.noneNs)), source: `${at}: the waker's FUTEX_WAKE call onto the other, idle cpu less the call with no waiter (${us(ev.wakeCall.remoteNs)} - ${us(ev.wakeCall.noneNs)}; onto its own cpu ${us(ev.wakeCall.localNs)}, where the wakee may preempt it inside the call): what a wake-up onto another cpu costs its waker, mostly the IPI's send (on a virtual machine, an exit to the host)` } }
      : {}),
    ...(ev.haltPoll
      ? {
        haltPoll: {
          haltedNs: { value: ev.haltPoll.haltedNs, source: `${at}: median futex wake to run onto the other cpu after it idled ${us(ev.remoteByGap[ev.remoteByGap.length - 1]!.gapNs)}, the longest gap measured: the host had blocked the idle vCPU and woke its thread` },
          maxNs: { value: ev.haltPoll.maxNs, source: `${at}: the gaps measured shortest first, wake-ups stayed fast (${us(ev.remoteNs)} at ${us(ev.remoteGapNs)}) up to ${us(ev.haltPoll.lastFastGapNs)} of idle and were slow from ${us(ev.haltPoll.firstSlowGapNs)} on: the host's ceiling on its polling window (KVM's halt_poll_ns) is between the two; the midpoint` },
          growStartNs: { value: 10000, source: 'KVM default halt_poll_ns_grow_start (virt/kvm/kvm_main.c; Documentation/virt/kvm/halt-polling.rst): the host\'s setting is not visible from the guest' },
          grow: { value: 2, source: 'KVM default halt_poll_ns_grow (virt/kvm/kvm_main.c; Documentation/virt/kvm/halt-polling.rst): the host\'s setting is not visible from the guest' },
          shrink: { value: 2, source: 'KVM default halt_poll_ns_shrink since commit aeb1b22a3ac8 "KVM: Enable halt polling shrink parameter by default" (0, a reset to 0, before); the host\'s setting is not visible from the guest; docs/validation.md has the statements with 0' },
        },
      }
      : {}),
    ...(ev.ipiStolen
      ? { ipiNs: { value: Math.round(ev.ipiStolen.ns), source: `${at}: time a thread spinning in user mode on the other cpu lost per IPI, ${ev.ipiStolen.calls} membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) calls 20 us apart (median batch; batches ${us(ev.ipiStolen.minNs)}-${us(ev.ipiStolen.maxNs)}; the call itself ${us(ev.ipiStolen.callNs)})` } }
      : {}),
    ...(ev.addressSpace
      ? {
        addressSpaceSwitch: {
          recentNs: { value: ev.addressSpace.recentNs, source: `${at}: a token round a ring of 2 processes on one cpu less the same ring of 2 threads, per hand-off (${us(ev.addressSpace.handoffNs.processes2)} - ${us(ev.addressSpace.handoffNs.threads2)}): a context switch back to the address space the cpu left just before` },
          otherNs: { value: ev.addressSpace.otherNs, source: `${at}: the same with rings of 3 (${us(ev.addressSpace.handoffNs.processes3)} - ${us(ev.addressSpace.handoffNs.threads3)}): a context switch to an address space the cpu left two switches ago` },
        },
      }
      : {}),
    ...(ev.gracePeriodStolen
      ? {
        rcuExpeditedIpiNs: { value: Math.round(ev.gracePeriodStolen.ns), source: `${at}: time a thread spinning in user mode on the other cpu lost per umount2() of a bind mount, whose synchronize_rcu_expedited() IPIs it (rcu_exp_handler), ${ev.gracePeriodStolen.calls} calls 20 us apart (median batch; batches ${us(ev.gracePeriodStolen.minNs)}-${us(ev.gracePeriodStolen.maxNs)}; the umount itself ${us(ev.gracePeriodStolen.callNs)})` },
        busyUmountNs: { value: Math.round(ev.gracePeriodStolen.callNs), source: `${at}: median umount2() of a bind mount while a thread spins in user mode on the other cpu (an expedited RCU grace period with one busy cpu), ${ev.gracePeriodStolen.calls} calls 20 us apart` },
      }
      : {}),
  };
}

function checkedMedians(ev: PingpongEvidence, host: HostTopology) {
  const mine = { sockets: host.sockets, cores: host.cores, cpus: host.cpus.length, l3Groups: host.l3Groups };
  const theirs = ev.hostSummary;
  if (mine.sockets !== theirs.sockets || mine.cores !== theirs.cores || mine.cpus !== theirs.cpus || mine.l3Groups !== theirs.l3Groups) {
    const show = (s: typeof mine) => `${s.sockets} sockets, ${s.cores} cores, ${s.cpus} cpus, ${s.l3Groups} L3 groups`;
    throw fail(ev.hostRef, `a pingpong measurement of a host like this one (${show(mine)})`, show(theirs));
  }
  return pingpongMedians(ev);
}

/** One-line summary recorded with measurements: counts plus every cpu's place. */
export function topologySummary(host: HostTopology) {
  return { sockets: host.sockets, cores: host.cores, cpus: host.cpus.length, l3Groups: host.l3Groups, cpuMap: host.cpus };
}

export interface WriteModelOptions {
  /** The command that made the model, e.g. `locksim host topology --from sysfs --out x.yaml`. */
  command: string;
  /** When (default now); tests pass a fixed date. */
  date?: Date;
}

/** The YAML text of a model file, headed by a comment saying how and when it was made. */
export function modelFileText(model: HardwareModel, opts: WriteModelOptions): string {
  const date = (opts.date ?? new Date()).toISOString();
  const placeholders = JSON.stringify(model).includes(PLACEHOLDER_NOTE);
  const header = [
    `# ${model.name}: made by \`${opts.command}\` on ${date}.`,
    '# Topology as read from the host; every number with a source says where it came from.',
    ...(placeholders ? ['# Sources that say "placeholder" are published numbers of the same vendor, to be replaced by measurement.'] : []),
  ];
  // Written in the style of the hand-made model files: sourced numbers and
  // distance rows on one line each, so a diff shows one changed number per line.
  const doc = new Document(model);
  visit(doc, {
    Map(_, node) {
      if (node.items.length === 2 && node.items.every((p) => isScalar(p.key) && (p.key.value === 'value' || p.key.value === 'source'))) node.flow = true;
      if (node.items.every((p) => isScalar(p.key) && (p.key.value === 'columns' || p.key.value === 'rows'))) node.flow = true;
    },
    Seq(_, node) {
      if (node.items.every((i) => isSeq(i) || isScalar(i))) node.flow = true;
    },
  });
  return header.join('\n') + '\n' + doc.toString({ lineWidth: 0 });
}

/** Writes the model file atomically (a reader never sees half a file). */
export async function writeModelFile(model: HardwareModel, path: string, opts: WriteModelOptions = { command: "locksim host topology" }): Promise<void> {
  await atomicWrite(path, modelFileText(model, opts));
}
