import type { ResolvedCceOptions } from '../options.js';
import { logSumExp, rowLogits } from './forward.js';
import { checkHostInputs, type HostCceInputs, referenceNegatives } from './terms.js';

/** Gradients of Σ_i dLoss_i · loss_i, in float64, row-major like the inputs. */
export interface ReferenceGradients {
  dHidden: Float64Array;
  dItems: Float64Array;
}

/**
 * The float64 oracle's backward: d/dH and d/dW of Σ_i dLoss_i · loss_i, from the softmax of each
 * row's logits (DESIGN.md); ignored rows and masked negatives contribute nothing.
 */
export function referenceBackward(
  x: HostCceInputs,
  dLoss: ArrayLike<number>,
  o: ResolvedCceOptions,
): ReferenceGradients {
  checkHostInputs(x);
  const { N, C, D, hidden, items, targets } = x;
  if (dLoss.length !== N) throw new RangeError(`reference: dLoss has ${dLoss.length} values, not N = ${N}`);
  const negs = referenceNegatives(x, o);
  const dHidden = new Float64Array(N * D);
  const dItems = new Float64Array(C * D);
  // dH_i += coef · w_c and dW_c += coef · h_i
  const addPair = (i: number, c: number, coef: number) => {
    if (coef === 0) return;
    for (let d = 0; d < D; d++) {
      dHidden[i * D + d]! += coef * items[c * D + d]!;
      dItems[c * D + d]! += coef * hidden[i * D + d]!;
    }
  };
  for (let i = 0; i < N; i++) {
    const y = targets[i]!;
    const g = dLoss[i]!;
    if (y === o.ignoreIndex || g === 0) continue;
    const logits = rowLogits(x, i, negs);
    const lse = logSumExp(logits);
    if (!negs) {
      for (let c = 0; c < C; c++) addPair(i, c, g * Math.exp(logits[c]! - lse));
      addPair(i, y, -g);
      continue;
    }
    addPair(i, y, g * (Math.exp(logits[0]! - lse) - 1));
    for (let j = 0; j < negs.K; j++) {
      const s = logits[j + 1]!;
      if (s !== Number.NEGATIVE_INFINITY) addPair(i, negs.ids[i * negs.K + j]!, g * Math.exp(s - lse));
    }
  }
  return { dHidden, dItems };
}
