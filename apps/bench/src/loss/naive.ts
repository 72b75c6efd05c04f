/**
 * The baselines: cross-entropy written with plain tfjs ops the way a user would write it, so the
 * fused kernels have something honest to beat.
 *
 * - `naiveFullCe`: logits = H·Wᵀ [N, C], `tf.losses.softmaxCrossEntropy` against one-hot targets.
 * - `naiveSampledCe`: gather the negatives' embeddings ([N, K, D] per row, [⌈N/B⌉, K, D] per
 *   block, [K, D] per batch), batched matmul for the negative logits, the positive logit as a
 *   row-wise dot, then mean(logsumexp([pos, neg]) − pos). No logQ correction and no masking of
 *   accidental hits (what a first version usually omits); the negative ids are drawn before the
 *   timed region (see {@link drawNaiveNegatives}) and counted in the memory.
 */
import * as tf from '@tensorflow/tfjs';
import type { BenchShare } from '../formulas.js';

/** Full-catalog cross-entropy through [N, C] logits (mean over rows). */
export function naiveFullCe(h: tf.Tensor2D, w: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logits = tf.matMul(h, w, false, true);
    const labels = tf.oneHot(targets, w.shape[0]);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  });
}

/**
 * Uniform negative ids for {@link naiveSampledCe}: [N, K] for 'row', [⌈N/B⌉, K] for 'block',
 * [K] for 'batch' (int32 in [0, C)).
 */
export function drawNaiveNegatives(
  N: number,
  C: number,
  K: number,
  share: Exclude<BenchShare, 'all'>,
  blockRows: number,
  seed: number,
): tf.Tensor {
  const shape = share === 'row' ? [N, K] : share === 'block' ? [Math.ceil(N / blockRows), K] : [K];
  return tf.tidy(() =>
    tf
      .floor(tf.randomUniform(shape, 0, C, 'float32', seed))
      .clipByValue(0, C - 1)
      .toInt(),
  );
}

/** Sampled cross-entropy over pre-drawn negative ids (see {@link drawNaiveNegatives}), mean over rows. */
export function naiveSampledCe(
  h: tf.Tensor2D,
  w: tf.Tensor2D,
  targets: tf.Tensor1D,
  negatives: tf.Tensor,
  share: Exclude<BenchShare, 'all'>,
  blockRows: number,
): tf.Scalar {
  return tf.tidy(() => {
    const [N, D] = h.shape;
    const pos = tf.sum(tf.mul(h, tf.gather(w, targets)), 1); // [N]
    let neg: tf.Tensor2D; // [N, K]
    if (share === 'row') {
      const wn = tf.gather(w, negatives) as unknown as tf.Tensor3D; // [N, K, D]
      neg = tf.squeeze(tf.matMul(wn, tf.reshape(h, [N, D, 1])), [2]) as tf.Tensor2D;
    } else if (share === 'block') {
      const G = negatives.shape[0]!;
      const padded =
        G * blockRows === N
          ? h
          : tf.pad(h, [
              [0, G * blockRows - N],
              [0, 0],
            ]);
      const wn = tf.gather(w, negatives) as unknown as tf.Tensor3D; // [G, K, D]
      const blocks = tf.reshape(padded, [G, blockRows, D]) as tf.Tensor3D;
      const logits = tf.matMul(blocks, wn, false, true); // [G, B, K]
      neg = tf.slice(tf.reshape(logits, [G * blockRows, -1]), [0, 0], [N, -1]) as tf.Tensor2D;
    } else {
      const wn = tf.gather(w, negatives) as tf.Tensor2D; // [K, D]
      neg = tf.matMul(h, wn, false, true);
    }
    const all = tf.concat([tf.reshape(pos, [N, 1]), neg], 1);
    return tf.mean(tf.sub(tf.logSumExp(all, 1), pos)) as tf.Scalar;
  });
}
