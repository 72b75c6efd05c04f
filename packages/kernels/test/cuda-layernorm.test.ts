/**
 * Layer norm CUDA kernels against the float64 reference: random inputs of awkward sizes (printed
 * seed) including D > 1024 (a block per row) and enough rows for the backward's grid-stride loop,
 * outputs poisoned with NaN, float32 and bf16 storage; variants: plain; residual with dropout,
 * sum, row mask, skip gradient and residual gradient; the same with dx computed in place over
 * dSkip and a misaligned view (scalar path). Skipped with the reason where there is no GPU;
 * failed under CUTREC_REQUIRE_CUDA=1. Tolerances (relMaxDiff): activations and their gradients
 * 1e-5 float32, 2e-2 bf16; float32 outputs (mean, rstd, dGamma, dBeta: atomics) 1e-5, and 1e-4
 * when the activations are bf16.
 */
import { DeviceBuffer } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import {
  cudaLayerNormBackward,
  cudaLayerNormForward,
  layerNormBackward,
  layerNormForward,
  opUnavailableReason,
} from '../src/index.js';
import { dev, rounded } from './ops/device.js';
import { relMaxDiff, testRng } from './ops/rng.js';

/** v rounded to bfloat16 (how a bf16 sum is stored). */
const bf16 = (v: number): number => rounded(Float32Array.of(v), 'bfloat16')[0]!;

const reason = opUnavailableReason('layernorm');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA layer norm tests: ${reason}`);
}

type Variant = 'plain' | 'full' | 'inplace';

/** max |a − b| (b shorter than a: compared with 0). NaN → Infinity. */
function absMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - (b[i] ?? 0));
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    m = Math.max(m, d);
  }
  return m;
}

describe.skipIf(reason !== undefined)('layer norm (CUDA)', () => {
  const sizes: [number, number][] = [
    [1, 1],
    [37, 3],
    [50, 48],
    [37, 63],
    [1, 64],
    [50, 256],
    [3, 1029],
    [2, 4096],
    [5000, 64],
    [600, 1029],
    // the register-resident kernels: one chunk of 128 (D ≤ 128), 2, 4 and 8, partial last chunks,
    // and many rows per warp of the grid-stride backward
    [77, 132],
    [29, 388],
    [13, 1024],
    [40, 900],
    [20000, 256],
  ];
  for (const dtype of ['float32', 'bfloat16'] as const) {
    for (const variant of ['plain', 'full', 'inplace'] as Variant[]) {
      it(`${dtype}, ${variant}: forward and backward match the reference`, () => {
        const rng = testRng(`cuda layernorm ${dtype} ${variant}`);
        const tol = dtype === 'float32' ? 1e-5 : 2e-2;
        const tolF = dtype === 'float32' ? 1e-5 : 1e-4;
        const eps = 1e-6;
        for (const [R, D] of sizes) {
          // D = 1 in bf16: the mean is of the unrounded sum but the backward reads the bf16-rounded
          // one, so x̂ = (s − mean)·rstd is that rounding (≈ 4e-3·|s|) times 1/√eps = 1000 — a
          // degenerate row no model uses; float32 checks D = 1 on its own scale.
          if (D === 1 && dtype === 'bfloat16') continue;
          const full = variant !== 'plain';
          // 'inplace' also runs misaligned (offset 4: not 16- or 8-byte aligned → scalar path).
          const off = variant === 'inplace' ? 4 : 0;
          const label = `R=${R} D=${D} ${variant}`;
          const x = rounded(rng.floats(R * D, 2), dtype);
          const a = rounded(rng.floats(R * D), dtype);
          const gamma = rng.floats(D);
          const beta = rng.floats(D);
          const ids = Int32Array.from({ length: R }, () => (rng.uniform() < 0.2 ? 0 : 1));
          const stream = rng.int(0, 1000);
          const seed = rng.int(0, 2 ** 30);
          const rate = variant === 'full' ? 0.3 : 0;
          const step = DeviceBuffer.from(new Uint32Array([stream]));
          const spec = rate > 0 ? { seed, stream, site: 2, rate } : undefined;
          const dropout = { seed, site: 2, rate, step };
          const dIds = DeviceBuffer.from(ids);
          const gammaDev = DeviceBuffer.from(gamma);
          const betaDev = DeviceBuffer.from(beta);

          // ---- forward ----
          const xDev = dev(R * D, dtype, x, off);
          const aDev = dev(R * D, dtype, a, off);
          const sumDev = dev(R * D, dtype, undefined, off);
          const yDev = dev(R * D, dtype, undefined, off);
          const meanDev = dev(R, 'float32');
          const rstdDev = dev(R, 'float32');
          cudaLayerNormForward({
            x: xDev.ptr,
            residual: full ? { a: aDev.ptr, dropout } : undefined,
            sum: full ? sumDev.ptr : undefined,
            y: yDev.ptr,
            gamma: gammaDev,
            beta: betaDev,
            mean: meanDev.ptr,
            rstd: rstdDev.ptr,
            R,
            D,
            eps,
            rowMask: full ? { ids: dIds, padId: 0 } : undefined,
            dtype,
          });
          const y = new Float64Array(R * D);
          const s = new Float64Array(R * D);
          const mean = new Float64Array(R);
          const rstd = new Float64Array(R);
          layerNormForward({
            x,
            residual: full ? { a, dropout: spec } : undefined,
            sum: s,
            storeSum: dtype === 'float32' ? undefined : bf16,
            y,
            gamma,
            beta,
            mean,
            rstd,
            R,
            D,
            eps,
            rowMask: full ? { ids, padId: 0 } : undefined,
          });
          expect(relMaxDiff(yDev.read(), y), `y ${label}`).toBeLessThanOrEqual(tol);
          expect(relMaxDiff(meanDev.read(), mean), `mean ${label}`).toBeLessThanOrEqual(tolF);
          expect(relMaxDiff(rstdDev.read(), rstd), `rstd ${label}`).toBeLessThanOrEqual(tolF);
          if (full) expect(relMaxDiff(sumDev.read(), s), `sum ${label}`).toBeLessThanOrEqual(tol);

          // ---- backward (from the reference's statistics, as float32, and s as stored) ----
          const sIn = rounded(Float32Array.from(s), dtype);
          const mean32 = Float32Array.from(mean);
          const rstd32 = Float32Array.from(rstd);
          const dy = rounded(rng.floats(R * D), dtype);
          const dSkip = rounded(rng.floats(R * D), dtype);
          const dGamma0 = rng.floats(D);
          const dBeta0 = rng.floats(D);
          const dyDev = dev(R * D, dtype, dy, off);
          const sDev = dev(R * D, dtype, sIn, off);
          const m32 = dev(R, 'float32', mean32);
          const r32 = dev(R, 'float32', rstd32);
          const dSkipDev = dev(R * D, dtype, dSkip, off);
          const dxDev = variant === 'inplace' ? dSkipDev : dev(R * D, dtype, undefined, off);
          const daDev = dev(R * D, dtype, undefined, off);
          const dG = DeviceBuffer.from(dGamma0);
          const dB = DeviceBuffer.from(dBeta0);
          cudaLayerNormBackward({
            dy: dyDev.ptr,
            s: sDev.ptr,
            gamma: gammaDev,
            mean: m32.ptr,
            rstd: r32.ptr,
            dx: dxDev.ptr,
            dGamma: dG,
            dBeta: dB,
            R,
            D,
            dSkip: full ? dSkipDev.ptr : undefined,
            residualGrad: full ? { da: daDev.ptr, dropout } : undefined,
            rowMask: full ? { ids: dIds, padId: 0 } : undefined,
            dtype,
          });
          const dx = new Float64Array(R * D);
          const da = new Float64Array(R * D);
          const dGamma = Float64Array.from(dGamma0);
          const dBeta = Float64Array.from(dBeta0);
          layerNormBackward({
            dy,
            s: sIn,
            gamma,
            mean: mean32,
            rstd: rstd32,
            dx,
            dGamma,
            dBeta,
            R,
            D,
            dSkip: full ? dSkip : undefined,
            residualGrad: full ? { da, dropout: spec } : undefined,
            rowMask: full ? { ids, padId: 0 } : undefined,
          });
          // At D = 1 the exact dx is 0 (plus dSkip): x̂ = 0 and dx̂ − mean(dx̂) = 0, so the kernel's
          // fused multiply-add rounding (~1e-7 of |dy·γ|) times rstd = 1/√eps = 1000 is all that
          // is left. There dx is compared on the scale of rstd·|dy·γ| instead.
          const dxTol = (got: Float32Array, want: ArrayLike<number>) =>
            D === 1 ? absMax(got, want) / (1000 * Math.max(1e-30, absMax(dy, []))) : relMaxDiff(got, want);
          expect(dxTol(dxDev.read(), dx), `dx ${label}`).toBeLessThanOrEqual(tol);
          if (full) expect(dxTol(daDev.read(), da), `da ${label}`).toBeLessThanOrEqual(tol);
          expect(relMaxDiff(dG.readFloat32(D), dGamma), `dGamma ${label}`).toBeLessThanOrEqual(tolF);
          expect(relMaxDiff(dB.readFloat32(D), dBeta), `dBeta ${label}`).toBeLessThanOrEqual(tolF);
          for (const d of [
            xDev,
            aDev,
            sumDev,
            yDev,
            meanDev,
            rstdDev,
            dyDev,
            sDev,
            m32,
            r32,
            dSkipDev,
            daDev,
          ]) {
            d.buffer.free();
          }
          if (dxDev !== dSkipDev) dxDev.buffer.free();
          for (const b of [step, dIds, gammaDev, betaDev, dG, dB]) b.free();
        }
      });
    }
  }

  it('rejects D above 4096 and names the argument that is too small', () => {
    const big = new DeviceBuffer(1 << 16);
    const small = new DeviceBuffer(4);
    const a = { x: big, y: big, gamma: big, beta: big, mean: big, rstd: big, R: 2, D: 8, eps: 1e-6 } as const;
    expect(() => cudaLayerNormForward({ ...a, dtype: 'float32', D: 4097 })).toThrow(/D ≤ 4096/);
    expect(() => cudaLayerNormForward({ ...a, dtype: 'float32', rstd: small })).toThrow(
      /^rstd spans 4 bytes/,
    );
    big.free();
    small.free();
  });
});
