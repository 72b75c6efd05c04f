/**
 * Embedding WGSL kernels against the float64 reference on lavapipe (or any adapter): random
 * inputs of awkward sizes (printed seed; CUTREC_TEST_SEED replays), outputs poisoned with NaN,
 * dropout on and off, padding rows, views at unaligned element offsets, f32 and (where the device
 * has shader-f16) f16 storage of out and dOut (table, pos, dTable, dPos stay float32). Tolerances
 * (relErr): out 1e-5; dTable (CAS adds onto random starting values) and dPos 1e-5. With f16, out is
 * f32 math rounded once to f16 (half an ulp, ≤ 2^-11 = 4.9e-4 of the value): 1e-3; dOut holds f16
 * values that the reference sees too and dTable, dPos are float32 sums, so 1e-5 still holds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  embeddingBackward,
  embeddingForward,
  wgslEmbeddingBackward,
  wgslEmbeddingForward,
} from '../src/index.js';
import { testRng } from './ops/rng.js';
import {
  ACTS,
  device,
  freeAll,
  gpuArray,
  relErr,
  roundAct,
  run,
  skipReason,
  stepCounter,
} from './ops/wgsl-util.js';

describe.skipIf(skipReason !== undefined)('embedding (WGSL)', () => {
  afterEach(freeAll);
  const cases: { R: number; L: number; D: number; pad?: number }[] = [
    { R: 1, L: 1, D: 1 },
    { R: 37, L: 37, D: 3 },
    { R: 50, L: 25, D: 63, pad: 5 },
    { R: 50, L: 10, D: 64, pad: 3 },
    { R: 300, L: 60, D: 20 },
  ];
  for (const [rate, act] of [0, 0.3].flatMap((r) => ACTS.map((t) => [r, t] as const))) {
    it(`dropout ${rate}, ${act} storage: forward and scatter-add backward match the reference`, async () => {
      const rng = testRng(`wgsl embedding ${rate}${act === 'f16' ? ' f16' : ''}`);
      const tol = act === 'f16' ? 1e-3 : 1e-5;
      const gpu = device as GPUDevice;
      for (const { R, L, D, pad = 0 } of cases) {
        const V = 11;
        const padId = 0;
        const label = `R=${R} L=${L} D=${D} pad=${pad}`;
        const ids = Int32Array.from({ length: R }, () => (rng.uniform() < 0.2 ? padId : rng.int(1, V - 1)));
        const table = rng.floats(V * D);
        const pos = rng.floats(L * D);
        const scale = Math.fround(Math.sqrt(D));
        const stream = rng.int(0, 1000);
        const seed = rng.int(0, 2 ** 30);
        const spec = rate > 0 ? { seed, stream, site: 1, rate } : undefined;
        const dropout = { seed, site: 1, rate };
        const step = stepCounter(stream);
        const gIds = gpuArray(R, ids, { int: true, pad });
        const gTable = gpuArray(V * D, table, { pad });
        const gPos = gpuArray(L * D, pos);
        const out = gpuArray(R * D, undefined, { pad, act });
        run(
          wgslEmbeddingForward(gpu, {
            ids: gIds.view,
            table: gTable.view,
            pos: gPos.view,
            out: out.view,
            R,
            L,
            D,
            scale,
            padId,
            V,
            dropout,
            step,
            act,
          }),
        );
        const want = new Float64Array(R * D);
        embeddingForward({ ids, table, pos, out: want, R, L, D, scale, padId, dropout: spec });
        expect(relErr(await out.read(), want), `out ${label}`).toBeLessThanOrEqual(tol);

        const dOut = roundAct(rng.floats(R * D), act);
        const dTable0 = rng.floats(V * D);
        const dPos0 = rng.floats(L * D);
        const gdOut = gpuArray(R * D, dOut, { pad, act });
        const gdTable = gpuArray(V * D, dTable0, { pad: 2 * pad });
        const gdPos = gpuArray(L * D, dPos0, { pad });
        run(
          wgslEmbeddingBackward(gpu, {
            ids: gIds.view,
            dOut: gdOut.view,
            dTable: gdTable.view,
            dPos: gdPos.view,
            R,
            L,
            D,
            scale,
            padId,
            V,
            dropout,
            step,
            act,
          }),
        );
        const wantT = Float64Array.from(dTable0);
        const wantP = Float64Array.from(dPos0);
        embeddingBackward({ ids, dOut, dTable: wantT, dPos: wantP, R, L, D, scale, padId, dropout: spec });
        expect(relErr(await gdTable.read(), wantT), `dTable ${label}`).toBeLessThanOrEqual(1e-5);
        expect(relErr(await gdPos.read(), wantP), `dPos ${label}`).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  it('a missing step counter with dropout, and a view past its buffer, fail naming the argument', () => {
    const gpu = device as GPUDevice;
    const a = gpuArray(4);
    const args = {
      ids: a.view,
      table: a.view,
      pos: a.view,
      out: a.view,
      R: 2,
      L: 2,
      D: 2,
      scale: 1,
      padId: 0,
    };
    expect(() => wgslEmbeddingForward(gpu, { ...args, dropout: { seed: 1, site: 0, rate: 0.5 } })).toThrow(
      /step/,
    );
    expect(() => wgslEmbeddingForward(gpu, { ...args, D: 3 })).toThrow(/pos needs elements/);
  });
});
