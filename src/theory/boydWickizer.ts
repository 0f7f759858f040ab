/**
 * The ticket-lock Markov model of Boyd-Wickizer, Kaashoek, Morris and Zeldovich,
 * "Non-scalable locks are dangerous" (Linux Symposium 2012), docs/sources.md section 5.
 *
 * State k = number of cores holding or waiting for the lock (0..n). A core
 * outside the lock arrives after an exponential think time of mean `a`, so the
 * arrival rate in state k is (n - k) / a. The lock serves one core at a time and
 * a handoff with k cores present takes s + c*k/2: the critical section plus,
 * on average, half of the waiters' cache-line re-reads that the home directory
 * serializes at c each. This is a finite-source (machine-repairman) birth-death
 * chain; its stationary distribution gives the lock throughput
 * X(n) = sum_k P(k) * mu(k).
 *
 * Solved here as a linear system with mathjs (the balance equations of the
 * generator matrix with the normalization row), and cross-checked by the product
 * form of the birth-death chain.
 */
import type { Matrix } from 'mathjs';
import { mathjs as math } from '../mathjs.ts';
import type { MachineSpec } from '../machine.ts';

export interface BoydWickizerParams {
  /** Cores contending (n). */
  cores: number;
  /** Mean time outside the lock, ns (a). */
  thinkNs: number;
  /** Mean serial section per handoff, ns (s). */
  serialNs: number;
  /** Home directory time per cache-line request, ns (c). */
  requestNs: number;
}

export function arrivalRate(p: BoydWickizerParams, k: number): number {
  return (p.cores - k) / p.thinkNs;
}

export function serviceRate(p: BoydWickizerParams, k: number): number {
  return k === 0 ? 0 : 1 / (p.serialNs + (p.requestNs * k) / 2);
}

/** Stationary distribution P(0..n) by solving pi Q = 0, sum pi = 1 with mathjs. */
export function stationaryDistribution(p: BoydWickizerParams): number[] {
  const n = p.cores;
  const size = n + 1;
  // A = Q^T with the last balance equation replaced by normalization.
  const { lusolve, matrix, zeros } = math();
  const A = zeros(size, size) as Matrix;
  for (let k = 0; k <= n; k++) {
    const up = k < n ? arrivalRate(p, k) : 0;
    const down = serviceRate(p, k);
    // Column k of Q^T is row k of Q: outflow from k on the diagonal, inflow to k+-1.
    A.set([k, k], -(up + down));
    if (k < n) A.set([k + 1, k], up);
    if (k > 0) A.set([k - 1, k], down);
  }
  for (let k = 0; k <= n; k++) A.set([n, k], 1);
  const b = matrix(new Array(size).fill(0).map((_, i) => [i === n ? 1 : 0]));
  const x = lusolve(A, b) as Matrix;
  return (x.toArray() as number[][]).map((r) => r[0]);
}

/** The same distribution from the birth-death product form (used to cross-check). */
export function productFormDistribution(p: BoydWickizerParams): number[] {
  // Weights in log space: under heavy load they grow past float64's range.
  const logW = [0];
  for (let k = 1; k <= p.cores; k++) logW.push(logW[k - 1] + Math.log(arrivalRate(p, k - 1)) - Math.log(serviceRate(p, k)));
  const top = Math.max(...logW);
  const w = logW.map((l) => Math.exp(l - top));
  const total = w.reduce((s, x) => s + x, 0);
  return w.map((x) => x / total);
}

/** Lock acquisitions per second. */
export function throughputPerSec(p: BoydWickizerParams): number {
  const pi = stationaryDistribution(p);
  let x = 0;
  for (let k = 1; k <= p.cores; k++) x += pi[k] * serviceRate(p, k);
  return x * 1e9;
}

/**
 * A machine that satisfies the model's assumptions, to check the simulator
 * against it: one socket, one L3, every cache-line request served by one home
 * in `requestNs` whoever asks, free L1 hits, no SMT. The 4 ns pause jitter
 * shuffles the order in which waiters re-read after a release, so the next
 * owner is on average halfway through the home's queue (the model's c*k/2).
 */
export function boydWickizerMachine(cores: number, requestNs: number): MachineSpec {
  const c = requestNs;
  return {
    name: 'boyd-wickizer',
    fabric: 'mesh',
    layout: { core: Int32Array.from({ length: cores }, (_, i) => i), l3: new Int32Array(cores), socket: new Int32Array(cores), cores, l3Groups: 1, sockets: 1 },
    siblings: Array.from({ length: cores }, () => []),
    latencies: { hit: 0, smtSibling: c, sameL3: c, crossL3: c, crossSocket: c },
    pauseNs: 4,
    smtSlowdown: 1,
  };
}
