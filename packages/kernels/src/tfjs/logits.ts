/**
 * The logits of one chunk of rows, composed from tfjs ops; forward and backward both call these
 * (the backward recomputes instead of storing anything N×K). Call inside tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedCceOptions } from '../options.js';
import { gatherRows } from './gather.js';
import type { Chunk, ChunkNegatives } from './plan.js';

/** What every chunk needs: its hidden rows, targets, validity, the target embeddings and pos = h·w_y. */
export interface ChunkRows {
  Hc: tf.Tensor2D;
  valid: tf.Tensor1D;
  ySafe: tf.Tensor1D;
  Wy: tf.Tensor2D;
  pos: tf.Tensor1D;
}

export function chunkRows(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  chunk: Chunk,
  ignoreIndex: number,
): ChunkRows {
  const D = hidden.shape[1];
  const Hc = tf.slice(hidden, [chunk.r0, 0], [chunk.rows, D]);
  const yc = tf.slice(targets, [chunk.r0], [chunk.rows]);
  const valid = tf.notEqual(yc, tf.scalar(ignoreIndex, 'int32')) as tf.Tensor1D;
  const ySafe = tf.where(valid, yc, tf.zerosLike(yc)) as tf.Tensor1D;
  const Wy = tf.gather(items, ySafe);
  const pos = tf.sum(tf.mul(Hc, Wy), 1) as tf.Tensor1D;
  return { Hc, valid, ySafe, Wy, pos };
}

/** A chunk's sampled logits, padded to whole groups: S [G,B,K], with Hg [G,B,D], Wn [G,K,D], ids [G,K]. */
export interface SampledLogits {
  S: tf.Tensor3D;
  Hg: tf.Tensor3D;
  Wn: tf.Tensor3D;
  ids: tf.Tensor2D;
}

/**
 * s = h·w_n − log(K·q(n)) (or without the shift), −∞ where removeAccidentalHits and n = y, for
 * the chunk's rows grouped as [G, B]: each group's rows against its K shared negatives.
 */
export function sampledLogits(
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  rows: ChunkRows,
  chunk: Chunk,
  negs: ChunkNegatives,
  o: ResolvedCceOptions,
): SampledLogits {
  const { G, B } = chunk;
  const D = items.shape[1];
  const K = negs.ids.length / G;
  const padded = G * B;
  const ids = tf.tensor2d(negs.ids, [G, K], 'int32');
  const Wn = tf.reshape(gatherRows(items, negs.ids), [G, K, D]) as tf.Tensor3D;
  const Hpad =
    padded > chunk.rows
      ? tf.pad(rows.Hc, [
          [0, padded - chunk.rows],
          [0, 0],
        ])
      : rows.Hc;
  const Hg = tf.reshape(Hpad, [G, B, D]) as tf.Tensor3D;
  let S: tf.Tensor3D = tf.matMul(Hg, Wn, false, true);
  if (o.logQ) S = tf.sub(S, tf.tensor3d(negs.shift, [G, 1, K]));
  if (o.removeAccidentalHits) {
    const yc = tf.slice(targets, [chunk.r0], [chunk.rows]);
    const ypad = padded > chunk.rows ? tf.pad(yc, [[0, padded - chunk.rows]], o.ignoreIndex) : yc;
    const hit = tf.equal(tf.reshape(ids, [G, 1, K]), tf.reshape(ypad, [G, B, 1]));
    S = tf.where(hit, tf.fill(S.shape, Number.NEGATIVE_INFINITY), S) as tf.Tensor3D;
  }
  return { S, Hg, Wn, ids };
}

/** [G,B,K] → the chunk's [rows, K] (drops the padding rows of the last group). */
export function unpad(S: tf.Tensor3D, rows: number): tf.Tensor2D {
  const [G, B, K] = S.shape;
  const flat = tf.reshape(S, [G * B, K]) as tf.Tensor2D;
  return G * B > rows ? tf.slice(flat, [0, 0], [rows, K]) : flat;
}

/** logsumexp(pos_i, s_i0 … s_i,K-1) per row, stable; s may hold −∞. */
export function sampledLse(S: tf.Tensor2D, pos: tf.Tensor1D): tf.Tensor1D {
  const m = tf.maximum(tf.max(S, 1), pos);
  const sum = tf.add(tf.exp(tf.sub(pos, m)), tf.sum(tf.exp(tf.sub(S, tf.expandDims(m, 1))), 1));
  return tf.add(m, tf.log(sum));
}
