import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  DropoutMaskProgram,
  dropoutMaskHost,
  evaluateModel,
  rankOfTarget,
  SASRec,
  Trainer,
  topKItems,
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

const { device, skipReason } = await webgpuForTests();
if (!device) console.warn(`[models] WebGPU tests skipped: ${skipReason?.split('\n')[0]}`);

function tensors(c: Case): [tf.Tensor2D, tf.Tensor2D] {
  return [tf.tensor2d(c.hidden, [c.U, c.D]), tf.tensor2d(c.items, [c.C, c.D])];
}

describe.skipIf(!device)(
  'WebGPU: top-k (fused WGSL kernel and the tfjs path), ranks, a training step',
  () => {
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

    it('a tiny SASRec trains on WebGPU (bce and cce-, impl auto) and evaluates with the fused kernel', async () => {
      const C = 37;
      const L = 5;
      const B = 6;
      const inputs = new Int32Array(B * L).fill(C);
      const targets = new Int32Array(B * L).fill(-1);
      for (let b = 0; b < B; b++) {
        let item = (b * 5) % C;
        for (let t = b % 2; t < L; t++) {
          inputs[b * L + t] = item;
          item = (item * 3 + 1) % C;
          targets[b * L + t] = item;
        }
      }
      for (const loss of [
        { kind: 'bce' as const, negatives: 3 },
        { kind: 'cce-' as const, negatives: 4 },
      ]) {
        const model = new SASRec({ numItems: C, maxLen: L, hidden: 8, numBlocks: 1, dropout: 0.1, seed: 2 });
        const trainer = new Trainer(model, { loss, optimizer: { lr: 2e-2 } });
        const losses: number[] = [];
        for (let i = 0; i < 12; i++) losses.push(await trainer.trainStepAsync({ inputs, targets }));
        expect(losses.every(Number.isFinite)).toBe(true);
        expect(() => trainer.trainStep({ inputs, targets })).toThrow(/trainStepAsync/);
        expect(losses.slice(-3).reduce((a, b) => a + b)).toBeLessThan(
          losses.slice(0, 3).reduce((a, b) => a + b),
        );
        const examples = [{ user: 0, history: Int32Array.from([1, 4, 13]), target: 3 }];
        const byRank = await evaluateModel(model, examples, { ks: [5] });
        const byTopK = await evaluateModel(model, examples, { ks: [5], mode: 'topk' });
        expect(byTopK['ndcg@5']).toBeCloseTo(byRank['ndcg@5']!, 6);
        trainer.dispose();
        model.dispose();
      }
    });

    it('dropout masks from the Philox kernel equal the host computation bit for bit (awkward sizes)', async () => {
      for (const [shape, rate] of [
        [[1], 0.5],
        [[5], 0.2],
        [[3, 7, 197], 0.1],
        [[2, 2, 1031], 0.9],
      ] as [number[], number][]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const draw = { seed: 2 ** 40 + 17, stream: 12, site: 3 };
        const t = DropoutMaskProgram.get(device!).run(shape, rate, draw);
        expect(t.shape).toEqual(shape);
        const got = (await t.data()) as Float32Array;
        const want = dropoutMaskHost(n, rate, draw);
        expect(Array.from(got)).toEqual(Array.from(want));
        if (n > 1000) {
          const kept = want.filter((v) => v !== 0).length / n;
          expect(Math.abs(kept - (1 - rate))).toBeLessThan(0.05);
          const other = dropoutMaskHost(n, rate, { ...draw, stream: 13 });
          expect(Array.from(other)).not.toEqual(Array.from(want));
        }
        t.dispose();
      }
    });
  },
);
