/**
 * Activation CUDA kernels against the float64 reference: random inputs of awkward lengths (printed
 * seed), outputs poisoned with NaN, ReLU and GELU, float32 and bf16 storage, dropout on and off, a
 * misaligned view (scalar path) and an in-place forward. Skipped with the reason where there is no
 * GPU; failed under CUTREC_REQUIRE_CUDA=1. Tolerances (relMaxDiff): 1e-5 float32, 2e-2 bf16.
 */
import { DeviceBuffer } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import {
  activationBackward,
  activationForward,
  cudaActivationBackward,
  cudaActivationForward,
  opUnavailableReason,
} from '../src/index.js';
import { dev, rounded } from './ops/device.js';
import { relMaxDiff, testRng } from './ops/rng.js';

const reason = opUnavailableReason('activation');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA activation tests: ${reason}`);
}

describe.skipIf(reason !== undefined)('activation (CUDA)', () => {
  const cases: { n: number; offset?: number; inPlace?: boolean }[] = [
    { n: 1 },
    { n: 3 },
    { n: 37 },
    { n: 50 },
    { n: 1000 },
    { n: 4099 },
    { n: 65537 },
    { n: 4096, offset: 4 }, // misaligned: every group element by element
    { n: 1001, inPlace: true },
  ];
  for (const dtype of ['float32', 'bfloat16'] as const) {
    for (const kind of ['relu', 'gelu'] as const) {
      for (const rate of [0, 0.4]) {
        it(`${kind}, ${dtype}, dropout ${rate}: forward and backward match the reference`, () => {
          const rng = testRng(`cuda activation ${kind} ${dtype} ${rate}`);
          const tol = dtype === 'float32' ? 1e-5 : 2e-2;
          for (const { n, offset = 0, inPlace = false } of cases) {
            const label = `n=${n} offset=${offset} inPlace=${inPlace}`;
            const pre = rounded(rng.floats(n, 2), dtype);
            const dOut = rounded(rng.floats(n), dtype);
            const stream = rng.int(0, 1000);
            const seed = rng.int(0, 2 ** 30);
            const step = DeviceBuffer.from(new Uint32Array([stream]));
            const spec = rate > 0 ? { seed, stream, site: 5, rate } : undefined;
            const dropout = { seed, site: 5, rate, step };

            const preDev = dev(n, dtype, pre, offset);
            const outDev = inPlace ? dev(n, dtype, pre, offset) : dev(n, dtype, undefined, offset);
            cudaActivationForward({
              pre: inPlace ? outDev.ptr : preDev.ptr,
              out: outDev.ptr,
              n,
              kind,
              dtype,
              dropout,
            });
            const out = new Float64Array(n);
            activationForward({ pre, out, n, kind, dropout: spec });
            expect(relMaxDiff(outDev.read(), out), `out ${label}`).toBeLessThanOrEqual(tol);

            const dOutDev = dev(n, dtype, dOut, offset);
            const dPreDev = inPlace ? dOutDev : dev(n, dtype, undefined, offset);
            cudaActivationBackward({
              pre: preDev.ptr,
              dOut: dOutDev.ptr,
              dPre: dPreDev.ptr,
              n,
              kind,
              dtype,
              dropout,
            });
            const dPre = new Float64Array(n);
            activationBackward({ pre, dOut, dPre, n, kind, dropout: spec });
            expect(relMaxDiff(dPreDev.read(), dPre), `dPre ${label}`).toBeLessThanOrEqual(tol);
            for (const b of [step, preDev.buffer, outDev.buffer, dOutDev.buffer]) b.free();
            if (!inPlace) dPreDev.buffer.free();
          }
        });
      }
    }
  }

  it('rejects an unknown kind and names the argument that is too small', () => {
    const big = new DeviceBuffer(1024);
    const small = new DeviceBuffer(4);
    expect(() =>
      cudaActivationForward({ pre: big, out: big, n: 8, kind: 'tanh' as never, dtype: 'float32' }),
    ).toThrow(/unknown activation kind/);
    expect(() =>
      cudaActivationForward({ pre: big, out: small, n: 8, kind: 'relu', dtype: 'bfloat16' }),
    ).toThrow(/^out spans 4 bytes; it needs 16/);
    big.free();
    small.free();
  });
});
