/**
 * Confidence interval of a mean over a few independent replications: the
 * Student t interval mean ± t(1-α/2, R-1) · s / √R. With R = 3 replications
 * the t factor is 4.3 at 95%, so the interval is honest about how little three
 * runs say; the normal 1.96 would claim more than the data hold.
 */

/**
 * Two-sided Student t quantiles t(1-α/2, df) for df = 1..30 (standard tables,
 * e.g. NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.7.2).
 */
const T_TABLE: Record<'0.9' | '0.95' | '0.99', number[]> = {
  '0.9': [6.314, 2.92, 2.353, 2.132, 2.015, 1.943, 1.895, 1.86, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.74, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697],
  '0.95': [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042],
  '0.99': [63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.25, 3.169, 3.106, 3.055, 3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779, 2.771, 2.763, 2.756, 2.75],
};
/** Standard normal quantiles z(1-α/2), the limit of t for large df. */
const Z: Record<'0.9' | '0.95' | '0.99', number> = { '0.9': 1.6449, '0.95': 1.96, '0.99': 2.5758 };

export type ConfidenceLevel = 0.9 | 0.95 | 0.99;

export function tQuantile(confidence: ConfidenceLevel, df: number): number {
  const key = String(confidence) as keyof typeof T_TABLE;
  if (df <= 30) return T_TABLE[key][df - 1]!;
  // Cornish-Fisher expansion of t around z: off by < 0.001 beyond 30 df.
  const z = Z[key];
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  /** Replications the interval is made of. */
  n: number;
}

/** Mean and t interval; with one replication there is no spread to estimate, so lo = hi = mean. */
export function meanInterval(xs: number[], confidence: ConfidenceLevel): Interval {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: mean, hi: mean, n };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  const half = tQuantile(confidence, n - 1) * Math.sqrt(variance / n);
  return { mean, lo: mean - half, hi: mean + half, n };
}
