/**
 * Activation WGSL kernels against the float64 reference on lavapipe (or any adapter): ReLU and
 * tanh-GELU, dropout on and off, awkward n (ragged last group of 4), outputs poisoned with NaN,
 * in-place calls (out = pre; dPre = dOut; dPre = pre) and an unaligned view; printed seed
 * (CUTREC_TEST_SEED replays). Tolerance (relErr): 1e-5.
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
import { device, freeAll, gpuArray, relErr, run, skipReason, stepCounter } from './ops/wgsl-util.js';

describe.skipIf(skipReason !== undefined)('activation (WGSL)', () => {
  afterEach(freeAll);
  for (const kind of ['relu', 'gelu'] as ActivationKind[]) {
    for (const rate of [0, 0.3]) {
      it(`${kind}, dropout ${rate}: forward and backward match the reference, also in place`, async () => {
        const rng = testRng(`wgsl activation ${kind} ${rate}`);
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
          const pre = rng.floats(n, 2);
          const dOut = rng.floats(n);
          const want = new Float64Array(n);
          activationForward({ pre, out: want, n, kind, dropout: spec });
          const wantD = new Float64Array(n);
          activationBackward({ pre, dOut, dPre: wantD, n, kind, dropout: spec });

          const gPre = gpuArray(n, pre, { pad });
          const gOut = gpuArray(n, undefined, { pad });
          const gdOut = gpuArray(n, dOut, { pad });
          const gdPre = gpuArray(n, undefined, { pad });
          run([
            ...wgslActivationForward(gpu, { pre: gPre.view, out: gOut.view, n, kind, dropout, step }),
            ...wgslActivationBackward(gpu, {
              pre: gPre.view,
              dOut: gdOut.view,
              dPre: gdPre.view,
              n,
              kind,
              dropout,
              step,
            }),
          ]);
          expect(relErr(await gOut.read(), want), `out ${label}`).toBeLessThanOrEqual(1e-5);
          expect(relErr(await gdPre.read(), wantD), `dPre ${label}`).toBeLessThanOrEqual(1e-5);

          // In place: out over pre; dPre over dOut; dPre over pre.
          const inPre = gpuArray(n, pre, { pad });
          run(wgslActivationForward(gpu, { pre: inPre.view, out: inPre.view, n, kind, dropout, step }));
          expect(relErr(await inPre.read(), want), `out = pre ${label}`).toBeLessThanOrEqual(1e-5);
          const inD = gpuArray(n, dOut, { pad });
          run(
            wgslActivationBackward(gpu, {
              pre: gPre.view,
              dOut: inD.view,
              dPre: inD.view,
              n,
              kind,
              dropout,
              step,
            }),
          );
          expect(relErr(await inD.read(), wantD), `dPre = dOut ${label}`).toBeLessThanOrEqual(1e-5);
          const inP = gpuArray(n, pre, { pad });
          run(
            wgslActivationBackward(gpu, {
              pre: inP.view,
              dOut: gdOut.view,
              dPre: inP.view,
              n,
              kind,
              dropout,
              step,
            }),
          );
          expect(relErr(await inP.read(), wantD), `dPre = pre ${label}`).toBeLessThanOrEqual(1e-5);
          freeAll();
        }
      });
    }
  }
});
