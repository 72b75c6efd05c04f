import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { rankOfTarget, topKItems } from '../src/index.js';
import {
  type Case,
  expectClose,
  expectExact,
  floatCase,
  integerCase,
  lcg,
  referenceRanks,
} from './topk-cases.js';

const { device, skipReason } = await webgpuForTests();
if (!device) console.warn(`[models] WebGPU top-k tests skipped: ${skipReason?.split('\n')[0]}`);

function tensors(c: Case): [tf.Tensor2D, tf.Tensor2D] {
  return [tf.tensor2d(c.hidden, [c.U, c.D]), tf.tensor2d(c.items, [c.C, c.D])];
}

describe.skipIf(!device)('top-k on WebGPU (fused WGSL kernel and the tfjs path)', () => {
  it('sets up tfjs on our device', async () => {
    const s = await setupTfjs({ backend: 'webgpu', device: device! });
    expect(s.backend).toBe('webgpu');
  });

  for (const [U, C, D, ks] of [
    [5, 67, 5, [1, 5, 64, 70]],
    [2, 1, 3, [1, 70]],
    [9, 200, 12, [5, 64]],
  ] as const) {
    it(`U=${U} C=${C} D=${D}: fused kernel exact against the sort for k = ${ks.join(', ')} (64 > tile, 70 > C), with ties and seen items`, async () => {
      const c = integerCase(U, C, D, U * 31 + C);
      const [h, w] = tensors(c);
      for (const k of ks) {
        expectExact(await topKItems(h, w, k, { impl: 'wgsl', poisonOutputs: true }), c, k);
        expectExact(
          await topKItems(h, w, k, { impl: 'wgsl', seen: c.seen, poisonOutputs: true }),
          c,
          k,
          c.seen,
        );
      }
      tf.dispose([h, w]);
    });
  }

  it('tfjs chunked path on WebGPU: exact against the sort', async () => {
    const c = integerCase(6, 90, 7, 3);
    const [h, w] = tensors(c);
    for (const k of [1, 12, 40]) {
      expectExact(await topKItems(h, w, k, { impl: 'tfjs', chunkSize: 17 }), c, k);
      expectExact(await topKItems(h, w, k, { impl: 'tfjs', chunkSize: 17, seen: c.seen }), c, k, c.seen);
    }
    tf.dispose([h, w]);
  });

  it('float inputs: fused kernel within 1e-4 of the float64 sort; auto picks it', async () => {
    const c = floatCase(7, 333, 24, 8);
    const [h, w] = tensors(c);
    for (const k of [3, 100]) {
      expectClose(await topKItems(h, w, k, { poisonOutputs: true }), c, k, undefined, 1e-4);
      expectClose(await topKItems(h, w, k, { seen: c.seen, poisonOutputs: true }), c, k, c.seen, 1e-4);
    }
    tf.dispose([h, w]);
  });

  it('rankOfTarget on WebGPU: exact against the sort on integer inputs', async () => {
    const c = integerCase(8, 77, 6, 4);
    const r = lcg(5);
    const targets = Int32Array.from({ length: 8 }, () => Math.floor(r() * 77));
    const [h, w] = tensors(c);
    expect(Array.from(await rankOfTarget(h, w, targets, { chunkSize: 20, seen: c.seen }))).toEqual(
      Array.from(referenceRanks(c, targets, c.seen)),
    );
    tf.dispose([h, w]);
  });
});
