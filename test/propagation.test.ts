/**
 * Mount propagation in the kernel model, step by step against the kernel's
 * semantics (fs/namespace.c, fs/pnode.c, fs/proc_namespace.c):
 *  - clone_mnt of a shared source adds the clone to its peer group;
 *    umount_tree and a propagation change (MS_PRIVATE) take it out;
 *  - propagate_umount walks every peer inside mount_lock's write section,
 *    propagate_mnt under namespace_sem; the walk is one hold, so the events
 *    of an op do not grow with the peers;
 *  - a mountinfo read in a slave namespace costs lines x peers ring steps.
 */
import { describe, expect, it } from 'vitest';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { Machine } from '../src/machine.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { KernelMountPath, type PropagationSetup } from '../src/workload/kernelPath.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema } from '../src/workload/launchParams.ts';
import { applyAblations } from '../src/config/ablations.ts';

const kernel = loadKernelModel('linux-6.6');
const spec = machineSpecFromTopology(buildTopology(loadHardwareModel('generic-2core'), {}));
const shared: PropagationSetup = { layerParentShared: true, setsPropagation: false, ringStepCostFactor: 1, slaveNamespaces: 0 };

/** Runs `keys` one after another on one thread of an idle 2-CPU machine; returns the path and each call's duration. */
function run(setup: PropagationSetup, keys: string[], presetPeers?: number) {
  const m = new Machine(spec, { seed: 'p', placement: 'spread' });
  const path = new KernelMountPath(m, kernel, 40, setup);
  if (presetPeers !== undefined) path.peers = presetPeers;
  const durations: number[] = [];
  const peersAfter: number[] = [];
  m.spawn('containerd', function* (t) {
    for (const key of keys) {
      const start = t.sim.now;
      yield* path.syscall(t, 'containerd', key, 1);
      durations.push(t.sim.now - start);
      peersAfter.push(path.peers);
    }
    t.sim.stop();
  });
  m.sim.run(1e12);
  m.ledger.flush(m.sim.now);
  return { path, durations, peersAfter, events: m.sim.eventsFired, m };
}

describe('peer group of the layers parent mount', () => {
  it('grows by one per open_tree clone of a shared mount, and shrinks by one per umount', () => {
    const r = run(shared, ['open_tree', 'mount_setattr', 'move_mount', 'open_tree', 'mount_setattr', 'move_mount', 'umount', 'umount']);
    expect(r.peersAfter).toEqual([2, 2, 2, 3, 3, 3, 2, 1]);
    // Clones run here without the launch's bookkeeping (attachClone), so none counts as listed.
    expect(r.path.attachedPeers).toBe(1);
    expect(r.path.maxPeers).toBe(3);
  });

  it('stays empty when the mount is private', () => {
    const r = run({ ...shared, layerParentShared: false }, ['open_tree', 'mount_setattr', 'move_mount', 'umount']);
    expect(r.peersAfter).toEqual([0, 0, 0, 0]);
  });

  it('loses the clone at mount_setattr when the runtime sets MS_PRIVATE (containerd 2.3), and that call takes namespace_sem', () => {
    const keep = run(shared, ['open_tree', 'mount_setattr']);
    const priv = run({ ...shared, setsPropagation: true }, ['open_tree', 'mount_setattr']);
    expect(keep.peersAfter).toEqual([2, 2]);
    expect(priv.peersAfter).toEqual([2, 1]);
    const folded = (r: ReturnType<typeof run>) => r.m.ledger.totals().map((a) => a.name).filter((n) => n.startsWith('containerd;mount_setattr;'));
    expect(folded(priv).some((n) => n.includes('namespace_sem(w)'))).toBe(true);
    // attr.propagation = 0: do_mount_setattr takes no namespace_lock().
    expect(folded(keep).some((n) => n.includes('namespace_sem'))).toBe(false);
  });

  it('a close of a never-attached tree (dissolve_on_fput) also takes the clone out', () => {
    const r = run(shared, ['open_tree', 'close_tree']);
    expect(r.peersAfter).toEqual([2, 1]);
  });
});

describe('ring walks', () => {
  it('umount with P peers costs P x the per-peer cost more, inside mount_lock held for write', () => {
    const perPeer = kernel.costs.propagateUmountPerPeerNs!.value;
    const few = run(shared, ['umount'], 10);
    const many = run(shared, ['umount'], 5010);
    expect(many.durations[0]! - few.durations[0]!).toBeCloseTo(5000 * perPeer, -1);
    const walk = many.m.ledger.totals().find((a) => a.name.endsWith('propagateUmountPerPeerNs'))!;
    expect(walk.name).toBe('containerd;umount;namespace_sem(w);mount_lock;propagateUmountPerPeerNs');
  });

  it('move_mount walks the peers under namespace_sem (write), outside mount_lock', () => {
    const perPeer = kernel.costs.propagateMntPerPeerNs!.value;
    const few = run(shared, ['move_mount'], 1);
    const many = run(shared, ['move_mount'], 2001);
    expect(many.durations[0]! - few.durations[0]!).toBeCloseTo(2000 * perPeer, -1);
    const walk = many.m.ledger.totals().find((a) => a.name.endsWith('propagateMntPerPeerNs'))!;
    expect(walk.name).toBe('containerd;move_mount;namespace_sem(w);propagateMntPerPeerNs');
  });

  it('the ring-step factor scales every walk', () => {
    const walk = (factor: number) => run({ ...shared, ringStepCostFactor: factor }, ['umount'], 1001).durations[0]! - run({ ...shared, ringStepCostFactor: factor }, ['umount'], 1).durations[0]!;
    expect(walk(5)).toBeCloseTo(5 * walk(1), -1);
  });

  it('each slave namespace adds a visit per attached member to a writer\'s walk (propagate_mnt and propagate_umount visit every slave group)', () => {
    /** The extra time of `key` with 2,000 attached members over 0, with `slaves` slave namespaces. */
    const extra = (key: string, slaves: number) => {
      const timed = (n: number) => {
        const m = new Machine(spec, { seed: 'p', placement: 'spread' });
        const path = new KernelMountPath(m, kernel, 40, { ...shared, slaveNamespaces: slaves });
        path.peers = path.attachedPeers = n + 1;
        let d = 0;
        m.spawn('containerd', function* (t) {
          const start = t.sim.now;
          yield* path.syscall(t, 'containerd', key, 1);
          d = t.sim.now - start;
          t.sim.stop();
        });
        m.sim.run(1e12);
        return d;
      };
      return timed(2000) - timed(0);
    };
    for (const key of ['move_mount', 'umount']) {
      const alone = extra(key, 0);
      expect(alone).toBeGreaterThan(0);
      // Four slave namespaces: the walk visits 2,000 peers and 4 x 2,000 slave copies.
      expect(extra(key, 4) / alone, key).toBeCloseTo(5, 1);
    }
  });

  it('events per mount op do not grow with the peer count', () => {
    const ops = ['open_tree', 'mount_setattr', 'move_mount', 'umount'];
    expect(run(shared, ops, 100_000).events).toBe(run(shared, ops, 10).events);
  });
});

describe('mountinfo reads', () => {
  const m = new Machine(spec, { seed: 'r', placement: 'spread' });
  const path = new KernelMountPath(m, kernel, 0, shared);
  const perLine = kernel.host.mountinfoReadPerMountNs.value;
  const step = kernel.propagation!.dominatingIdPerPeerNs.value;

  it('in a slave namespace cost lines x peers ring steps (get_dominating_id), in a private one only the lines', () => {
    for (const n of [1000, 2000, 4000]) {
      path.mountTable = n;
      path.peers = n; // every mount a peer, as in the probe
      path.attachedPeers = n;
      expect(path.showMountinfoNs(n, false)).toBeCloseTo(n * perLine, 6);
      expect(path.showMountinfoNs(n, true) - n * perLine).toBeCloseTo(n * n * step, 3);
    }
    // Twice the mounts and peers: four times the ring steps (the host measured 19 -> 74 ms).
    path.mountTable = 2000;
    path.peers = path.attachedPeers = 2000;
    const a = path.showMountinfoNs(2000, true) - 2000 * perLine;
    path.mountTable = 4000;
    path.peers = path.attachedPeers = 4000;
    expect((path.showMountinfoNs(4000, true) - 4000 * perLine) / a).toBeCloseTo(4, 6);
  });

  it('detached clones lengthen the ring but add no slave line (fsconfig lowerdir+ never attaches its layer trees)', () => {
    path.mountTable = 1000;
    path.peers = 5000;
    path.attachedPeers = 1;
    expect(path.showMountinfoNs(1000, true) - 1000 * perLine).toBeCloseTo(1000 * (1 / 1000) * 5000 * step, 3);
  });

  it('one read() shows lines until its buffer is full: a 1 KB reader takes the lock four times as often as a 4 KB one', () => {
    path.mountTable = 1000;
    path.mountTableBytes = 1000 * 170;
    expect(path.linesPerRead(1024)).toBe(Math.ceil(1024 / 170));
    expect(path.linesPerRead(4096)).toBe(Math.ceil(4096 / 170));
    // An overlay line of 50 lowerdirs (~3.5 KB) is one read() by itself.
    path.mountTable = 1;
    path.mountTableBytes = 170 + 50 * 67;
    expect(path.linesPerRead(1024)).toBe(1);
  });
});

describe('a small launch storm', () => {
  const params = (host: Record<string, unknown>) => launchSchema.parse({ containers: [4], variant: 'per-layer-idmap', layers: 10, host: { pathLookupsPerSecPerLaunch: 0, runcReadsMountinfo: true, ...host } });
  const go = (p: ReturnType<typeof params>) => {
    const m = new Machine(spec, { seed: 's', placement: 'spread' });
    const r = simulateLaunch(m, kernel, p, buildLaunchTrace(p, 4, kernel, 's'));
    // On-CPU µs of the writers' ring walks (propagate_mnt, propagate_umount), from the folded stacks.
    const ringWalkUs = r.folded.split('\n').filter((l) => /PerPeerNs /.test(l)).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
    return { ...r.metrics, ringWalkUs };
  };

  it('builds a peer group as large as the binds in flight, and none with --ablate propagation', () => {
    const p = params({});
    const on = go(p);
    const off = go(applyAblations(['propagation'], { machine: spec, kernel, launch: p }).launch!);
    expect(on.peakPeers).toBeGreaterThan(10);
    expect(on.peakPeers).toBeLessThanOrEqual(1 + 4 * 10);
    expect(off.peakPeers).toBe(0);
    // The walks are microseconds against a launch of ~90 ms here: their own
    // time is the observable (the launch mean moves by the interleaving more
    // than by them at this size).
    expect(on.ringWalkUs).toBeGreaterThan(0);
    expect(off.ringWalkUs).toBe(0);
    expect(on.runcMountinfoReadMaxS).toBeGreaterThan(0);
  });
});
