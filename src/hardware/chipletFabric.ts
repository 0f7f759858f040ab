/**
 * Chiplet fabric (AMD Zen 4 Genoa): cores are grouped in CCXs that each have
 * their own L3. A CCX serves its own cores' requests for a line it holds; only
 * traffic between CCXs goes through the IO die, and between sockets through
 * the socket link (docs/sources.md section 4; the blog's Figure 8).
 *
 * Modelled as: misses from one CCX are merged (one request per line in flight
 * per CCX, the others wait for its fill and are then served inside the CCX at
 * the same-CCX latency); requests that must leave the CCX queue at the line's
 * home on the IO die, one at a time per line. Under contention the IO die sees
 * one request per CCX instead of one per core.
 */
import { CoherenceFabric, type CacheLine } from './coherence.ts';

export class ChipletFabric extends CoherenceFabric {
  /**
   * Re-reads are merged per CCX: the home sees one request per CCX that has
   * readers (the expected number of distinct CCXs among `n` readers spread
   * over the machine), the rest are served inside each CCX in parallel.
   */
  protected burstNs(n: number, cpu: number): number {
    const c = this.layout.l3Groups;
    if (c <= 1) return Math.min(n, this.layout.cores - 1) * this.lat.sameL3;
    const ccxs = Math.min(c - 1, (c - 1) * (1 - Math.pow(1 - 1 / c, n)));
    return ccxs * this.meanRemoteLatency(cpu, this.lat.crossL3);
  }

  protected mergeGroup(cpu: number): number {
    return this.layout.l3[cpu];
  }

  protected enqueue(id: number, line: CacheLine): void {
    const cpu = this.pool.cpu[id];
    const exclusive = this.pool.exclusive[id] === 1;
    const wait = this.pool.arrival[id] - this.sim.now;
    if (!this.outsideL3(line, cpu, exclusive)) {
      // Served by the CCX's own L3 (or a sibling core in it): no IO die trip.
      // A herd member's re-read (a follower that waited for its CCX's fill) starts at its arrival.
      if (wait > 0) this.pool.extraNs[id] += wait;
      this.startService(id, this.sourceLatency(line, cpu, exclusive) * this.transferFactor(line, cpu));
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

  /** A read miss goes to the home when no core of the CCX has the line. */
  protected queuesAtHome(line: CacheLine, cpu: number): boolean {
    return this.outsideL3(line, cpu, false);
  }

  /** A CCX serves its own cores' reads of a line it holds: where a read goes depends on the line. */
  protected readsAlwaysQueueAtHome(): boolean {
    return false;
  }

  protected withdraw(id: number, line: CacheLine): boolean {
    return this.lineQueue(line).removeFuture(id);
  }

  protected served(id: number, line: CacheLine): void {
    // Only a request that went through the home frees it. A request served inside
    // its CCX never took the home, so it must not start the home's next request.
    if (this.homeRequest.get(line.id) !== id) return;
    this.homeRequest.delete(line.id);
    this.serveNext(this.lineQueue(line), line);
  }

  /** Per line: the request the home is serving now. */
  private readonly homeRequest = new Map<number, number>();

  protected begin(id: number, line: CacheLine): void {
    const cpu = this.pool.cpu[id];
    this.homeRequest.set(line.id, id);
    this.startService(id, this.sourceLatency(line, cpu, this.pool.exclusive[id] === 1) * this.transferFactor(line, cpu));
  }
}
