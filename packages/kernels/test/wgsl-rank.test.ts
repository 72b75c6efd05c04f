/**
 * The target-rank WGSL kernel against the float64 reference on lavapipe (or any adapter):
 * integer-valued inputs (exact scores, many ties: ranks equal exactly), seen lists that hold
 * targets, a strided last-position view ([U, L, D], offset (L − 1)·D), C = 1, U = 0; float
 * inputs where a rank may differ only by the candidates within float32 rounding of the
 * target's score. Ranks poisoned (−1 bits) before the run; printed seed (CUTREC_TEST_SEED replays).
 * Every case also runs with f16 storage of hidden (where the device has shader-f16; items stay
 * float32): hidden holds f16 values (integers in [−3, 3] are exact) and the reference sees the same
 * values, so the same checks hold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rankOfTargets, wgslRankOfTargets } from '../src/index.js';
import { testRng } from './ops/rng.js';
import { ACTS, device, freeAll, gpuArray, roundAct, run, skipReason } from './ops/wgsl-util.js';

describe.skipIf(skipReason !== undefined)('rank (WGSL)', () => {
  afterEach(freeAll);
  const cases: { U: number; C: number; D: number; L: number; integer: boolean; seen?: number }[] = [
    { U: 0, C: 5, D: 3, L: 1, integer: true },
    { U: 3, C: 1, D: 2, L: 1, integer: true },
    { U: 70, C: 301, D: 16, L: 3, integer: true },
    { U: 57, C: 203, D: 33, L: 1, integer: true, seen: 40 },
    { U: 40, C: 500, D: 24, L: 2, integer: false, seen: 10 },
  ];
  for (const [act, c] of ACTS.flatMap((act) => cases.map((c) => [act, c] as const))) {
    it(`U=${c.U} C=${c.C} D=${c.D} L=${c.L} ${c.integer ? 'integer' : 'float'}${c.seen ? ` seen ≤ ${c.seen}` : ''}, ${act} storage`, async () => {
      const rng = testRng(`wgsl rank ${JSON.stringify(c)} ${act}`);
      const gpu = device as GPUDevice;
      const { U, C, D, L } = c;
      const val = () => (c.integer ? rng.int(-3, 3) : rng.normal());
      const hidden = Float32Array.from(roundAct(Float32Array.from({ length: U * L * D }, val), act));
      const items = Float32Array.from({ length: C * D }, val);
      const targets = Int32Array.from({ length: U }, () => rng.int(0, C - 1));
      let seen: { offsets: Int32Array; items: Int32Array } | undefined;
      if (c.seen !== undefined) {
        const offsets = new Int32Array(U + 1);
        const all: number[] = [];
        for (let u = 0; u < U; u++) {
          const s = new Set<number>();
          const n = rng.int(0, Math.min(c.seen, C));
          for (let i = 0; i < n; i++) s.add(rng.int(0, C - 1));
          if (rng.uniform() < 0.5) s.add(targets[u]!);
          all.push(...[...s].sort((a, b) => a - b));
          offsets[u + 1] = all.length;
        }
        seen = { offsets, items: Int32Array.from(all) };
      }
      const rowStride = L * D;
      const offset = (L - 1) * D;
      const want = new Int32Array(U);
      rankOfTargets({
        hidden,
        rowStride,
        offset,
        items,
        targets,
        U,
        C,
        D,
        ...(seen ? { seen } : {}),
        ranks: want,
      });
      const ranks = gpuArray(U, new Int32Array(U).fill(-1), { int: true, pad: 1 });
      run(
        wgslRankOfTargets(gpu, {
          hidden: gpuArray(U * L * D, hidden, { pad: 3, act }).view,
          rowStride,
          offset,
          items: gpuArray(C * D, items).view,
          targets: gpuArray(U, targets, { int: true }).view,
          U,
          C,
          D,
          ...(seen
            ? {
                seen: {
                  offsets: gpuArray(U + 1, seen.offsets, { int: true }).view,
                  items: gpuArray(seen.items.length, seen.items, { int: true }).view,
                  nnz: seen.items.length,
                },
              }
            : {}),
          ranks: ranks.view,
          act,
        }),
      );
      const got = new Int32Array((await ranks.readU32()).buffer);
      if (c.integer) {
        expect([...got]).toEqual([...want]);
        return;
      }
      // Float inputs: |got − want| ≤ the candidates whose score is within 1e-5·Σ|h·w| of the target's.
      for (let u = 0; u < U; u++) {
        const score = (x: number) => {
          let s = 0;
          let a = 0;
          for (let d = 0; d < D; d++) {
            const p = hidden[offset + u * rowStride + d]! * items[x * D + d]!;
            s += p;
            a += Math.abs(p);
          }
          return [s, a] as const;
        };
        const [sy, ay] = score(targets[u]!);
        let near = 0;
        for (let x = 0; x < C; x++) {
          if (x === targets[u]) continue;
          const [s, a] = score(x);
          if (Math.abs(s - sy) <= 1e-5 * Math.max(a, ay)) near++;
        }
        expect(Math.abs(got[u]! - want[u]!), `user ${u}`).toBeLessThanOrEqual(near);
      }
    });
  }
});
