/**
 * Centralized mesh (Intel Skylake-SP and later): in each socket, every cache
 * line maps (by address hash) to one caching/home agent (CHA), and the home CHA's
 * Table of Requests lets only one request per line out to the system at a
 * time; requests to the same address queue behind it (Intel uncore manuals,
 * SPR UNC_CHA_TOR_* events; docs/sources.md section 4).
 *
 * So every core's miss on a contended line joins one FIFO per line at its home,
 * and each transaction occupies it for its whole duration: the owner is
 * snooped and the data travels to the requester before the next request is
 * admitted. A hot lock's handoff therefore costs the sum of everybody's
 * transfers ahead of the next owner; this is the TOR bottleneck of the blog's
 * Figure 7. On two sockets the line still has one home queue, and a handoff
 * between cores of different sockets holds it for the cross-socket latency:
 * that is how the extra NUMA hop slows every handoff (the blog's Figures 5
 * and 10).
 *
 * Transaction latency is the model's cited one-way core-to-core latency for the
 * pair. Mesh hop distances inside a socket are not modelled (a known limit).
 */
import { CoherenceFabric, type CacheLine } from './coherence.ts';

export class MeshFabric extends CoherenceFabric {
  /**
   * Whether the home's TOR admits one request per line at a time (the
   * hardware). false: every request is served as soon as it arrives, in
   * parallel, and a burst of re-reads costs one transfer (the tor-queue
   * ablation, src/config/ablations.ts).
   */
  torQueue = true;

  protected mergeGroup(cpu: number): number {
    return this.layout.core[cpu];
  }

  protected enqueue(id: number, line: CacheLine): void {
    const wait = this.pool.arrival[id] - this.sim.now;
    if (!this.torQueue) {
      // No queue: a herd member's re-read is served from its arrival.
      if (wait > 0) this.pool.extraNs[id] += wait;
      this.begin(id, line);
      return;
    }
    const q = this.lineQueue(line);
    if (wait > 0) {
      q.addFuture(id, this.pool.arrival[id]);
      if (!q.busy) this.wakeQueueAt(q, this.pool.arrival[id]);
      return;
    }
    if (q.busy) {
      q.push(id);
      return;
    }
    q.busy = true;
    this.begin(id, line);
  }

  /** Every read miss takes a TOR turn (unless the tor-queue ablation serves them all at once). */
  protected queuesAtHome(): boolean {
    return this.torQueue;
  }

  protected readsAlwaysQueueAtHome(): boolean {
    return this.torQueue;
  }

  protected withdraw(id: number, line: CacheLine): boolean {
    return this.torQueue && this.lineQueue(line).removeFuture(id);
  }

  /** Every core's re-read takes its own TOR turn (per-core merging only), each a pair transfer. */
  protected burstNs(n: number, cpu: number): number {
    const cores = this.torQueue ? Math.min(n, this.layout.cores - 1) : Math.min(n, 1);
    return cores * this.meanRemoteLatency(cpu, this.lat.sameL3);
  }

  /** The transaction is over when the requester has the line: the next one may start. */
  protected served(_id: number, line: CacheLine): void {
    if (!this.torQueue) return;
    this.serveNext(this.lineQueue(line), line);
  }

  protected begin(id: number, line: CacheLine): void {
    const cpu = this.pool.cpu[id];
    // The entry is held for the whole transaction, whose length is the cited
    // latency of the pair that exchanges the line: a cross-socket pair pays the
    // socket link; two cores of the socket that is not the line's home do not
    // (its snoop filter answers, as the cited same-socket medians show).
    const latency = this.sourceLatency(line, cpu, this.pool.exclusive[id] === 1) * this.transferFactor(line, cpu);
    this.startService(id, latency);
  }
}
