// The line queue of the coherence fabric (ServiceQueue: the mesh's TOR entry,
// the chiplet's home) keeps its requests in typed arrays it reuses (a ring for
// those arrived, a sorted buffer for herd re-reads still to arrive). Whatever
// the sequence of operations, it must serve exactly what the plain-array
// queue it replaced served: the earliest arrival first, arrived requests
// first on a tie, re-reads of equal arrival in the order they were added.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ServiceQueue } from '../src/hardware/coherence.ts';

/** The reference: plain arrays, as the queue was written before. */
class ReferenceQueue {
  items: number[] = [];
  future: number[] = [];
  futureAt: number[] = [];
  push(id: number) {
    this.items.push(id);
  }
  addFuture(id: number, at: number) {
    let i = this.future.length;
    while (i > 0 && this.futureAt[i - 1] > at) i--;
    this.future.splice(i, 0, id);
    this.futureAt.splice(i, 0, at);
  }
  removeFuture(id: number): boolean {
    const i = this.future.indexOf(id);
    if (i < 0) return false;
    this.future.splice(i, 1);
    this.futureAt.splice(i, 1);
    return true;
  }
  takeNext(now: number, arrival: Float64Array): number {
    const f = this.future.length > 0 && this.futureAt[0] <= now;
    if (this.items.length > 0 && !(f && this.futureAt[0] < arrival[this.items[0]])) return this.items.shift()!;
    if (!f) return -1;
    this.futureAt.shift();
    return this.future.shift()!;
  }
}

type Op = { kind: 'push' } | { kind: 'future'; at: number } | { kind: 'remove'; pick: number } | { kind: 'take'; now: number };

describe('ServiceQueue', () => {
  it('serves what a plain-array queue serves, through growth, wrap-around and compaction', () => {
    // More additions than takes, so the queues outgrow their arrays (16) and wrap around.
    const op: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: fc.constant<Op>({ kind: 'push' }), weight: 3 },
      { arbitrary: fc.integer({ min: 0, max: 50 }).map<Op>((at) => ({ kind: 'future', at })), weight: 5 },
      { arbitrary: fc.nat(1000).map<Op>((pick) => ({ kind: 'remove', pick })), weight: 1 },
      { arbitrary: fc.integer({ min: 0, max: 60 }).map<Op>((now) => ({ kind: 'take', now })), weight: 5 },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 50, maxLength: 600, size: 'max' }), (ops) => {
        const q = new ServiceQueue();
        const ref = new ReferenceQueue();
        const arrival = new Float64Array(ops.length + 1);
        let next = 0;
        const ids: number[] = [];
        for (const o of ops) {
          if (o.kind === 'push') {
            // Arrived requests: arrival times that grow, as requests made now do.
            arrival[next] = next / 10;
            q.push(next);
            ref.push(next);
            ids.push(next++);
          } else if (o.kind === 'future') {
            arrival[next] = o.at;
            q.addFuture(next, o.at);
            ref.addFuture(next, o.at);
            ids.push(next++);
          } else if (o.kind === 'remove') {
            const id = ids.length > 0 ? ids[o.pick % ids.length] : 0;
            expect(q.removeFuture(id)).toBe(ref.removeFuture(id));
          } else {
            expect(q.takeNext(o.now, arrival)).toBe(ref.takeNext(o.now, arrival));
          }
          expect(q.length).toBe(ref.items.length);
          expect(q.futureLength).toBe(ref.future.length);
          if (ref.future.length > 0) expect(q.nextArrival).toBe(ref.futureAt[0]);
        }
        // Drain: the same order to the end.
        for (;;) {
          const a = q.takeNext(Infinity, arrival);
          expect(a).toBe(ref.takeNext(Infinity, arrival));
          if (a < 0) break;
        }
      }),
      { numRuns: 100, seed: 14 },
    );
  });
});
