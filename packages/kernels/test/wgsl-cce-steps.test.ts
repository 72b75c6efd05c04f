/**
 * The CCE- loss's WGSL steps on raw buffers (wgslCceForwardSteps / wgslCceBackwardSteps: what a
 * fused WebGPU engine records) against the float64 reference: row, block, batch and 'all', the
 * in-batch sampler, awkward sizes, outputs poisoned with NaN, and dItems *accumulated* onto random
 * starting values (EngineOps.lossBackward's contract) while dHidden is written. Printed seed
 * (CUTREC_TEST_SEED replays). Tolerances (relErr): loss, lse 1e-4; dHidden, dItems 1e-4.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CceOptions,
  referenceBackward,
  referenceForward,
  resolveOptions,
  wgslCceBackwardSteps,
  wgslCceForwardSteps,
} from '../src/index.js';
import { randomInputs } from './contract.js';
import { testRng } from './ops/rng.js';
import { device, freeAll, gpuArray, relErr, run, skipReason } from './ops/wgsl-util.js';

const cases: [string, number, number, number, CceOptions][] = [
  ['share row, K = 20', 37, 53, 19, { negatives: 20 }],
  ['share row, D = 16 (vec4)', 50, 41, 16, { negatives: 9 }],
  ['share block of 10', 70, 90, 12, { negatives: 33, share: 'block', blockRows: 10 }],
  ['share batch', 45, 60, 8, { negatives: 65, share: 'batch' }],
  ["negatives 'all'", 33, 29, 7, { negatives: 'all' }],
  ['inBatch, share row', 40, 50, 5, { negatives: 7, sampler: 'inBatch' }],
];

describe.skipIf(skipReason !== undefined)('cce steps on raw buffers (WGSL)', () => {
  afterEach(freeAll);
  for (const [name, N, C, D, options] of cases) {
    it(name, async () => {
      const rng = testRng(`wgsl cce steps ${name}`);
      const gpu = device as GPUDevice;
      const x = randomInputs(rng.int(0, 2 ** 30), N, C, D, { ignoredFraction: 0.2 });
      const full = { seed: rng.int(0, 2 ** 30), step: rng.int(0, 1000), ...options };
      const ro = resolveOptions({ ...full, impl: 'reference', checkInputs: false }, x, 'cpu');
      const o = resolveOptions({ ...full, impl: 'wgsl', checkInputs: false }, x, 'webgpu');
      const ref = referenceForward(x, ro);
      const dLoss = Float64Array.from(x.targets, (t) => (t === ro.ignoreIndex ? 0 : rng.uniform() * 2 - 1));
      const refG = referenceBackward(x, dLoss, ro);
      const hidden = gpuArray(N * D, x.hidden).view.buffer;
      const items = gpuArray(C * D, x.items).view.buffer;
      const targets = gpuArray(N, x.targets, { int: true }).view.buffer;
      const lse = gpuArray(N);
      const loss = gpuArray(N);
      const shape = { N, C, D };
      const f = wgslCceForwardSteps(
        gpu,
        shape,
        { hidden, items, targets, lse: lse.view.buffer, loss: loss.view.buffer },
        o,
      );
      run(f.steps);
      f.release();
      expect(relErr(await loss.read(), ref.loss), 'loss').toBeLessThanOrEqual(1e-4);
      const gotLse = await lse.read();
      const valid = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => x.targets[i] !== ro.ignoreIndex);
      expect(relErr(valid(gotLse), valid(ref.lse)), 'lse').toBeLessThanOrEqual(1e-4);

      const dItems0 = rng.floats(C * D);
      const dHidden = gpuArray(N * D);
      const dItems = gpuArray(C * D, dItems0);
      const b = wgslCceBackwardSteps(
        gpu,
        shape,
        {
          hidden,
          items,
          targets,
          lse: gpuArray(N, gotLse).view.buffer,
          dLoss: gpuArray(N, dLoss).view.buffer,
          dHidden: dHidden.view.buffer,
          dItems: dItems.view.buffer,
        },
        o,
      );
      run(b.steps);
      b.release();
      expect(relErr(await dHidden.read(), refG.dHidden), 'dHidden').toBeLessThanOrEqual(1e-4);
      const got = await dItems.read();
      const dW = Float64Array.from(got, (v, e) => v - dItems0[e]!);
      expect(relErr(dW, refG.dItems), 'dItems accumulated').toBeLessThanOrEqual(1e-4);
    });
  }
});
