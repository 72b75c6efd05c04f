/**
 * BCE and gBCE with uniform sampled negatives, drawn on the host with @cutrec/sampler's
 * `negatives()` (stream = step), so a step's negatives are reproducible.
 *
 * gBCE (Petrov & Macdonald, "gSASRec", RecSys 2023, eq. 5): loss_i = −log σ(s⁺)^β − Σ_k log(1 − σ(s⁻_k))
 * with α = K/(C − 1) and β = α(t(1 − 1/α) + 1/α); t = 0 gives β = 1, plain BCE. Written as
 * β·softplus(−s⁺) + Σ_k softplus(s⁻_k), which is the same quantity computed stably.
 */
import { negatives } from '@cutrec/sampler';
import * as tf from '@tensorflow/tfjs';
import { embeddingLookup } from '../layers.js';

/** gSASRec's β for K negatives out of C items and calibration t. */
export function gbceBeta(K: number, numItems: number, t: number): number {
  if (numItems < 2) throw new RangeError(`gBCE needs a catalog of at least 2 items, got ${numItems}`);
  const alpha = K / (numItems - 1);
  return alpha * (t * (1 - 1 / alpha) + 1 / alpha);
}

/** Options of {@link sampledBce}. */
export interface SampledBceOptions {
  negatives: number;
  /** Exponent of the positive probability (1 = BCE). */
  beta: number;
  seed: number;
  step: number;
  removeAccidentalHits: boolean;
  ignoreIndex: number;
}

/**
 * Mean over valid rows of β·softplus(−h_i·w_{y_i}) + Σ_k softplus(h_i·w_{n_ik}) for hidden [N, D],
 * items [C, D] and host targets [N] (0 when no row is valid). Differentiable in hidden and items.
 */
export function sampledBce(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: Int32Array,
  o: SampledBceOptions,
): tf.Scalar {
  const [N] = hidden.shape;
  const C = items.shape[0];
  const K = o.negatives;
  const negs = negatives({ kind: 'uniform', numItems: C, seed: o.seed, share: 'row' }, N, K, o.step);
  const rows: number[] = [];
  for (let i = 0; i < N; i++) if (targets[i] !== o.ignoreIndex) rows.push(i);
  const M = rows.length;
  // No valid row: 0, still connected to both inputs so that their gradients are zeros.
  if (M === 0) return tf.tidy(() => tf.mul(tf.add(tf.sum(hidden), tf.sum(items)), 0) as tf.Scalar);
  const rowIdx = Int32Array.from(rows);
  const y = new Int32Array(M);
  const negIdx = new Int32Array(M * K);
  const keep = new Float32Array(M * K);
  for (let r = 0; r < M; r++) {
    const i = rows[r]!;
    y[r] = targets[i]!;
    for (let k = 0; k < K; k++) {
      const n = negs[i * K + k]!;
      negIdx[r * K + k] = n;
      keep[r * K + k] = o.removeAccidentalHits && n === y[r] ? 0 : 1;
    }
  }
  return tf.tidy(() => {
    const h = embeddingLookup(hidden, tf.tensor1d(rowIdx, 'int32')); // [M, D]
    const pos = tf.sum(tf.mul(h, embeddingLookup(items, tf.tensor1d(y, 'int32'))), -1); // [M]
    const negE = tf.reshape(embeddingLookup(items, tf.tensor1d(negIdx, 'int32')), [M, K, -1]); // [M, K, D]
    const neg = tf.reshape(tf.matMul(tf.expandDims(h, 1), negE, false, true), [M, K]); // [M, K]
    const posTerm = tf.mul(tf.softplus(tf.neg(pos)), o.beta);
    const negTerm = tf.sum(tf.mul(tf.softplus(neg), tf.tensor2d(keep, [M, K])), -1);
    return tf.mean(tf.add(posTerm, negTerm)) as tf.Scalar;
  });
}
