/**
 * Embedding CUDA kernels against the float64 reference: random inputs of awkward sizes (printed
 * seed), outputs poisoned with NaN, float32 and bf16 storage, dropout on and off, padding rows,
 * a misaligned output view (scalar path with D % 4 == 0). Skipped with the reason where there is
 * no GPU; failed under CUTREC_REQUIRE_CUDA=1. Tolerances (relMaxDiff): out 1e-5 float32, 2e-2
 * bf16; dTable and dPos (float32 atomics onto random starting values) 1e-5.
 */
import { DeviceBuffer } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import {
  cudaEmbeddingBackward,
  cudaEmbeddingForward,
  embeddingBackward,
  embeddingForward,
  opUnavailableReason,
} from '../src/index.js';
import { dev, rounded } from './ops/device.js';
import { relMaxDiff, testRng } from './ops/rng.js';

const reason = opUnavailableReason('embedding');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA embedding tests: ${reason}`);
}

describe.skipIf(reason !== undefined)('embedding (CUDA)', () => {
  const cases: { R: number; L: number; D: number; offset?: number }[] = [
    { R: 1, L: 1, D: 1 },
    { R: 37, L: 37, D: 3 },
    { R: 50, L: 10, D: 48 },
    { R: 50, L: 25, D: 63 },
    { R: 37, L: 37, D: 64 },
    { R: 50, L: 10, D: 256 },
    { R: 50, L: 10, D: 64, offset: 4 }, // misaligned out / dOut: the scalar path
    { R: 4096, L: 200, D: 64 },
  ];
  for (const dtype of ['float32', 'bfloat16'] as const) {
    for (const rate of [0, 0.3]) {
      it(`${dtype}, dropout ${rate}: forward and scatter-add backward match the reference`, () => {
        const rng = testRng(`cuda embedding ${dtype} ${rate}`);
        const tol = dtype === 'float32' ? 1e-5 : 2e-2;
        for (const { R, L, D, offset = 0 } of cases) {
          const V = 11;
          const padId = 0;
          const label = `R=${R} L=${L} D=${D} offset=${offset}`;
          const ids = Int32Array.from({ length: R }, () => (rng.uniform() < 0.2 ? padId : rng.int(1, V - 1)));
          const table = rng.floats(V * D);
          const pos = rng.floats(L * D);
          const scale = Math.fround(Math.sqrt(D));
          const stream = rng.int(0, 1000);
          const seed = rng.int(0, 2 ** 30);
          const step = DeviceBuffer.from(new Uint32Array([stream]));
          const spec = rate > 0 ? { seed, stream, site: 1, rate } : undefined;
          const dropout = { seed, site: 1, rate, step };
          const dIds = DeviceBuffer.from(ids);
          const dTableW = DeviceBuffer.from(table);
          const dPosW = DeviceBuffer.from(pos);

          const out = dev(R * D, dtype, undefined, offset);
          cudaEmbeddingForward({
            ids: dIds,
            table: dTableW,
            pos: dPosW,
            out: out.ptr,
            R,
            L,
            D,
            scale,
            padId,
            dtype,
            V,
            dropout,
          });
          const want = new Float64Array(R * D);
          embeddingForward({ ids, table, pos, out: want, R, L, D, scale, padId, dropout: spec });
          expect(relMaxDiff(out.read(), want), `out ${label}`).toBeLessThanOrEqual(tol);

          const dOut = rounded(rng.floats(R * D), dtype);
          const dTable0 = rng.floats(V * D);
          const dPos0 = rng.floats(L * D);
          const gT = DeviceBuffer.from(dTable0);
          const gP = DeviceBuffer.from(dPos0);
          const dOutDev = dev(R * D, dtype, dOut, offset);
          cudaEmbeddingBackward({
            ids: dIds,
            dOut: dOutDev.ptr,
            dTable: gT,
            dPos: gP,
            R,
            L,
            D,
            scale,
            padId,
            dtype,
            V,
            dropout,
          });
          const wantT = Float64Array.from(dTable0);
          const wantP = Float64Array.from(dPos0);
          embeddingBackward({ ids, dOut, dTable: wantT, dPos: wantP, R, L, D, scale, padId, dropout: spec });
          expect(relMaxDiff(gT.readFloat32(V * D), wantT), `dTable ${label}`).toBeLessThanOrEqual(1e-5);
          expect(relMaxDiff(gP.readFloat32(L * D), wantP), `dPos ${label}`).toBeLessThanOrEqual(1e-5);
          for (const b of [step, dIds, dTableW, dPosW, out.buffer, gT, gP, dOutDev.buffer]) b.free();
        }
      });
    }
  }

  it('names the argument that is too small', () => {
    const small = new DeviceBuffer(4);
    const big = new DeviceBuffer(4096);
    const a = { ids: big, table: big, pos: big, out: small, R: 4, L: 2, D: 8, scale: 1, padId: 0 };
    expect(() => cudaEmbeddingForward({ ...a, dtype: 'float32' })).toThrow(
      /^out spans 4 bytes; it needs 128/,
    );
    expect(() => cudaEmbeddingForward({ ...a, out: big, table: small, V: 3, dtype: 'float32' })).toThrow(
      /^table/,
    );
    small.free();
    big.free();
  });
});
