/**
 * From a topology (a hardware model file plus a scenario's restrictions) to the
 * plain numbers the simulation runs on. This is the only place that reads a
 * hardware model's fields for the simulation; the engine never sees a name.
 */
import type { MachineSpec } from '../machine.ts';
import type { HaltPoll } from '../cpu/scheduler.ts';
import type { Topology } from './topology.ts';

/** L1 hit: a few cycles; small next to any transfer, so one value serves every model. */
const L1_HIT_NS = 1;

export function machineSpecFromTopology(topology: Topology): MachineSpec {
  const m = topology.model;
  const n = topology.cpus.length;
  const core = new Int32Array(n), l3 = new Int32Array(n), socket = new Int32Array(n);
  for (const c of topology.cpus) {
    core[c.id] = c.core;
    l3[c.id] = c.l3;
    socket[c.id] = c.socket;
  }
  const c2c = m.coreToCore;
  const sameL3 = c2c.sameL3.value;
  // Fields a model may omit are the ones its shape makes unreachable (no SMT,
  // one L3 per socket, one socket); the fallback is never used for a real pair.
  const crossL3 = c2c.crossL3?.value ?? sameL3;
  return {
    name: m.name,
    fabric: m.fabric.kind,
    layout: { core, l3, socket, cores: topology.cores, l3Groups: Math.max(...topology.cpus.map((c) => c.l3)) + 1, sockets: topology.sockets },
    siblings: topology.siblings,
    latencies: {
      hit: L1_HIT_NS,
      smtSibling: c2c.smtSibling?.value ?? sameL3,
      sameL3,
      crossL3,
      crossSocket: c2c.crossSocket?.value ?? crossL3,
      ...(c2c.jitterCv && c2c.jitterCv.value > 0 ? { jitterCv: c2c.jitterCv.value } : {}),
      ...(c2c.sharedRmwTransfers && c2c.sharedRmwTransfers.value > 1 ? { sharedRmw: c2c.sharedRmwTransfers.value } : {}),
    },
    pauseNs: m.pause.cycles.value / m.cpu.ghz.value,
    ghz: m.cpu.ghz.value,
    smtSlowdown: m.smt?.siblingSlowdown.value ?? 1,
    ...(m.wakeup ? { wakeupNs: m.wakeup.localNs.value, wakeAware: { remoteNs: m.wakeup.remoteNs.value, waitOnPreviousShare: m.wakeup.waitOnPreviousShare.value, preemptShare: m.wakeup.preemptShare.value, ipiNs: m.wakeup.ipiNs?.value ?? 0, rcuExpeditedIpiNs: m.wakeup.rcuExpeditedIpiNs?.value ?? 0, ipiSendNs: m.wakeup.ipiSendNs?.value ?? 0, ...(m.wakeup.addressSpaceSwitch ? { addressSpaceSwitch: { recentNs: m.wakeup.addressSpaceSwitch.recentNs.value, otherNs: m.wakeup.addressSpaceSwitch.otherNs.value } } : {}), ...(m.wakeup.haltPoll ? { haltPoll: haltPollOf(m.wakeup.haltPoll) } : {}) } } : {}),
  };
}

/** The host's halt polling (hardware `wakeup.haltPoll`) as the scheduler takes it. */
function haltPollOf(h: NonNullable<NonNullable<Topology['model']['wakeup']>['haltPoll']>): HaltPoll {
  return { haltedNs: h.haltedNs.value, maxNs: h.maxNs.value, growStartNs: h.growStartNs.value, grow: h.grow.value, shrink: h.shrink.value };
}
