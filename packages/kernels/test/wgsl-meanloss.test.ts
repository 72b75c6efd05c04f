/**
 * The mean-loss WGSL kernel against the float64 reference on lavapipe (or any adapter): N from 0
 * to several sweeps of the workgroup, some or all rows ignored, the ring slot from the step
 * counter, outputs poisoned with NaN; printed seed (CUTREC_TEST_SEED replays). Tolerance
 * (relErr): mean 1e-6, dValues exact to f32 rounding (1e-7).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { meanLoss, wgslMeanLoss } from '../src/index.js';
import { testRng } from './ops/rng.js';
import { device, freeAll, gpuArray, relErr, run, skipReason, stepCounter } from './ops/wgsl-util.js';

describe.skipIf(skipReason !== undefined)('mean loss (WGSL)', () => {
  afterEach(freeAll);
  it('matches the reference, with all rows ignored and N = 0', async () => {
    const rng = testRng('wgsl meanloss');
    const gpu = device as GPUDevice;
    for (const [N, ignoredFraction] of [
      [0, 0],
      [1, 0],
      [7, 1],
      [300, 0.3],
      [5000, 0.5],
    ] as const) {
      const ignoreIndex = -1;
      const values = Float32Array.from(rng.floats(N), (x) => Math.abs(x) * 3 + 1);
      const targets = Int32Array.from({ length: N }, () =>
        rng.uniform() < ignoredFraction ? ignoreIndex : rng.int(0, 99),
      );
      const ring = 5;
      const step = rng.int(0, 1000);
      const out = gpuArray(ring);
      const d = gpuArray(N, undefined, { pad: 3 });
      run(
        wgslMeanLoss(gpu, {
          values: gpuArray(N, values, { pad: 1 }).view,
          targets: gpuArray(N, targets, { int: true, pad: 2 }).view,
          N,
          ignoreIndex,
          out: out.view,
          ring,
          step: stepCounter(step),
          dValues: d.view,
        }),
      );
      const dWant = new Float64Array(N);
      const want = meanLoss({ values, targets, N, ignoreIndex, dValues: dWant });
      const got = await out.read();
      expect(relErr([got[step % ring]!], [want]), `mean N=${N}`).toBeLessThanOrEqual(1e-6);
      expect(got.filter((x) => !Number.isNaN(x)).length, 'only the ring slot of the step is written').toBe(1);
      expect(relErr(await d.read(), dWant), `dValues N=${N}`).toBeLessThanOrEqual(1e-7);
    }
  });
});
