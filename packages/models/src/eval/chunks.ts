/** Chunking helpers shared by the tfjs scoring paths: chunk sizes and seen-item masks per chunk. */
import * as tf from '@tensorflow/tfjs';
import { type SeenItems, seenInChunk } from './seen.js';

/** Scores held per chunk by default (U × chunk ≈ 4M floats = 16 MiB). */
const DEFAULT_CHUNK_SCORES = 1 << 22;

/** Items per chunk for U users: `requested` when given (checked), else about 4M scores per chunk. */
export function chunkItems(U: number, C: number, requested?: number): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1) {
      throw new RangeError(`options.chunkSize must be an integer ≥ 1, got ${requested}`);
    }
    return Math.min(requested, C);
  }
  return Math.max(1, Math.min(C, Math.floor(DEFAULT_CHUNK_SCORES / Math.max(1, U))));
}

/** scores [U, n] of chunk [c0, c0 + n) with seen items set to −∞ (unchanged when none fall inside). */
export function maskSeen(scores: tf.Tensor2D, seen: SeenItems | undefined, c0: number): tf.Tensor2D {
  if (!seen) return scores;
  const [U, n] = scores.shape;
  const pairs = seenInChunk(seen, U, c0, n);
  if (pairs.length === 0) return scores;
  return tf.tidy(() => {
    const P = pairs.length / 2;
    const hits = tf.scatterND(tf.tensor2d(pairs, [P, 2], 'int32'), tf.ones([P]), [U, n]);
    return tf.where(tf.greater(hits, 0), tf.fill([U, n], Number.NEGATIVE_INFINITY), scores) as tf.Tensor2D;
  });
}
