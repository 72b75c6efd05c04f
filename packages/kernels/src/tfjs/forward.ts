import * as tf from '@tensorflow/tfjs';
import type { CceForwardResult, ResolvedCceOptions } from '../options.js';
import { callSamplerSpec } from '../sampling.js';
import { chunkRows, sampledLogits, sampledLse, unpad } from './logits.js';
import { chunkNegatives, planChunks } from './plan.js';

/** Per-row loss and log-sum-exp of the loss contract, chunk by chunk with tfjs ops. */
export function tfjsForward(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  o: ResolvedCceOptions,
): CceForwardResult {
  const [N, D] = hidden.shape;
  const C = items.shape[0];
  const spec = callSamplerSpec(o, C, targets);
  const losses: tf.Tensor1D[] = [];
  const lses: tf.Tensor1D[] = [];
  for (const chunk of planChunks(o, N, C, D)) {
    const [loss, lse] = tf.tidy(() => {
      const rows = chunkRows(hidden, items, targets, chunk, o.ignoreIndex);
      let lse: tf.Tensor1D;
      if (spec === undefined || o.negatives === 'all') {
        lse = tf.logSumExp(tf.matMul(rows.Hc, items, false, true), 1);
      } else {
        const negs = chunkNegatives(spec, o, chunk, o.negatives);
        const { S } = sampledLogits(items, targets, rows, chunk, negs, o);
        lse = sampledLse(unpad(S, chunk.rows), rows.pos);
      }
      const zero = tf.zerosLike(lse);
      return [tf.where(rows.valid, tf.sub(lse, rows.pos), zero), tf.where(rows.valid, lse, zero)] as const;
    });
    losses.push(loss);
    lses.push(lse);
  }
  if (losses.length === 0) return { loss: tf.zeros([0]), lse: tf.zeros([0]) };
  if (losses.length === 1) return { loss: losses[0]!, lse: lses[0]! };
  const out = { loss: tf.concat(losses), lse: tf.concat(lses) };
  tf.dispose([...losses, ...lses]);
  return out;
}
