/**
 * The mean-loss WGSL kernel against the float64 reference on lavapipe (or any adapter): N from 0
 * to several sweeps of the workgroup, some or all rows ignored, the ring slot from the step
 * counter, outputs poisoned with NaN; printed seed (CUTREC_TEST_SEED replays). Each also with the
 * `gradScale` output (the f16 engine's loss scaling): dValues 1 on valid rows, gradScale 1/count
 * (0 with no valid row), the same mean, and dValues · gradScale equal to the unscaled dValues.
 * Tolerance (relErr): mean 1e-6, dValues and gradScale exact to f32 rounding (1e-7).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { meanLoss, wgslMeanLoss } from '../src/index.js';
import { testRng } from './ops/rng.js';
import { device, freeAll, gpuArray, relErr, run, skipReason, stepCounter } from './ops/wgsl-util.js';

describe.skipIf(skipReason !== undefined)('mean loss (WGSL)', () => {
  afterEach(freeAll);
  for (const scaled of [false, true])
    it(`matches the reference, with all rows ignored and N = 0${scaled ? ', with gradScale' : ''}`, async () => {
      const rng = testRng(`wgsl meanloss${scaled ? ' gradScale' : ''}`);
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
        const dPlain = gpuArray(N, undefined, { pad: 1 });
        const gs = gpuArray(1, undefined, { pad: 5 });
        const common = {
          values: gpuArray(N, values, { pad: 1 }).view,
          targets: gpuArray(N, targets, { int: true, pad: 2 }).view,
          N,
          ignoreIndex,
          ring,
          step: stepCounter(step),
        };
        const plainOut = gpuArray(ring);
        run([
          ...wgslMeanLoss(gpu, { ...common, out: plainOut.view, dValues: dPlain.view }),
          ...wgslMeanLoss(gpu, {
            ...common,
            out: out.view,
            dValues: d.view,
            ...(scaled ? { gradScale: gs.view } : {}),
          }),
        ]);
        const dWant = new Float64Array(N);
        const gsWant = new Float64Array(1);
        const want = meanLoss({
          values,
          targets,
          N,
          ignoreIndex,
          dValues: dWant,
          ...(scaled ? { gradScale: gsWant } : {}),
        });
        const got = await out.read();
        expect(relErr([got[step % ring]!], [want]), `mean N=${N}`).toBeLessThanOrEqual(1e-6);
        expect(got.filter((x) => !Number.isNaN(x)).length, 'only the ring slot of the step is written').toBe(
          1,
        );
        const gotD = await d.read();
        expect(relErr(gotD, dWant), `dValues N=${N}`).toBeLessThanOrEqual(1e-7);
        if (!scaled) {
          expect(Number.isNaN((await gs.read())[0]), 'gradScale not written without it').toBe(true);
          continue;
        }
        const gotS = (await gs.read())[0]!;
        if (gsWant[0] === 0) expect(gotS, `gradScale N=${N}`).toBe(0);
        else expect(relErr([gotS], gsWant), `gradScale N=${N}`).toBeLessThanOrEqual(1e-7);
        expect(
          [...gotD].every((x, i) => x === (targets[i] === ignoreIndex ? 0 : 1)),
          'dValues 0 / 1',
        ).toBe(true);
        // The summed loss's gradient times the scale is the mean's gradient.
        expect(
          relErr(
            Float32Array.from(gotD, (x) => x * gotS),
            await dPlain.read(),
          ),
          `d·s = d N=${N}`,
        ).toBe(0);
        expect(
          relErr([(await plainOut.read())[step % ring]!], [want]),
          `mean unscaled N=${N}`,
        ).toBeLessThanOrEqual(1e-6);
      }
    });
});
