import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  rankOfTarget,
  type SeenItems,
  seenFromHistories,
  topKItems,
  topKReference,
  topKTfjs,
} from '../src/index.js';
import {
  type Case,
  expectClose,
  expectExact,
  floatCase,
  integerCase,
  lcg,
  referenceRanks,
} from './topk-cases.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

function tensors(c: Case): [tf.Tensor2D, tf.Tensor2D] {
  return [tf.tensor2d(c.hidden, [c.U, c.D]), tf.tensor2d(c.items, [c.C, c.D])];
}

describe('topKReference (the plain sort)', () => {
  it('orders by score descending, ties to the lower id, skips seen and −∞, pads with −1', () => {
    const scores = [1, 3, 3, 2, Number.NEGATIVE_INFINITY, 3];
    const seen: SeenItems = { offsets: Int32Array.from([0, 1]), items: Int32Array.from([2]) };
    const r = topKReference(scores, 1, 6, 6, seen);
    expect(Array.from(r.items)).toEqual([1, 5, 3, 0, -1, -1]);
    expect(Array.from(r.scores)).toEqual([3, 3, 2, 1, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });
});

describe('topKItems, tfjs chunked path (CPU backend)', () => {
  const cases: [string, number, number, number][] = [
    ['U=7 C=53 D=5', 7, 53, 5],
    ['U=3 C=1 D=3 (one item)', 3, 1, 3],
    ['U=11 C=130 D=9', 11, 130, 9],
  ];
  for (const [name, U, C, D] of cases) {
    for (const k of [1, 5, 20, 60]) {
      for (const chunkSize of [8, 13, undefined]) {
        it(`${name}, k=${k}, chunk=${chunkSize ?? 'auto'}: exact against the sort (ties to the lower id), with and without seen items`, async () => {
          const c = integerCase(U, C, D, U * 1000 + C + k);
          const [h, w] = tensors(c);
          const opts = chunkSize === undefined ? {} : { chunkSize };
          expectExact(await topKTfjs(h, w, k, opts), c, k);
          expectExact(await topKItems(h, w, k, { ...opts, seen: c.seen, impl: 'tfjs' }), c, k, c.seen);
          tf.dispose([h, w]);
        });
      }
    }
  }

  it('float inputs: matches the sort within 1e-4', async () => {
    const c = floatCase(9, 257, 17, 5);
    const [h, w] = tensors(c);
    for (const k of [1, 10, 100]) {
      expectClose(await topKItems(h, w, k, { chunkSize: 31 }), c, k, undefined, 1e-4);
      expectClose(await topKItems(h, w, k, { chunkSize: 64, seen: c.seen }), c, k, c.seen, 1e-4);
    }
    tf.dispose([h, w]);
  });

  it('holds no tensors after it returns', async () => {
    const c = integerCase(4, 40, 3, 9);
    const [h, w] = tensors(c);
    const before = tf.memory().numTensors;
    await topKItems(h, w, 7, { chunkSize: 9, seen: c.seen });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([h, w]);
  });

  it('bad arguments fail naming them', async () => {
    const c = integerCase(2, 5, 3, 1);
    const [h, w] = tensors(c);
    await expect(topKItems(h, w, 0)).rejects.toThrow(/k must be/);
    await expect(topKItems(h, tf.zeros([5, 4]) as tf.Tensor2D, 2)).rejects.toThrow(/share D/);
    await expect(topKItems(h, w, 2, { impl: 'wgsl' })).rejects.toThrow(/WebGPU backend/);
    const badSeen = { offsets: Int32Array.from([0, 1]), items: Int32Array.from([0]) };
    await expect(topKItems(h, w, 2, { seen: badSeen })).rejects.toThrow(/seen\.offsets/);
    expect(() => seenFromHistories([[0, 7]], 5)).toThrow(/histories\[0\]\[1\] = 7/);
    tf.dispose([h, w]);
  });
});

describe('rankOfTarget (CPU backend)', () => {
  for (const [U, C, D, chunk] of [
    [7, 53, 5, 8],
    [12, 130, 9, 1000],
    [3, 1, 2, 1],
  ] as const) {
    it(`U=${U} C=${C} D=${D} chunk=${chunk}: exact against the sort, with ties, with seen items (a seen target still counts)`, async () => {
      const c = integerCase(U, C, D, U + C);
      const r = lcg(C);
      const targets = Int32Array.from({ length: U }, () => Math.floor(r() * C));
      const [h, w] = tensors(c);
      expect(Array.from(await rankOfTarget(h, w, targets, { chunkSize: chunk }))).toEqual(
        Array.from(referenceRanks(c, targets)),
      );
      // Put each target into its user's history too: it must still be ranked.
      const withTarget = seenFromHistories(
        Array.from({ length: U }, (_, u) => [
          ...Array.from(c.seen.items.subarray(c.seen.offsets[u]!, c.seen.offsets[u + 1]!)),
          targets[u]!,
        ]),
        C,
      );
      const seenNoTarget = seenFromHistories(
        Array.from({ length: U }, (_, u) =>
          Array.from(withTarget.items.subarray(withTarget.offsets[u]!, withTarget.offsets[u + 1]!)).filter(
            (i) => i !== targets[u],
          ),
        ),
        C,
      );
      expect(Array.from(await rankOfTarget(h, w, targets, { chunkSize: chunk, seen: withTarget }))).toEqual(
        Array.from(referenceRanks(c, targets, seenNoTarget)),
      );
      tf.dispose([h, w]);
    });
  }

  it('float inputs: equal to the rank in the sorted matMul scores', async () => {
    const c = floatCase(20, 300, 16, 3);
    const [h, w] = tensors(c);
    const full = tf.matMul(h, w, false, true);
    const s = Float64Array.from(await full.data());
    const targets = Int32Array.from({ length: 20 }, (_, u) => (u * 37) % 300);
    expect(Array.from(await rankOfTarget(h, w, targets, { chunkSize: 41, seen: c.seen }))).toEqual(
      Array.from(referenceRanks({ ...c, scores: s }, targets, c.seen)),
    );
    tf.dispose([h, w, full]);
  });

  it('rejects targets outside the catalog', async () => {
    const c = integerCase(2, 5, 3, 1);
    const [h, w] = tensors(c);
    await expect(rankOfTarget(h, w, Int32Array.from([0, 5]))).rejects.toThrow(/targets\[1\] = 5/);
    tf.dispose([h, w]);
  });
});
