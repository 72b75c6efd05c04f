/**
 * Layer norm WGSL kernels against the float64 reference on lavapipe (or any adapter): random
 * inputs of awkward sizes (printed seed; CUTREC_TEST_SEED replays) for both slot widths (D % 4)
 * and more rows than one column chunk, outputs poisoned with NaN; variants: plain; residual with
 * dropout, sum, row mask, skip gradient and residual gradient; the same with dx written in place
 * over dSkip, sum in place over x, and views at unaligned element offsets; each in both kernel
 * layouts (a workgroup per row, and an invocation per row as on a software adapter); and each with
 * f16 activation storage where the device has shader-f16 (x, a, sum, y, dy, s, dx, dSkip, da f16;
 * gamma, beta, mean, rstd, dGamma, dBeta float32). Tolerances (relErr): 1e-5 (dGamma, dBeta: CAS
 * adds onto random starting values); D = 1 compares dx on the scale of rstd·|dy·γ| (its exact
 * value is 0 + dSkip, see cuda-layernorm.test.ts).
 *
 * f16: the inputs are f16 values and the float64 reference runs on them, storing its sum rounded to
 * f16 (as the kernel normalises its stored sum). y, dx and da are f32 math rounded once to f16
 * (half an ulp, ≤ 2^-11 = 4.9e-4 of the value); the sum may also land one ulp (≤ 2^-10 = 9.8e-4)
 * away where the f32 and the float64 sums round to different sides of an f16 midpoint (about one
 * element in 10^4): 2e-3 for all of them. That one-ulp difference would move the row's statistics
 * and y, so with a stored sum they are checked against the reference recomputed from the kernel's
 * own sum; mean, rstd, dGamma and dBeta are float32 results of inputs both sides see exactly, so
 * the float32 bound 1e-5 holds for them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  layerNormBackward,
  layerNormForward,
  wgslLayerNormBackward,
  wgslLayerNormForward,
} from '../src/index.js';
import { testRng } from './ops/rng.js';
import {
  ACTS,
  device,
  freeAll,
  gpuArray,
  LAYOUTS,
  relErr,
  roundAct,
  roundF16,
  run,
  skipReason,
  stepCounter,
  withLayout,
} from './ops/wgsl-util.js';

type Variant = 'plain' | 'full' | 'inplace';

function absMax(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b ? (b[i] as number) : 0));
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    m = Math.max(m, d);
  }
  return m;
}

describe.skipIf(skipReason !== undefined)('layer norm (WGSL)', () => {
  afterEach(freeAll);
  const sizes: [number, number][] = [
    [1, 1],
    [37, 3],
    [50, 48],
    [130, 20],
    [3, 300],
    [2, 1029],
    [9000, 12], // more rows than 128 column chunks of 64: longer chunks
  ];
  for (const [variant, layout, act] of (['plain', 'full', 'inplace'] as Variant[]).flatMap((v) =>
    LAYOUTS.flatMap((l) => ACTS.map((t) => [v, l, t] as const)),
  )) {
    it(`${variant}, ${layout} layout, ${act} storage: forward and backward match the reference`, () =>
      withLayout(layout, async () => {
        const rng = testRng(`wgsl layernorm ${variant} ${layout}${act === 'f16' ? ' f16' : ''}`);
        const gpu = device as GPUDevice;
        const tolF = 1e-5; // float32 outputs
        const tol = act === 'f16' ? 2e-3 : tolF; // act outputs
        const f16 = act === 'f16';
        const eps = 1e-6;
        for (const [R, D] of sizes) {
          const full = variant !== 'plain';
          const pad = variant === 'inplace' ? 3 : 0;
          const label = `R=${R} D=${D} ${variant}`;
          const x = roundAct(rng.floats(R * D, 2), act);
          const a = roundAct(rng.floats(R * D), act);
          const gamma = rng.floats(D);
          const beta = rng.floats(D);
          const ids = Int32Array.from({ length: R }, () => (rng.uniform() < 0.2 ? 0 : 1));
          const stream = rng.int(0, 1000);
          const seed = rng.int(0, 2 ** 30);
          const rate = full ? 0.3 : 0;
          const step = stepCounter(stream);
          const spec = rate > 0 ? { seed, stream, site: 2, rate } : undefined;
          const dropout = { seed, site: 2, rate };
          const gIds = gpuArray(R, ids, { int: true, pad });
          const gGamma = gpuArray(D, gamma, { pad });
          const gBeta = gpuArray(D, beta, { pad: 2 * pad });

          // ---- forward ----
          const gx = gpuArray(R * D, x, { pad, act });
          const ga = gpuArray(R * D, a, { pad, act });
          const gSum = variant === 'inplace' ? gx : gpuArray(R * D, undefined, { pad, act });
          const gy = gpuArray(R * D, undefined, { pad, act });
          const gMean = gpuArray(R, undefined, { pad });
          const gRstd = gpuArray(R, undefined, { pad });
          run(
            wgslLayerNormForward(gpu, {
              x: gx.view,
              residual: full ? { a: ga.view, dropout } : undefined,
              sum: full ? gSum.view : undefined,
              y: gy.view,
              gamma: gGamma.view,
              beta: gBeta.view,
              mean: gMean.view,
              rstd: gRstd.view,
              R,
              D,
              eps,
              rowMask: full ? { ids: gIds.view, padId: 0 } : undefined,
              step,
              act,
            }),
          );
          const y = new Float64Array(R * D);
          const s = new Float64Array(R * D);
          const mean = new Float64Array(R);
          const rstd = new Float64Array(R);
          layerNormForward({
            x,
            residual: full ? { a, dropout: spec } : undefined,
            sum: s,
            storeSum: f16 && full ? (v) => roundF16([v])[0] as number : undefined,
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
          if (full) expect(relErr(await gSum.read(), s), `sum ${label}`).toBeLessThanOrEqual(tol);
          // f16 with a stored sum: y and the statistics are of the kernel's own (f16) sum, which may
          // be an ulp from the reference's here and there (header comment).
          let [yW, meanW, rstdW] = [y, mean, rstd];
          if (f16 && full) {
            [yW, meanW, rstdW] = [new Float64Array(R * D), new Float64Array(R), new Float64Array(R)];
            layerNormForward({
              x: await gSum.read(),
              y: yW,
              gamma,
              beta,
              mean: meanW,
              rstd: rstdW,
              R,
              D,
              eps,
              rowMask: { ids, padId: 0 },
            });
          }
          expect(relErr(await gy.read(), yW), `y ${label}`).toBeLessThanOrEqual(tol);
          // The mean's float32 rounding scales with the row's values, not with the mean itself
          // (near 0 for two rows of centred values: seed 407144007 gave 1.4e-5 of it at D 1029).
          const meanErr = absMax(await gMean.read(), meanW) / Math.max(1e-30, absMax(x));
          expect(meanErr, `mean ${label}`).toBeLessThanOrEqual(tolF);
          expect(relErr(await gRstd.read(), rstdW), `rstd ${label}`).toBeLessThanOrEqual(tolF);

          // ---- backward (from the reference's statistics as float32) ----
          const sIn = roundAct(s, act); // as stored (already f16 values with f16)
          const mean32 = Float32Array.from(mean);
          const rstd32 = Float32Array.from(rstd);
          const dy = roundAct(rng.floats(R * D), act);
          const dSkip = roundAct(rng.floats(R * D), act);
          const dGamma0 = rng.floats(D);
          const dBeta0 = rng.floats(D);
          const gdy = gpuArray(R * D, dy, { pad, act });
          const gs = gpuArray(R * D, sIn, { pad, act });
          const gm = gpuArray(R, mean32, { pad });
          const gr = gpuArray(R, rstd32);
          const gSkip = gpuArray(R * D, dSkip, { pad, act });
          const gdx = variant === 'inplace' ? gSkip : gpuArray(R * D, undefined, { pad, act });
          const gda = gpuArray(R * D, undefined, { pad, act });
          const gdG = gpuArray(D, dGamma0, { pad });
          const gdB = gpuArray(D, dBeta0);
          run(
            wgslLayerNormBackward(gpu, {
              dy: gdy.view,
              s: gs.view,
              gamma: gGamma.view,
              mean: gm.view,
              rstd: gr.view,
              dx: gdx.view,
              dGamma: gdG.view,
              dBeta: gdB.view,
              R,
              D,
              dSkip: full ? gSkip.view : undefined,
              residualGrad: full ? { da: gda.view, dropout } : undefined,
              rowMask: full ? { ids: gIds.view, padId: 0 } : undefined,
              step,
              act,
            }),
          );
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
          const dxTol = (got: Float32Array, want: ArrayLike<number>) =>
            D === 1 ? absMax(got, want) / (1000 * Math.max(1e-30, absMax(dy))) : relErr(got, want);
          expect(dxTol(await gdx.read(), dx), `dx ${label}`).toBeLessThanOrEqual(tol);
          if (full) expect(dxTol(await gda.read(), da), `da ${label}`).toBeLessThanOrEqual(tol);
          expect(relErr(await gdG.read(), dGamma), `dGamma ${label}`).toBeLessThanOrEqual(tolF);
          expect(relErr(await gdB.read(), dBeta), `dBeta ${label}`).toBeLessThanOrEqual(tolF);
          freeAll();
        }
      }));
  }

  it('D above the limit fails naming it', () => {
    const gpu = device as GPUDevice;
    const v = gpuArray(4).view;
    expect(() =>
      wgslLayerNormForward(gpu, {
        x: v,
        y: v,
        gamma: v,
        beta: v,
        mean: v,
        rstd: v,
        R: 1,
        D: 5000,
        eps: 1e-5,
      }),
    ).toThrow(/D must be an integer in \[1, 4096\]/);
  });
});
