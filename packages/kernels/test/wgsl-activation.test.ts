/**
 * Activation WGSL kernels against the float64 reference on lavapipe (or any adapter): ReLU and
 * tanh-GELU, dropout on and off, awkward n (ragged last group of 4), outputs poisoned with NaN,
 * in-place calls (out = pre; dPre = dOut; dPre = pre) and an unaligned view; printed seed
 * (CUTREC_TEST_SEED replays). Tolerance (relErr): 1e-5; with f16 storage (where the device has
 * shader-f16) the inputs are f16 values and the outputs f16-rounded: 1e-3 (half an f16 ulp is 4.9e-4)
 * of max(|want|, 2^-14), f16's smallest normal, so a tiny output rounded to a subnormal passes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ActivationKind,
  activationBackward,
  activationForward,
  wgslActivationBackward,
  wgslActivationForward,
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

describe.skipIf(skipReason !== undefined)('activation (WGSL)', () => {
  afterEach(freeAll);
  for (const [act, kind, rate] of ACTS.flatMap((act) =>
    (['relu', 'gelu'] as ActivationKind[]).flatMap((kind) =>
      [0, 0.3].map((rate) => [act, kind, rate] as const),
    ),
  )) {
    it(`${kind}, dropout ${rate}, ${act} storage: forward and backward match the reference, also in place`, async () => {
      const rng = testRng(`wgsl activation ${kind} ${rate} ${act}`);
      const tol = act === 'f16' ? 1e-3 : 1e-5;
      const gpu = device as GPUDevice;
      for (const [n, pad] of [
        [1, 0],
        [7, 1],
        [1031, 0],
        [2050, 5],
      ] as const) {
        const label = `n=${n} pad=${pad}`;
        const stream = rng.int(0, 1000);
        const seed = rng.int(0, 2 ** 30);
        const spec = rate > 0 ? { seed, stream, site: 3, rate } : undefined;
        const dropout = { seed, site: 3, rate };
        const step = stepCounter(stream);
        const pre = roundAct(rng.floats(n, 2), act);
        const dOut = roundAct(rng.floats(n), act);
        const want = new Float64Array(n);
        activationForward({ pre, out: want, n, kind, dropout: spec });
        const wantD = new Float64Array(n);
        activationBackward({ pre, dOut, dPre: wantD, n, kind, dropout: spec });

        const gPre = gpuArray(n, pre, { pad, act });
        const gOut = gpuArray(n, undefined, { pad, act });
        const gdOut = gpuArray(n, dOut, { pad, act });
        const gdPre = gpuArray(n, undefined, { pad, act });
        run([
          ...wgslActivationForward(gpu, { pre: gPre.view, out: gOut.view, n, kind, dropout, step, act }),
          ...wgslActivationBackward(gpu, {
            pre: gPre.view,
            dOut: gdOut.view,
            dPre: gdPre.view,
            n,
            kind,
            dropout,
            step,
            act,
          }),
        ]);
        expect(relErr(await gOut.read(), want, act), `out ${label}`).toBeLessThanOrEqual(tol);
        expect(relErr(await gdPre.read(), wantD, act), `dPre ${label}`).toBeLessThanOrEqual(tol);

        // In place: out over pre; dPre over dOut; dPre over pre.
        const inPre = gpuArray(n, pre, { pad, act });
        run(wgslActivationForward(gpu, { pre: inPre.view, out: inPre.view, n, kind, dropout, step, act }));
        expect(relErr(await inPre.read(), want, act), `out = pre ${label}`).toBeLessThanOrEqual(tol);
        const inD = gpuArray(n, dOut, { pad, act });
        run(
          wgslActivationBackward(gpu, {
            pre: gPre.view,
            dOut: inD.view,
            dPre: inD.view,
            n,
            kind,
            dropout,
            step,
            act,
          }),
        );
        expect(relErr(await inD.read(), wantD, act), `dPre = dOut ${label}`).toBeLessThanOrEqual(tol);
        const inP = gpuArray(n, pre, { pad, act });
        run(
          wgslActivationBackward(gpu, {
            pre: inP.view,
            dOut: gdOut.view,
            dPre: inP.view,
            n,
            kind,
            dropout,
            step,
            act,
          }),
        );
        expect(relErr(await inP.read(), wantD, act), `dPre = pre ${label}`).toBeLessThanOrEqual(tol);
        freeAll();
      }
    });
  }
});
