/**
 * Centralized mesh (Intel Skylake-SP and later): every cache line has one home
 * agent (CHA), and the home's Table of Requests lets only one request per line
 * out to the system at a time; requests to the same address queue behind it
 * (Intel uncore manuals, SPR UNC_CHA_TOR_* events; facts.md section 4).
 *
 * So every core's miss on a contended line joins one FIFO per line, and each
 * transaction occupies it for its whole duration: the owner is snooped and the
 * data travels to the requester before the next request is admitted. A hot
 * lock's handoff therefore costs the sum of everybody's transfers ahead of the
 * next owner; this is the TOR bottleneck of the blog's Figure 7.
 *
 * Transaction latency is the model's cited one-way core-to-core latency for the
 * pair (same socket or cross socket, the latter also when the line's home is on
 * the other socket). Mesh hop distances inside a socket are not modelled.
 */
import { CoherenceFabric, ServiceQueue, type CacheLine } from './coherence.ts';

export class MeshFabric extends CoherenceFabric {
  protected mergeGroup(cpu: number): number {
    return this.layout.core[cpu];
  }

  private tor(line: CacheLine): ServiceQueue {
    return (line.fabricState ??= new ServiceQueue()) as ServiceQueue;
  }

  protected enqueue(id: number, line: CacheLine): void {
    const q = this.tor(line);
    if (q.busy) {
      q.push(id);
      return;
    }
    q.busy = true;
    this.begin(id, line);
  }

  protected served(_id: number, line: CacheLine): void {
    const q = this.tor(line);
    if (q.length === 0) {
      q.busy = false;
      return;
    }
    this.begin(q.shift(), line);
  }

  private begin(id: number, line: CacheLine): void {
    // The latency is fixed when the request leaves the TOR: the state it sees is the current one.
    this.startService(id, this.sourceLatency(line, this.pool.cpu[id], this.pool.exclusive[id] === 1, true));
  }
}
