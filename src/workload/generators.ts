// Synthetic launch traces: what containerd does per container for each
// runtime variant of docs/sources.md section 3, so a launch storm can be replayed
// without a real node. Each container runs its ops one after another starting
// at its arrival time (`header.containers[i].start_ns`); the ops carry no
// times of their own (durations come from the kernel model in the simulation).
//
// What the generated ops are (per container, per pass; L = image layers):
//   per-layer-idmap          L x (open_tree, mount_setattr, move_mount), mount_overlay, L x umount        2 passes
//   common-parent            open_tree, mount_setattr, move_mount (the layers' common parent), mount_overlay, umount   2 passes
//   common-parent-one-pass   pass 1 (inspection): mount_overlay only, not idmapped; pass 2 as common-parent
//   fsconfig-lowerdir-plus   L x (open_tree, mount_setattr), fsopen, L x fsconfig(lowerdir+, layer i),
//                            fsconfig(create, no layer), fsmount, move_mount (attaches the overlay), L x close_tree   2 passes
//   shifted-untar            mount_overlay                                                                  1 pass
// Pass 1 is the user-info inspection mount, pass 2 the rootfs. With
// `unmountInspection`, pass 1 ends with the unmount of its overlay (containerd's
// mount.WithTempMount unmounts the inspection mount when its function returns;
// a probe that runs one process per container does the same): one umount per
// container more, after the pass's own. Off by default, because neither the
// table in docs/sources.md nor the blog's count (B9: 20,200) has it. Not
// generated at all: the close of fds of trees already attached, mkdir/rmdir
// of the temporary mount points.

import { z } from 'zod';
import { RandomStreams } from '../engine/random.ts';
import { OP_CODE, OP_NAMES, TRACE_FORMAT, TRACE_VERSION, TraceOpsBuilder, type Trace, type TraceContainer, type TraceHeader } from './trace.ts';

export const RUNTIME_VARIANTS = ['per-layer-idmap', 'common-parent', 'common-parent-one-pass', 'fsconfig-lowerdir-plus', 'shifted-untar'] as const;
export type RuntimeVariant = (typeof RUNTIME_VARIANTS)[number];

/**
 * Options of `generateTrace`, as a zod schema so the scenario layer can embed
 * it (and report bad values with file positions).
 */
export const generateOptionsSchema = z
  .strictObject({
    variant: z.enum(RUNTIME_VARIANTS),
    containers: z.number().int().positive().max(100_000),
    /** Every container's image has this many layers (give this or imageMix). */
    layers: z.number().int().positive().max(10_000).optional(),
    /** Images drawn per container with these relative weights (give this or layers). */
    imageMix: z.array(z.strictObject({ layers: z.number().int().positive().max(10_000), weight: z.number().positive(), image: z.string().min(1).optional() })).min(1).optional(),
    arrival: z.discriminatedUnion('kind', [
      /** All containers start at time 0 (kubelet handing a node a burst of pods). */
      z.strictObject({ kind: z.literal('burst') }),
      /** Poisson arrivals: exponential gaps with mean 1/perSecond; the first container at 0. */
      z.strictObject({ kind: z.literal('rate'), perSecond: z.number().positive() }),
      /** Explicit start times, one per container, ns. */
      z.strictObject({ kind: z.literal('schedule'), atNs: z.array(z.number().finite().nonnegative()) }),
    ]),
    seed: z.union([z.string(), z.number()]),
    /**
     * Largest mount(2) option string the kernel copies (the `mountOptionLimitBytes`
     * of the kernel model). Images whose overlay options exceed it get a warning.
     */
    mountOptionLimitBytes: z.number().int().positive(),
    /**
     * Bytes of one lowerdir path in the overlay options. The default 66 puts the
     * limit at ~59 layers with 4096 bytes, near the ~60 layers of containerd
     * #2497; real lengths depend on the snapshotter root and snapshot ids.
     */
    layerPathBytes: z.number().int().positive().default(66),
    /** Pass 1's overlay unmounted at the end of pass 1 (variants with two passes). */
    unmountInspection: z.boolean().default(false),
  })
  .refine((o) => (o.layers === undefined) !== (o.imageMix === undefined), { message: 'exactly one of layers or imageMix', path: ['layers'] })
  .refine((o) => o.arrival.kind !== 'schedule' || o.arrival.atNs.length === o.containers, {
    message: 'one arrival time per container (arrival.atNs as long as containers)',
    path: ['arrival', 'atNs'],
  });
export type GenerateOptions = z.input<typeof generateOptionsSchema>;

/** Bytes of upperdir=...,workdir=... next to the lowerdirs (two snapshot paths with their keys). */
const UPPER_WORK_BYTES = 2 * 80;

/** Length of the overlay mount option string for an image of `layers` layers. */
export function overlayOptionBytes(layers: number, layerPathBytes: number): number {
  return 'lowerdir='.length + layers * (layerPathBytes + 1) - 1 + 1 + UPPER_WORK_BYTES;
}

/** Variants whose overlay is mounted with mount(2) and one option string (fsconfig passes lowerdirs one by one). */
function hasOptionStringLimit(variant: RuntimeVariant): boolean {
  return variant !== 'fsconfig-lowerdir-plus';
}

function containerId(i: number, total: number): string {
  return `c${String(i + 1).padStart(Math.max(4, String(total).length), '0')}`;
}

const OPEN_TREE = OP_CODE.open_tree;
const MOUNT_SETATTR = OP_CODE.mount_setattr;
const MOVE_MOUNT = OP_CODE.move_mount;
const MOUNT_OVERLAY = OP_CODE.mount_overlay;
const UMOUNT = OP_CODE.umount;
const FSOPEN = OP_CODE.fsopen;
const FSCONFIG = OP_CODE.fsconfig;
const FSMOUNT = OP_CODE.fsmount;
const CLOSE_TREE = OP_CODE.close_tree;
const UMOUNT_OVERLAY = OP_CODE.umount_overlay;

/** Appends one container's ops for the variant (see the table at the top of this file). */
function emitContainer(b: TraceOpsBuilder, c: number, variant: RuntimeVariant, L: number, unmountInspection: boolean): void {
  // The inspection overlay's unmount (its own op: it also tears the overlay down, kernel model umount_overlay).
  const endInspection = (): void => {
    if (unmountInspection) b.pushRaw(c, UMOUNT_OVERLAY, 1);
  };
  const perLayer = (pass: number): void => {
    for (let l = 0; l < L; l++) {
      b.pushRaw(c, OPEN_TREE, pass, l);
      b.pushRaw(c, MOUNT_SETATTR, pass, l);
      b.pushRaw(c, MOVE_MOUNT, pass, l);
    }
    b.pushRaw(c, MOUNT_OVERLAY, pass);
    for (let l = 0; l < L; l++) b.pushRaw(c, UMOUNT, pass, l);
  };
  const commonParent = (pass: number): void => {
    b.pushRaw(c, OPEN_TREE, pass);
    b.pushRaw(c, MOUNT_SETATTR, pass);
    b.pushRaw(c, MOVE_MOUNT, pass);
    b.pushRaw(c, MOUNT_OVERLAY, pass);
    b.pushRaw(c, UMOUNT, pass);
  };
  const fsconfigPlus = (pass: number): void => {
    for (let l = 0; l < L; l++) {
      b.pushRaw(c, OPEN_TREE, pass, l);
      b.pushRaw(c, MOUNT_SETATTR, pass, l);
    }
    b.pushRaw(c, FSOPEN, pass);
    for (let l = 0; l < L; l++) b.pushRaw(c, FSCONFIG, pass, l);
    b.pushRaw(c, FSCONFIG, pass); // no layer, no path: FSCONFIG_CMD_CREATE, builds the overlay superblock
    b.pushRaw(c, FSMOUNT, pass);
    b.pushRaw(c, MOVE_MOUNT, pass); // attaches the overlay itself, no layer
    for (let l = 0; l < L; l++) b.pushRaw(c, CLOSE_TREE, pass, l);
  };
  switch (variant) {
    case 'per-layer-idmap':
      perLayer(1);
      endInspection();
      perLayer(2);
      return;
    case 'common-parent':
      commonParent(1);
      endInspection();
      commonParent(2);
      return;
    case 'common-parent-one-pass':
      b.pushRaw(c, MOUNT_OVERLAY, 1);
      endInspection();
      commonParent(2);
      return;
    case 'fsconfig-lowerdir-plus':
      fsconfigPlus(1);
      endInspection();
      fsconfigPlus(2);
      return;
    case 'shifted-untar':
      b.pushRaw(c, MOUNT_OVERLAY, 1);
      return;
  }
}

/** Ops one container of `layers` layers makes under `variant` (for preallocation and checks). */
export function opsPerContainer(variant: RuntimeVariant, layers: number, unmountInspection = false): number {
  return opsOfPasses(variant, layers) + (unmountInspection && variant !== 'shifted-untar' ? 1 : 0);
}

function opsOfPasses(variant: RuntimeVariant, layers: number): number {
  switch (variant) {
    case 'per-layer-idmap':
      return 2 * (4 * layers + 1);
    case 'common-parent':
      return 2 * 5;
    case 'common-parent-one-pass':
      return 1 + 5;
    case 'fsconfig-lowerdir-plus':
      return 2 * (4 * layers + 4);
    case 'shifted-untar':
      return 1;
  }
}

/** Generates a launch trace. Throws a zod error for options the schema rejects. */
export function generateTrace(options: GenerateOptions): Trace {
  const o = generateOptionsSchema.parse(options);
  const streams = new RandomStreams(String(o.seed));
  const imageStream = streams.stream('workload/image');
  const arrivalStream = streams.stream('workload/arrival');

  const mix = o.imageMix ?? [{ layers: o.layers!, weight: 1 }];
  const totalWeight = mix.reduce((s, m) => s + m.weight, 0);
  const pickImage = (): (typeof mix)[number] => {
    if (mix.length === 1) return mix[0]!;
    let u = imageStream.uniform() * totalWeight;
    for (const m of mix) {
      u -= m.weight;
      if (u < 0) return m;
    }
    return mix[mix.length - 1]!;
  };

  const containers: TraceContainer[] = [];
  let t = 0;
  for (let i = 0; i < o.containers; i++) {
    let start: number;
    switch (o.arrival.kind) {
      case 'burst':
        start = 0;
        break;
      case 'rate':
        if (i > 0) t += Math.round(arrivalStream.exponential(1e9 / o.arrival.perSecond));
        start = t;
        break;
      case 'schedule':
        start = o.arrival.atNs[i]!;
        break;
    }
    const image = pickImage();
    const c: TraceContainer = { id: containerId(i, o.containers), layers: image.layers, start_ns: start };
    if ('image' in image && image.image !== undefined) c.image = image.image;
    containers.push(c);
  }

  const warnings: string[] = [];
  if (hasOptionStringLimit(o.variant)) {
    const over = new Map<number, number>();
    for (const c of containers) {
      if (overlayOptionBytes(c.layers, o.layerPathBytes) > o.mountOptionLimitBytes) over.set(c.layers, (over.get(c.layers) ?? 0) + 1);
    }
    for (const [layers, n] of [...over].sort((a, b) => a[0] - b[0])) {
      warnings.push(
        `mount option limit: ${n} container(s) with ${layers}-layer images need ~${overlayOptionBytes(layers, o.layerPathBytes)} bytes of overlay options, over the kernel's ${o.mountOptionLimitBytes} (containerd #2497): containerd's overlay mount makes the lowerdirs relative and mounts from their common directory (#2502, mountAt), a runtime without that fails`,
      );
    }
  }

  const expected = containers.reduce((s, c) => s + opsPerContainer(o.variant, c.layers, o.unmountInspection), 0);
  const b = new TraceOpsBuilder(expected);
  containers.forEach((c, i) => emitContainer(b, i, o.variant, c.layers, o.unmountInspection));

  const header: TraceHeader = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    variant: o.variant,
    source: 'generated',
    seed: String(o.seed),
    containers,
  };
  if (warnings.length > 0) header.warnings = warnings;
  return { header, ops: b.finish() };
}

// ------------------------------------------------------------- counting

export interface MountOpCount {
  /** Overlay mounts: mount_overlay plus fsmount (the fsconfig variant's overlay). */
  overlay: number;
  /** Bind mounts attached to the mount table: move_mount of a cloned tree (not the move_mount that attaches an fsmount). */
  binds: number;
  umounts: number;
  /** The blog's count: overlay + binds + umounts (B9: 100 x 2 x (1 + 50 + 50) = 20,200). */
  total: number;
  /** Not in the blog's count but taking the same locks: detached clones (open_tree) and their closes. */
  detachedClones: number;
  closes: number;
}

/**
 * Counts mount operations of a trace the way the blog does: per pass one
 * overlay, the bind mounts and the umounts. A move_mount that attaches an
 * fsmount'ed overlay is the overlay, not a bind, so binds = move_mounts -
 * fsmounts (each fsmount is attached by exactly one move_mount).
 */
export function countMountOps(trace: Trace): MountOpCount {
  const byOp = new Array<number>(OP_NAMES.length).fill(0);
  const ops = trace.ops.op;
  for (let i = 0; i < trace.ops.count; i++) byOp[ops[i]!]!++;
  const overlay = byOp[MOUNT_OVERLAY]! + byOp[FSMOUNT]!;
  const binds = byOp[MOVE_MOUNT]! - byOp[FSMOUNT]!;
  const umounts = byOp[UMOUNT]!;
  return { overlay, binds, umounts, total: overlay + binds + umounts, detachedClones: byOp[OPEN_TREE]!, closes: byOp[CLOSE_TREE]! };
}
