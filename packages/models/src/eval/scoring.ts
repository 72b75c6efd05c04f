/** Model-level evaluation helpers: top-k recommendations and target ranks for users' histories, in batches of users. */
import * as tf from '@tensorflow/tfjs';
import type { SASRec } from '../sasrec.js';
import { rankOfTarget } from './rank.js';
import type { SeenItems } from './seen.js';
import { topKItems } from './topk.js';
import type { TopK, TopKOptions } from './topk-types.js';

/** Users [u0, u1) of a CSR seen list, re-based to start at 0. */
export function sliceSeen(seen: SeenItems, u0: number, u1: number): SeenItems {
  const a = seen.offsets[u0]!;
  const offsets = new Int32Array(u1 - u0 + 1);
  for (let u = u0; u <= u1; u++) offsets[u - u0] = seen.offsets[u]! - a;
  return { offsets, items: seen.items.subarray(a, seen.offsets[u1]!) };
}

function checkInputs(model: SASRec, inputs: Int32Array): number {
  const L = model.config.maxLen;
  if (inputs.length % L !== 0) {
    throw new RangeError(`inputs has ${inputs.length} entries, not a multiple of maxLen ${L}`);
  }
  return inputs.length / L;
}

/**
 * Top k items per user for left-padded histories inputs [U·L] (each row read at its last
 * position), best first; `seen` excludes items per user. Users go through in batches.
 */
export async function recommend(
  model: SASRec,
  inputs: Int32Array,
  k: number,
  options: TopKOptions & { batchSize?: number } = {},
): Promise<TopK> {
  const U = checkInputs(model, inputs);
  const L = model.config.maxLen;
  const bs = options.batchSize ?? 256;
  const out: TopK = { items: new Int32Array(U * k), scores: new Float32Array(U * k), users: U, k };
  const items = model.itemEmbeddings();
  try {
    for (let u0 = 0; u0 < U; u0 += bs) {
      const u1 = Math.min(U, u0 + bs);
      const x = tf.tensor2d(inputs.subarray(u0 * L, u1 * L), [u1 - u0, L], 'int32');
      const h = model.lastHidden(x);
      x.dispose();
      const part = await topKItems(h, items, k, {
        ...options,
        ...(options.seen ? { seen: sliceSeen(options.seen, u0, u1) } : {}),
      });
      h.dispose();
      out.items.set(part.items, u0 * k);
      out.scores.set(part.scores, u0 * k);
    }
  } finally {
    items.dispose();
  }
  return out;
}

/** 0-based ranks [U] of targets among all items for histories inputs [U·L] (see {@link rankOfTarget}). */
export async function rankTargets(
  model: SASRec,
  inputs: Int32Array,
  targets: Int32Array,
  options: { seen?: SeenItems; batchSize?: number; chunkSize?: number } = {},
): Promise<Int32Array> {
  const U = checkInputs(model, inputs);
  if (targets.length !== U) throw new RangeError(`targets has ${targets.length} entries, inputs ${U} rows`);
  const L = model.config.maxLen;
  const bs = options.batchSize ?? 256;
  const ranks = new Int32Array(U);
  const items = model.itemEmbeddings();
  try {
    for (let u0 = 0; u0 < U; u0 += bs) {
      const u1 = Math.min(U, u0 + bs);
      const x = tf.tensor2d(inputs.subarray(u0 * L, u1 * L), [u1 - u0, L], 'int32');
      const h = model.lastHidden(x);
      x.dispose();
      const r = await rankOfTarget(h, items, targets.subarray(u0, u1), {
        ...(options.seen ? { seen: sliceSeen(options.seen, u0, u1) } : {}),
        ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
      });
      h.dispose();
      ranks.set(r, u0);
    }
  } finally {
    items.dispose();
  }
  return ranks;
}
