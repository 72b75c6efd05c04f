/**
 * The fused top-k WGSL kernel through its view launcher (wgslTopK, the fused engine's door) against
 * the plain-sort reference on lavapipe (or any adapter): a strided last-position view of hidden
 * ([U, L, D] at offset (L − 1)·D), unaligned views, seen lists, k = 1 … past the catalog (−1 / −∞
 * fill), C = 1, U = 0; outputs poisoned with NaN. Integer-valued inputs (exact scores, many ties
 * that only the id orders): ids and scores equal exactly. Float inputs: the scores at each rank
 * within 1e-5 of the row's score scale (Σ|h·w|), and each id's own float64 score within that
 * of its reported score (near-ties may swap ids). Every case runs with hidden stored as f32 and,
 * where the device has shader-f16, as f16 (the reference sees the same f16 values; items, ids and
 * scores stay f32 / i32). Also TopKProgram.run (the tfjs-tensor door) on one case. Printed seed
 * (CUTREC_TEST_SEED replays).
 */
import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type SeenItems, TopKProgram, topKReference, wgslTopK } from '../src/index.js';
import { testRng } from './ops/rng.js';
import { ACTS, device, freeAll, gpuArray, roundAct, run, skipReason } from './ops/wgsl-util.js';

interface Case {
  U: number;
  C: number;
  D: number;
  L: number;
  k: number;
  integer: boolean;
  seen?: number;
}

const cases: Case[] = [
  { U: 0, C: 5, D: 3, L: 1, k: 2, integer: true },
  { U: 3, C: 1, D: 2, L: 1, k: 4, integer: true },
  { U: 7, C: 67, D: 5, L: 2, k: 1, integer: true },
  { U: 33, C: 301, D: 16, L: 3, k: 70, integer: true, seen: 40 },
  { U: 20, C: 150, D: 9, L: 1, k: 160, integer: true, seen: 10 },
  { U: 41, C: 500, D: 24, L: 2, k: 10, integer: false, seen: 10 },
  { U: 9, C: 1000, D: 64, L: 1, k: 130, integer: false },
];

function seenLists(rng: ReturnType<typeof testRng>, U: number, C: number, most: number): SeenItems {
  const offsets = new Int32Array(U + 1);
  const all: number[] = [];
  for (let u = 0; u < U; u++) {
    const s = new Set<number>();
    const n = rng.int(0, Math.min(most, C));
    for (let i = 0; i < n; i++) s.add(rng.int(0, C - 1));
    all.push(...[...s].sort((a, b) => a - b));
    offsets[u + 1] = all.length;
  }
  return { offsets, items: Int32Array.from(all) };
}

describe.skipIf(skipReason !== undefined)('top-k (WGSL)', () => {
  afterEach(freeAll);
  for (const [act, c] of ACTS.flatMap((act) => cases.map((c) => [act, c] as const))) {
    it(`U=${c.U} C=${c.C} D=${c.D} L=${c.L} k=${c.k} ${c.integer ? 'integer' : 'float'}${c.seen ? ` seen ≤ ${c.seen}` : ''}, ${act} storage`, async () => {
      const rng = testRng(`wgsl topk ${JSON.stringify(c)} ${act}`);
      const gpu = device as GPUDevice;
      const { U, C, D, L, k } = c;
      const val = () => (c.integer ? rng.int(-2, 2) : rng.normal());
      const hidden = Float32Array.from(roundAct(Float32Array.from({ length: U * L * D }, val), act));
      const items = Float32Array.from({ length: C * D }, val);
      // Duplicate rows: equal scores that only the id orders.
      if (c.integer) for (let x = 3; x < C; x += 7) items.copyWithin(x * D, (x - 3) * D, (x - 2) * D);
      const seen = c.seen === undefined ? undefined : seenLists(rng, U, C, c.seen);
      const rowStride = L * D;
      const offset = (L - 1) * D;
      const scores = new Float64Array(U * C);
      const scale = new Float64Array(U);
      for (let u = 0; u < U; u++) {
        for (let x = 0; x < C; x++) {
          let s = 0;
          let a = 0;
          for (let d = 0; d < D; d++) {
            const p = hidden[offset + u * rowStride + d]! * items[x * D + d]!;
            s += p;
            a += Math.abs(p);
          }
          scores[u * C + x] = s;
          scale[u] = Math.max(scale[u]!, a);
        }
      }
      const want = topKReference(scores, U, C, k, seen);
      const ids = gpuArray(U * k, undefined, { pad: 1 });
      const outScores = gpuArray(U * k, undefined, { pad: 2 });
      run(
        wgslTopK(gpu, {
          hidden: gpuArray(U * L * D, hidden, { pad: 3, act }).view,
          rowStride,
          offset,
          items: gpuArray(C * D, items, { pad: 5 }).view,
          U,
          C,
          D,
          k,
          ...(seen
            ? {
                seen: {
                  offsets: gpuArray(U + 1, seen.offsets, { int: true, pad: 1 }).view,
                  items: gpuArray(seen.items.length, seen.items, { int: true, pad: 2 }).view,
                  nnz: seen.items.length,
                },
              }
            : {}),
          ids: ids.view,
          outScores: outScores.view,
          act,
        }),
      );
      const gotIds = new Int32Array((await ids.readU32()).buffer);
      const gotScores = await outScores.read();
      if (c.integer) {
        expect([...gotIds]).toEqual([...want.items]);
        // Exact scores; a zero score may come out as −0 (a sum of a negative product and zeros), which equals 0.
        const plus0 = (x: ArrayLike<number>) => Array.from(x, (v) => v + 0);
        expect(plus0(gotScores)).toEqual(plus0(want.scores));
        return;
      }
      for (let u = 0; u < U; u++) {
        const tol = 1e-5 * Math.max(1e-30, scale[u]!);
        for (let j = 0; j < k; j++) {
          const e = u * k + j;
          const id = gotIds[e]!;
          expect(id === -1, `user ${u} rank ${j}: id present`).toBe(want.items[e] === -1);
          if (id === -1) {
            expect(gotScores[e], `user ${u} rank ${j}: −∞`).toBe(Number.NEGATIVE_INFINITY);
            continue;
          }
          expect(Math.abs(gotScores[e]! - want.scores[e]!), `user ${u} rank ${j}: score`).toBeLessThanOrEqual(
            tol,
          );
          expect(
            Math.abs(gotScores[e]! - scores[u * C + id]!),
            `user ${u} rank ${j}: id's score`,
          ).toBeLessThanOrEqual(tol);
          if (seen)
            expect(seen.items.subarray(seen.offsets[u], seen.offsets[u + 1]).includes(id)).toBe(false);
        }
        const row = [...gotIds.subarray(u * k, (u + 1) * k)].filter((x) => x >= 0);
        expect(new Set(row).size, `user ${u}: distinct ids`).toBe(row.length);
      }
    });
  }

  it('rejects k past the kernel and a program of another shape', () => {
    const gpu = device as GPUDevice;
    const v = gpuArray(16).view;
    const base = { hidden: v, rowStride: 2, offset: 0, items: v, U: 2, C: 3, D: 2, ids: v, outScores: v };
    expect(() => wgslTopK(gpu, { ...base, k: 513 })).toThrow(/k must be/);
    const other = new TopKProgram(gpu, { k: 3, dim: 2, workgroupSize: 64 });
    expect(() => wgslTopK(gpu, { ...base, k: 2, program: other })).toThrow(/program is for k 3/);
  });

  it('TopKProgram.run (float32 tfjs tensors) still matches the reference', async () => {
    const gpu = device as GPUDevice;
    await setupTfjs({ backend: 'webgpu', device: gpu });
    const rng = testRng('wgsl topk run');
    const [U, C, D, k] = [6, 97, 7, 9];
    const hidden = Float32Array.from({ length: U * D }, () => rng.int(-2, 2));
    const items = Float32Array.from({ length: C * D }, () => rng.int(-2, 2));
    const seen = seenLists(rng, U, C, 8);
    const scores = new Float64Array(U * C);
    for (let u = 0; u < U; u++)
      for (let x = 0; x < C; x++)
        for (let d = 0; d < D; d++) scores[u * C + x]! += hidden[u * D + d]! * items[x * D + d]!;
    const h = tf.tensor2d(hidden, [U, D]);
    const w = tf.tensor2d(items, [C, D]);
    const p = await TopKProgram.get(gpu, k, D);
    for (const s of [undefined, seen]) {
      const got = await p.run(h, w, s, true);
      const want = topKReference(scores, U, C, k, s);
      expect([...got.items]).toEqual([...want.items]);
      expect([...got.scores]).toEqual([...want.scores]);
    }
    tf.dispose([h, w]);
  });
});
