/**
 * The BCE / gBCE WGSL kernels against the float64 reference on lavapipe (or any adapter): awkward
 * sizes, outputs poisoned with NaN, dItems accumulated into random values, C = 1, K = 1, K = 256
 * (several chunks of 64), all rows ignored, ignoreIndex 0, step 2^32 − 1 read from the device
 * counter, views at unaligned offsets; printed seed (CUTREC_TEST_SEED replays). Every case also
 * runs with f16 storage of hidden and items (where the device has shader-f16): the inputs are f16
 * values and the reference sees the same values; the outputs stay float32. Tolerance (relErr):
 * 1e-4, as the CUDA test, for both storages (nothing f32 is rounded to f16).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type BceInputs, bceBackward, bceForward, wgslBceBackward, wgslBceForward } from '../src/index.js';
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

interface Case {
  N: number;
  C: number;
  D: number;
  K: number;
  extra?: Partial<BceInputs>;
}

const cases: [string, Case][] = [
  ['K = 9, D = 19', { N: 37, C: 53, D: 19, K: 9 }],
  ['K = 100, D = 64', { N: 101, C: 300, D: 64, K: 100 }],
  [
    'gBCE β = 0.3, hits kept, C = 5',
    { N: 70, C: 5, D: 24, K: 7, extra: { beta: 0.3, removeAccidentalHits: false } },
  ],
  ['C = 1: every negative is the target', { N: 33, C: 1, D: 8, K: 5 }],
  ['C = 1, hits kept', { N: 33, C: 1, D: 8, K: 5, extra: { removeAccidentalHits: false } }],
  ['K = 1, D = 250', { N: 45, C: 70, D: 250, K: 1 }],
  ['K = 256, D = 33', { N: 19, C: 1000, D: 33, K: 256 }],
  ['N = 1, D = 1', { N: 1, C: 3, D: 1, K: 3 }],
  ['many rows, step 2^32 − 1', { N: 503, C: 2000, D: 48, K: 16, extra: { step: 0xffffffff } }],
  ['all rows ignored', { N: 20, C: 10, D: 12, K: 4, extra: { targets: new Int32Array(20).fill(-1) } }],
  ['ignoreIndex 0', { N: 40, C: 6, D: 5, K: 3, extra: { ignoreIndex: 0 } }],
];

describe.skipIf(skipReason !== undefined)('bce (WGSL)', () => {
  afterEach(freeAll);
  for (const [act, name, c] of ACTS.flatMap((act) => cases.map(([name, c]) => [act, name, c] as const))) {
    it(`${name}, ${act} storage`, async () => {
      const rng = testRng(`wgsl bce ${name} ${act}`);
      const gpu = device as GPUDevice;
      const { N, C, D, K } = c;
      const hidden = roundAct(rng.floats(N * D, 0.4), act);
      const items = roundAct(rng.floats(C * D, 0.4), act);
      const ignore = c.extra?.ignoreIndex ?? -1;
      const targets = Int32Array.from({ length: N }, () =>
        rng.uniform() < 0.2 ? ignore : rng.int(0, C - 1),
      );
      const a: BceInputs = {
        hidden,
        items,
        targets,
        N,
        C,
        D,
        K,
        beta: 1,
        seed: rng.int(0, 2 ** 31),
        step: rng.int(0, 100000),
        removeAccidentalHits: true,
        ignoreIndex: -1,
        ...c.extra,
      };
      const dRow = Float32Array.from({ length: N }, (_, i) => Math.sin(i) + 1.5);
      const prefill = rng.floats(C * D, 0.1);
      const dev = {
        ...a,
        hidden: gpuArray(N * D, hidden, { pad: 1, act }).view,
        items: gpuArray(C * D, items, { pad: 2, act }).view,
        targets: gpuArray(N, a.targets, { int: true }).view,
        step: stepCounter(a.step),
        act,
      };
      const rowLoss = gpuArray(N, undefined, { pad: 3 });
      const dHidden = gpuArray(N * D, undefined, { pad: 1 });
      const dItems = gpuArray(C * D, prefill, { pad: 5 });
      run([
        ...wgslBceForward(gpu, { ...dev, rowLoss: rowLoss.view }),
        ...wgslBceBackward(gpu, {
          ...dev,
          dRow: gpuArray(N, dRow).view,
          dHidden: dHidden.view,
          dItems: dItems.view,
        }),
      ]);
      const wantLoss = new Float64Array(N);
      bceForward({ ...a, rowLoss: wantLoss });
      const wantH = new Float64Array(N * D);
      const wantW = Float64Array.from(prefill);
      bceBackward({ ...a, dRow, dHidden: wantH, dItems: wantW });
      const tol = 1e-4;
      expect(relErr(await rowLoss.read(), wantLoss), 'rowLoss').toBeLessThanOrEqual(tol);
      const gotH = await dHidden.read();
      if (wantH.every((x) => x === 0))
        expect(
          gotH.every((x) => x === 0),
          'dHidden zero',
        ).toBe(true);
      else expect(relErr(gotH, wantH), 'dHidden').toBeLessThanOrEqual(tol);
      const gotW = await dItems.read();
      const dW = Float64Array.from(gotW, (x, e) => x - prefill[e]!);
      const wantDW = wantW.map((x, e) => x - prefill[e]!);
      if (wantDW.every((x) => x === 0)) expect(relErr(gotW, prefill), 'dItems unchanged').toBe(0);
      else expect(relErr(dW, wantDW), 'dItems').toBeLessThanOrEqual(tol);
    });
  }
});
