/** The rank of each user's target among all items, computed chunk by chunk (no users × C matrix). */
import * as tf from '@tensorflow/tfjs';
import { chunkItems, maskSeen } from './chunks.js';
import { checkSeen, type SeenItems } from './seen.js';

/** Options of {@link rankOfTarget}. */
export interface RankOptions {
  /** Items that do not compete with the target (the target itself always counts as a candidate). */
  seen?: SeenItems;
  /** Items per chunk. Default: about 4M scores per chunk. */
  chunkSize?: number;
}

/**
 * 0-based rank [U] of targets[u] among all C items for hidden [U, D] and items [C, D]: the number
 * of non-seen items c ≠ y that score higher, or equal with a lower id (the top-k order), so rank 0
 * is the top. The target's own score comes from a batched product of the same shapes, which on
 * the CPU backend sums in the matMul's order (exact ties stay exact).
 */
export async function rankOfTarget(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: Int32Array,
  options: RankOptions = {},
): Promise<Int32Array> {
  const [U, D] = hidden.shape;
  const C = items.shape[0];
  if (items.shape[1] !== D)
    throw new RangeError(`rankOfTarget: items must be [C, ${D}], got [${items.shape}]`);
  if (targets.length !== U)
    throw new RangeError(`rankOfTarget: targets has ${targets.length} entries, hidden ${U} rows`);
  for (let u = 0; u < U; u++) {
    const y = targets[u]!;
    if (y < 0 || y >= C) throw new RangeError(`rankOfTarget: targets[${u}] = ${y} is outside [0, ${C})`);
  }
  if (options.seen) checkSeen(options.seen, U, C);
  if (U === 0) return new Int32Array(0);
  // The target never counts as seen, whatever the history says.
  const seen = options.seen ? withoutTargets(options.seen, targets) : undefined;
  const cs = chunkItems(U, C, options.chunkSize);
  const y = tf.tensor1d(targets, 'int32');
  const yCol = tf.reshape(y, [U, 1]);
  const sy = tf.tidy(() => {
    const wy = tf.gather(items, y); // [U, D]
    return tf.reshape(tf.matMul(tf.reshape(hidden, [U, 1, D]), tf.reshape(wy, [U, D, 1])), [U, 1]);
  });
  let count = tf.zeros([U], 'int32');
  for (let c0 = 0; c0 < C; c0 += cs) {
    const n = Math.min(cs, C - c0);
    const next = tf.tidy(() => {
      const s = maskSeen(
        tf.matMul(hidden, tf.slice(items, [c0, 0], [n, D]), false, true) as tf.Tensor2D,
        seen,
        c0,
      );
      const ids = tf.reshape(tf.range(c0, c0 + n, 1, 'int32'), [1, n]);
      const beats = tf.logicalOr(tf.greater(s, sy), tf.logicalAnd(tf.equal(s, sy), tf.less(ids, yCol)));
      const counted = tf.logicalAnd(beats, tf.notEqual(ids, yCol));
      return tf.add(count, tf.sum(tf.cast(counted, 'int32'), 1));
    });
    count.dispose();
    count = next;
  }
  const out = (await count.data()) as Int32Array;
  tf.dispose([count, y, yCol, sy]);
  return Int32Array.from(out);
}

function withoutTargets(seen: SeenItems, targets: Int32Array): SeenItems {
  const offsets = new Int32Array(seen.offsets.length);
  const items: number[] = [];
  for (let u = 0; u + 1 < seen.offsets.length; u++) {
    for (let i = seen.offsets[u]!; i < seen.offsets[u + 1]!; i++) {
      if (seen.items[i] !== targets[u]) items.push(seen.items[i]!);
    }
    offsets[u + 1] = items.length;
  }
  return { offsets, items: Int32Array.from(items) };
}
