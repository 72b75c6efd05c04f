/**
 * Full-catalog top-k on any tfjs backend without a users × C matrix: score a chunk of items
 * (matMul), mask seen items, tf.topk within the chunk, and merge with the running top-k.
 *
 * Ties go to the lower item id: tf.topk keeps the lower index among equal values, the running
 * list (earlier chunks, lower ids) is concatenated before the chunk's, and both lists are already
 * in (score desc, id asc) order, so the index order of the concatenation is the id order.
 */
import * as tf from '@tensorflow/tfjs';
import { chunkItems, maskSeen } from './chunks.js';
import type { SeenItems } from './seen.js';
import type { TopK } from './topk-types.js';

/** Top k items per user of hidden [U, D] against items [C, D] with the tfjs chunked path. */
export async function topKTfjs(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  k: number,
  options: { seen?: SeenItems; chunkSize?: number } = {},
): Promise<TopK> {
  const [U, D] = hidden.shape;
  const C = items.shape[0];
  const cs = chunkItems(U, C, options.chunkSize);
  let runS: tf.Tensor2D | undefined;
  let runI: tf.Tensor2D | undefined;
  for (let c0 = 0; c0 < C; c0 += cs) {
    const n = Math.min(cs, C - c0);
    const next = tf.tidy(() => {
      const raw = tf.matMul(hidden, tf.slice(items, [c0, 0], [n, D]), false, true) as tf.Tensor2D;
      const scores = maskSeen(raw, options.seen, c0);
      const top = tf.topk(scores, Math.min(k, n), true);
      let values = top.values as tf.Tensor2D;
      let ids = tf.add(top.indices, tf.scalar(c0, 'int32')) as tf.Tensor2D;
      if (runS && runI) {
        const allS = tf.concat([runS, values], 1);
        const allI = tf.concat([runI, ids], 1);
        const merged = tf.topk(allS, Math.min(k, allS.shape[1]!), true);
        values = merged.values as tf.Tensor2D;
        ids = tf.gather(allI, merged.indices, 1, 1) as tf.Tensor2D;
      }
      return [values, ids] as const;
    });
    runS?.dispose();
    runI?.dispose();
    [runS, runI] = next;
  }
  const width = runS!.shape[1]!;
  const s = (await runS!.data()) as Float32Array;
  const ids = (await runI!.data()) as Int32Array;
  runS!.dispose();
  runI!.dispose();
  const out: TopK = {
    items: new Int32Array(U * k).fill(-1),
    scores: new Float32Array(U * k).fill(Number.NEGATIVE_INFINITY),
    users: U,
    k,
  };
  for (let u = 0; u < U; u++) {
    for (let j = 0; j < width; j++) {
      const v = s[u * width + j]!;
      if (v === Number.NEGATIVE_INFINITY) break; // seen items (and −∞ scores) are never returned
      out.items[u * k + j] = ids[u * width + j]!;
      out.scores[u * k + j] = v;
    }
  }
  return out;
}
