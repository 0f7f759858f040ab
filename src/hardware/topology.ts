// The machine as a list of logical CPUs, each knowing its core, SMT thread,
// L3 group (CCX on AMD, whole socket on Intel mesh parts), socket and mesh
// tile. Built from a validated hardware model plus a scenario's restriction
// (fewer sockets, SMT off, fewer cores), which is how the blog's experiments
// were run: pinning to one socket, disabling HT, matching core counts.

import type { HardwareModel } from '../config/hardwareSchema.ts';
import { InputError } from '../config/errors.ts';

export interface LogicalCpu {
  /** Linux logical cpu number, dense 0..n-1 after restriction. */
  id: number;
  /** Physical core, dense 0..cores-1, socket-major. */
  core: number;
  /** SMT thread within the core (0 or 1). */
  thread: number;
  /** L3 group (CCX / socket-wide L3), dense 0..l3Groups-1. */
  l3: number;
  socket: number;
  /** Position of the core on its socket's mesh (0..columns*rows-1); 0 on chiplet parts. */
  tile: number;
}

export interface Topology {
  model: HardwareModel;
  cpus: LogicalCpu[];
  cores: number;
  l3Groups: number;
  sockets: number;
  /** siblings[cpu] = the other logical cpus on the same core. */
  siblings: number[][];
}

/** What a scenario may take away from a machine (docs/architecture.md, "Restrictions"). */
export interface Restriction {
  /** Use the first N sockets. */
  sockets?: number;
  /** false: one thread per core. */
  smt?: boolean;
  /** Use the first N cores, socket-major (after the socket restriction). */
  cores?: number;
}

/**
 * Turns a restriction violation into an InputError. The scenario loader passes
 * one that points at the offending line of the scenario file; without it the
 * error names the field only.
 */
export type RestrictionErrorFactory = (field: keyof Restriction, expected: string, got: string) => InputError;

const unlocated: RestrictionErrorFactory = (field, expected, got) =>
  new InputError({ file: '(scenario)', line: 1, column: 1, field: `machine.${field}`, expected, got });

export function buildTopology(model: HardwareModel, restriction: Restriction = {}, fail: RestrictionErrorFactory = unlocated): Topology {
  const t = model.topology;
  const sockets = restriction.sockets ?? t.sockets;
  if (!Number.isInteger(sockets) || sockets < 1 || sockets > t.sockets) {
    throw fail('sockets', `an integer from 1 to ${t.sockets} (${model.name} has ${t.sockets} socket${t.sockets === 1 ? '' : 's'})`, String(sockets));
  }
  if (restriction.smt === true && t.threadsPerCore === 1) {
    throw fail('smt', `false or no smt field (${model.name} has one thread per core)`, 'true');
  }
  const threadsPerCore = restriction.smt === false ? 1 : t.threadsPerCore;
  const available = sockets * t.coresPerSocket;
  const cores = restriction.cores ?? available;
  if (!Number.isInteger(cores) || cores < 1 || cores > available) {
    throw fail('cores', `an integer from 1 to ${available} (${model.name} with ${sockets} socket${sockets === 1 ? '' : 's'} has ${available} cores)`, String(cores));
  }

  const coresPerL3 = t.coresPerSocket / t.l3GroupsPerSocket;
  const tiles = model.fabric.kind === 'mesh' && model.fabric.mesh ? model.fabric.mesh.columns * model.fabric.mesh.rows : 0;

  // Linux enumerates these machines thread-major: all first threads of all
  // cores, then all second threads, so the siblings of cpu n are n and n+cores.
  const cpus: LogicalCpu[] = [];
  for (let thread = 0; thread < threadsPerCore; thread++) {
    for (let core = 0; core < cores; core++) {
      const socket = Math.floor(core / t.coresPerSocket);
      const inSocket = core % t.coresPerSocket;
      cpus.push({
        id: thread * cores + core,
        core,
        thread,
        l3: socket * t.l3GroupsPerSocket + Math.floor(inSocket / coresPerL3),
        socket,
        // Cores are spread evenly over the tile grid (the exact floorplan is not public per SKU).
        tile: tiles > 0 ? Math.floor((inSocket * tiles) / t.coresPerSocket) : 0,
      });
    }
  }
  const siblings = cpus.map((c) => {
    const others: number[] = [];
    for (let th = 0; th < threadsPerCore; th++) if (th !== c.thread) others.push(th * cores + c.core);
    return others;
  });
  const usedSockets = Math.floor((cores - 1) / t.coresPerSocket) + 1;
  const l3Groups = new Set(cpus.map((c) => c.l3)).size;
  return { model, cpus, cores, l3Groups, sockets: usedSockets, siblings };
}

/** One line for logs and result files, e.g. "r5.metal: 2 sockets, 48 cores, 96 cpus (SMT on), 2 L3 groups, mesh 6x5". */
export function describeTopology(t: Topology): string {
  const smt = t.cpus.length > t.cores ? 'SMT on' : 'SMT off';
  const f = t.model.fabric;
  const fabric = f.kind === 'mesh' && f.mesh ? `mesh ${f.mesh.columns}x${f.mesh.rows}` : f.kind;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return `${t.model.name}: ${plural(t.sockets, 'socket')}, ${plural(t.cores, 'core')}, ${plural(t.cpus.length, 'cpu')} (${smt}), ${plural(t.l3Groups, 'L3 group')}, ${fabric}`;
}
