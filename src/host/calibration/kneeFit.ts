/**
 * A continuous two-segment line by least squares: for costs per item that
 * change once a list outgrows something (open_tree's walk per mount once the
 * walked list no longer fits in a cache level, measured by a walk series).
 * mathjs is loaded at the first fit (src/mathjs.ts), not with this module.
 */
import { mathjs } from '../../mathjs.ts';

/** y = intercept + below * min(x, knee) + above * max(0, x - knee). */
export interface KneeLine {
  knee: number;
  intercept: number;
  below: number;
  above: number;
  belowStdError: number;
  aboveStdError: number;
  /** Residual sum of squares. */
  rss: number;
}

/**
 * The weighted least-squares two-segment line (`weights`: one per point,
 * e.g. 1 / y^2 for relative errors; absent: all 1), its knee chosen among
 * `candidates` (each a linear fit; the smallest weighted residual kept),
 * with the two slopes' standard errors. Null when no candidate leaves two
 * distinct xs or more on each side, or there are fewer than five points
 * (one more than the parameters, knee included).
 */
export function kneeFit(xs: readonly number[], ys: readonly number[], candidates: readonly number[], weights?: readonly number[]): KneeLine | null {
  if (xs.length < 5) return null;
  // Weighted: each row and its y scaled by the square root of its weight (the same for every candidate).
  const r = xs.map((_, i) => Math.sqrt(weights?.[i] ?? 1));
  const yw = ys.map((y, i) => y * r[i]!);
  const { inv, multiply, transpose } = mathjs();
  let best: KneeLine | null = null;
  for (const knee of candidates) {
    const lo = new Set(xs.filter((x) => x <= knee)), hi = new Set(xs.filter((x) => x > knee));
    if (lo.size < 2 || hi.size < 2) continue;
    const Xw = xs.map((x, i) => [r[i]!, Math.min(x, knee) * r[i]!, Math.max(0, x - knee) * r[i]!]);
    const Xt = transpose(Xw) as number[][];
    let xtxInv: number[][];
    try {
      xtxInv = inv(multiply(Xt, Xw) as number[][]) as number[][];
    } catch {
      continue; // singular: the candidate leaves the segments undetermined
    }
    const beta = multiply(xtxInv, multiply(Xt, yw)) as number[];
    let rss = 0;
    for (let i = 0; i < xs.length; i++) rss += (yw[i]! - beta[0]! * Xw[i]![0]! - beta[1]! * Xw[i]![1]! - beta[2]! * Xw[i]![2]!) ** 2;
    if (best && rss >= best.rss) continue;
    const s2 = rss / (xs.length - 4);
    best = { knee, intercept: beta[0]!, below: beta[1]!, above: beta[2]!, belowStdError: Math.sqrt(s2 * xtxInv[1]![1]!), aboveStdError: Math.sqrt(s2 * xtxInv[2]![2]!), rss };
  }
  return best;
}
