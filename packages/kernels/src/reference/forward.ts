import type { ResolvedCceOptions } from '../options.js';
import { checkHostInputs, dot, type HostCceInputs, referenceNegatives } from './terms.js';

/** Per-row loss (0 for ignored rows) and log-sum-exp (0 for ignored rows), in float64. */
export interface ReferenceForward {
  loss: Float64Array;
  lse: Float64Array;
}

/** log Σ exp(v) over the finite-or-−∞ values v, in float64 (−∞ when every value is −∞). */
export function logSumExp(values: ArrayLike<number>): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < values.length; k++) if (values[k]! > m) m = values[k]!;
  if (m === Number.NEGATIVE_INFINITY) return m;
  let s = 0;
  for (let k = 0; k < values.length; k++) s += Math.exp(values[k]! - m);
  return m + Math.log(s);
}

/**
 * The row logits of the loss contract (DESIGN.md): [pos, s_0 … s_K-1] for sampled negatives, or
 * every h·w_c for 'all'. Masked accidental hits are −∞.
 */
export function rowLogits(
  x: HostCceInputs,
  i: number,
  negs: ReturnType<typeof referenceNegatives>,
): Float64Array {
  if (!negs) {
    const out = new Float64Array(x.C);
    for (let c = 0; c < x.C; c++) out[c] = dot(x, i, c);
    return out;
  }
  const { K, ids, shift } = negs;
  const out = new Float64Array(K + 1);
  out[0] = dot(x, i, x.targets[i]!);
  for (let j = 0; j < K; j++) {
    const sh = shift[i * K + j]!;
    out[j + 1] = sh === Number.POSITIVE_INFINITY ? Number.NEGATIVE_INFINITY : dot(x, i, ids[i * K + j]!) - sh;
  }
  return out;
}

/** The float64 oracle's forward: loss_i = logsumexp(pos_i, s_i·) − pos_i per row (DESIGN.md). */
export function referenceForward(x: HostCceInputs, o: ResolvedCceOptions): ReferenceForward {
  checkHostInputs(x);
  const negs = referenceNegatives(x, o);
  const loss = new Float64Array(x.N);
  const lse = new Float64Array(x.N);
  for (let i = 0; i < x.N; i++) {
    const y = x.targets[i]!;
    if (y === o.ignoreIndex) continue;
    const logits = rowLogits(x, i, negs);
    lse[i] = logSumExp(logits);
    loss[i] = lse[i]! - (negs ? logits[0]! : logits[y]!);
  }
  return { loss, lse };
}
