import * as tf from '@tensorflow/tfjs';
import type { CceGradients, ResolvedCceOptions } from '../options.js';
import { callSamplerSpec } from '../sampling.js';
import { chunkRows, sampledLogits } from './logits.js';
import { chunkNegatives, planChunks } from './plan.js';

/**
 * dHidden and dItems of Σ_i dLoss_i · loss_i, chunk by chunk: recomputes each chunk's logits,
 * takes their softmax with the forward's lse, and scatter-adds into dItems (scatterND).
 */
export function tfjsBackward(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  lse: tf.Tensor1D,
  dLoss: tf.Tensor1D,
  o: ResolvedCceOptions,
): CceGradients {
  const [N, D] = hidden.shape;
  const C = items.shape[0];
  const spec = callSamplerSpec(o, C, targets);
  let dItems: tf.Tensor2D = tf.zeros([C, D]);
  const dHiddens: tf.Tensor2D[] = [];
  for (const chunk of planChunks(o, N, C, D)) {
    const [dHc, dItemsNext] = tf.tidy(() => {
      const rows = chunkRows(hidden, items, targets, chunk, o.ignoreIndex);
      const zero = tf.zeros([chunk.rows]) as tf.Tensor1D;
      const g = tf.where(rows.valid, tf.slice(dLoss, [chunk.r0], [chunk.rows]), zero) as tf.Tensor1D;
      const lseC = tf.slice(lse, [chunk.r0], [chunk.rows]) as tf.Tensor1D;
      const gCol = tf.expandDims(g, 1);
      if (spec === undefined || o.negatives === 'all') {
        // loss = lse − pos over the whole catalog: dlogit_c = g·(softmax_c − [c = y])
        const L = tf.matMul(rows.Hc, items, false, true);
        const P = tf.mul(
          tf.where(tf.expandDims(rows.valid, 1), tf.exp(tf.sub(L, tf.expandDims(lseC, 1))), tf.zerosLike(L)),
          gCol,
        );
        const dHc = tf.sub(tf.matMul(P, items), tf.mul(gCol, rows.Wy));
        const dW = tf.add(dItems, tf.matMul(P, rows.Hc, true, false));
        return [
          dHc,
          tf.sub(dW, scatterAddRows(tf.mul(gCol, rows.Hc) as tf.Tensor2D, rows.ySafe, C)),
        ] as const;
      }
      // d loss / d pos = softmax(pos) − 1, per row, times g
      const gPos = tf.expandDims(
        tf.where(rows.valid, tf.mul(g, tf.sub(tf.exp(tf.sub(rows.pos, lseC)), 1)), zero),
        1,
      );
      const negs = chunkNegatives(spec, o, chunk, o.negatives);
      const { S, Hg, Wn, ids } = sampledLogits(items, targets, rows, chunk, negs, o);
      const [G, B, K] = S.shape;
      const padded = G * B;
      const pad = (t: tf.Tensor1D, v: number) =>
        padded > chunk.rows ? tf.pad(t, [[0, padded - chunk.rows]], v) : t;
      const yPad = pad(tf.slice(targets, [chunk.r0], [chunk.rows]) as tf.Tensor1D, o.ignoreIndex);
      const validG = tf.reshape(tf.notEqual(yPad, tf.scalar(o.ignoreIndex, 'int32')), [G, B, 1]);
      const E = tf.where(validG, tf.exp(tf.sub(S, tf.reshape(pad(lseC, 0), [G, B, 1]))), tf.zerosLike(S));
      const P = tf.mul(E, tf.reshape(pad(g, 0), [G, B, 1])) as tf.Tensor3D;
      const dHg = tf.reshape(tf.matMul(P, Wn), [padded, D]) as tf.Tensor2D;
      const dHc = tf.add(
        tf.mul(gPos, rows.Wy),
        padded > chunk.rows ? tf.slice(dHg, [0, 0], [chunk.rows, D]) : dHg,
      );
      const dWn = tf.reshape(tf.matMul(P, Hg, true, false), [G * K, D]);
      const contributions = tf.concat([tf.mul(gPos, rows.Hc) as tf.Tensor2D, dWn as tf.Tensor2D]);
      const segments = tf.concat([rows.ySafe, tf.reshape(ids, [G * K]) as tf.Tensor1D]);
      return [dHc, tf.add(dItems, scatterAddRows(contributions, segments, C))] as const;
    });
    dItems.dispose();
    dItems = dItemsNext as tf.Tensor2D;
    dHiddens.push(dHc as tf.Tensor2D);
  }
  if (dHiddens.length === 0) return { dHidden: tf.zeros([0, D]), dItems };
  if (dHiddens.length === 1) return { dHidden: dHiddens[0]!, dItems };
  const dHidden = tf.concat(dHiddens) as tf.Tensor2D;
  tf.dispose(dHiddens);
  return { dHidden, dItems };
}

/**
 * Σ of the rows of values [M, D] into [C, D] at rows ids [M]. tf.scatterND adds duplicates in
 * O(M·D) on every backend (WebGPU with atomics); tfjs-cpu's unsortedSegmentSum is O(C·M·D).
 */
function scatterAddRows(values: tf.Tensor2D, ids: tf.Tensor1D, C: number): tf.Tensor2D {
  return tf.scatterND(tf.expandDims(ids, 1), values, [C, values.shape[1]]) as tf.Tensor2D;
}
