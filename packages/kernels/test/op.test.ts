/**
 * `cceLoss` as a tfjs op on the CPU backend: autograd (tf.grad, tf.variableGrads,
 * optimizer.minimize), tf.tidy with no leaks, reductions, the implementation registry, and input
 * errors that name the argument and the limit.
 */
import { testSeed } from '@cutrec/config/testing';
import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CceImplementation,
  type CceOptions,
  cceLoss,
  checkCceInputs,
  getImplementation,
  registerImplementation,
  resolveOptions,
} from '../src/index.js';
import { randomInputs, skewedTable } from './contract.js';

const SEED = testSeed('op');

function tensors(N: number, C: number, D: number, ignoredFraction = 0.2) {
  const x = randomInputs(SEED, N, C, D, { ignoredFraction });
  return {
    h: tf.tensor2d(x.hidden, [N, D]),
    w: tf.tensor2d(x.items, [C, D]),
    t: tf.tensor1d(x.targets, 'int32'),
    x,
  };
}

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

describe(`cceLoss op (seed ${SEED})`, () => {
  it('tf.grad and tf.grads agree with tf.valueAndGrads', async () => {
    const { h, w, t } = tensors(13, 11, 5);
    const opts: CceOptions = { negatives: 4, seed: 3 };
    const dh = tf.grad((hh: tf.Tensor) => cceLoss(hh as tf.Tensor2D, w, t, opts))(h);
    const dw = tf.grad((ww: tf.Tensor) => cceLoss(h, ww as tf.Tensor2D, t, opts))(w);
    const both = tf.valueAndGrads((hh: tf.Tensor, ww: tf.Tensor) =>
      cceLoss(hh as tf.Tensor2D, ww as tf.Tensor2D, t, opts),
    )([h, w]);
    expect(Array.from(await dh.data())).toEqual(Array.from(await both.grads[0]!.data()));
    expect(Array.from(await dw.data())).toEqual(Array.from(await both.grads[1]!.data()));
    tf.dispose([h, w, t, dh, dw, both.value, ...both.grads]);
  });

  it('tf.variableGrads gives gradients for variables hidden and items', () => {
    const { h, w, t } = tensors(9, 7, 3);
    const hv = tf.variable(h);
    const wv = tf.variable(w);
    const { value, grads } = tf.variableGrads(() => cceLoss(hv, wv, t, { negatives: 'all' }));
    expect(value.shape).toEqual([]);
    expect(grads[hv.name]!.shape).toEqual([9, 3]);
    expect(grads[wv.name]!.shape).toEqual([7, 3]);
    tf.dispose([h, w, t, hv, wv, value, ...Object.values(grads)]);
  });

  it('optimizer.minimize lowers the loss', () => {
    const { h, w, t } = tensors(24, 10, 6, 0);
    const hv = tf.variable(h);
    const wv = tf.variable(w);
    const opt = tf.train.adam(0.05);
    const loss = () => cceLoss(hv, wv, t, { negatives: 5, step: 0 });
    const first = tf.tidy(() => loss().dataSync()[0]!);
    for (let s = 0; s < 30; s++) opt.minimize(loss)?.dispose();
    const last = tf.tidy(() => loss().dataSync()[0]!);
    expect(last).toBeLessThan(first * 0.5);
    opt.dispose();
    tf.dispose([h, w, t, hv, wv]);
  });

  for (const impl of ['tfjs', 'reference'] as const) {
    it(`leaks no tensor inside tf.tidy (forward and backward, impl '${impl}')`, () => {
      const { h, w, t } = tensors(17, 9, 4);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        cceLoss(h, w, t, { negatives: 3, impl });
        tf.grads((hh: tf.Tensor, ww: tf.Tensor) =>
          cceLoss(hh as tf.Tensor2D, ww as tf.Tensor2D, t, { negatives: 'all', impl, chunkSize: 4 }),
        )([h, w]);
      });
      expect(tf.memory().numTensors).toBe(before);
      const kept = tf.tidy(() => cceLoss(h, w, t, { negatives: 3, impl }));
      expect(tf.memory().numTensors).toBe(before + 1);
      tf.dispose([h, w, t, kept]);
    });
  }

  it("reductions: 'sum' = Σ 'none', 'mean' = 'sum' / valid rows, and 0 when no row is valid", () => {
    const { h, w, t, x } = tensors(21, 8, 5, 0.3);
    const opts: CceOptions = { negatives: 6, seed: 11, step: 2 };
    const none = cceLoss(h, w, t, { ...opts, reduction: 'none' });
    const sum = cceLoss(h, w, t, { ...opts, reduction: 'sum' });
    const mean = cceLoss(h, w, t, opts);
    expect(none.shape).toEqual([21]);
    const rows = none.dataSync();
    const valid = x.targets.filter((v) => v !== -1).length;
    x.targets.forEach((v, i) => {
      if (v === -1) expect(rows[i]).toBe(0);
    });
    const total = Array.from(rows).reduce((a, b) => a + b, 0);
    expect(sum.dataSync()[0]).toBeCloseTo(total, 4);
    expect(mean.dataSync()[0]).toBeCloseTo(total / valid, 5);
    const ignored = tf.fill([21], -1, 'int32') as tf.Tensor1D;
    expect(cceLoss(h, w, ignored, opts).dataSync()[0]).toBe(0);
    tf.dispose([h, w, t, none, sum, mean, ignored]);
  });

  it("impl 'auto' is 'tfjs' on the CPU backend; options are resolved with documented defaults", () => {
    const o = resolveOptions(undefined, { N: 4, C: 5, D: 3 }, tf.getBackend());
    expect(o).toMatchObject({
      negatives: 'all',
      share: 'row',
      blockRows: 64,
      sampler: 'uniform',
      seed: 0,
      step: 0,
      logQ: true,
      removeAccidentalHits: true,
      ignoreIndex: -1,
      reduction: 'mean',
      impl: 'tfjs',
      checkInputs: true,
    });
    expect(resolveOptions(undefined, { N: 4, C: 5, D: 3 }, 'webgpu').checkInputs).toBe(false);
  });

  it('a registered implementation is what cceLoss calls', () => {
    const tfjs = getImplementation('tfjs');
    let calls = 0;
    const fake: CceImplementation = {
      name: 'cuda',
      forward: (...a) => {
        calls++;
        return tfjs.forward(...a);
      },
      backward: (...a) => {
        calls++;
        return tfjs.backward(...a);
      },
    };
    registerImplementation(fake);
    const { h, w, t } = tensors(5, 4, 2);
    const g = tf.grad((hh: tf.Tensor) => cceLoss(hh as tf.Tensor2D, w, t, { negatives: 2, impl: 'cuda' }))(h);
    expect(calls).toBe(2);
    tf.dispose([h, w, t, g]);
  });
});

describe('cceLoss input errors name the argument and the limit', () => {
  const N = 6;
  const C = 5;
  const D = 3;
  const x = randomInputs(1, N, C, D);
  const h = () => tf.tensor2d(x.hidden, [N, D]);
  const w = () => tf.tensor2d(x.items, [C, D]);
  const t = () => tf.tensor1d(x.targets, 'int32');
  const call = (hh: tf.Tensor, ww: tf.Tensor, tt: tf.Tensor, o?: CceOptions) => () =>
    tf.tidy(() => cceLoss(hh as tf.Tensor2D, ww as tf.Tensor2D, tt as tf.Tensor1D, o));

  it('shapes and dtypes', () => {
    expect(call(tf.zeros([N]), w(), t())).toThrow(/hidden must have rank 2/);
    expect(call(h(), tf.zeros([C, D, 1]), t())).toThrow(/items must have rank 2/);
    expect(call(h(), w(), tf.zeros([N, 1], 'int32'))).toThrow(/targets must have rank 1/);
    expect(call(tf.zeros([N, D], 'int32'), w(), t())).toThrow(/hidden must be float32, got int32/);
    expect(call(h(), tf.zeros([C, D], 'int32'), t())).toThrow(/items must be float32/);
    expect(call(h(), w(), tf.zeros([N]))).toThrow(/targets must be int32, got float32/);
    expect(call(h(), tf.zeros([C, D + 1]), t())).toThrow(/items has D = 4 columns but hidden has D = 3/);
    expect(call(h(), w(), tf.zeros([N + 1], 'int32'))).toThrow(/targets has length 7 but hidden has N = 6/);
    expect(call(h(), tf.zeros([0, D]), t())).toThrow(/C ≥ 1/);
    expect(call(h(), w(), [1, 2] as unknown as tf.Tensor)).toThrow(/targets must be a tf.Tensor/);
  });

  it('options', () => {
    expect(call(h(), w(), t(), { negatives: 0 })).toThrow(
      /options.negatives \(K\) must be an integer in \[1,/,
    );
    expect(call(h(), w(), t(), { negatives: 2.5 })).toThrow(/negatives \(K\)/);
    expect(call(h(), w(), t(), { seed: -1 })).toThrow(/options.seed must be an integer in \[0, 2\^53\)/);
    expect(call(h(), w(), t(), { seed: 2 ** 53 })).toThrow(/options.seed/);
    expect(call(h(), w(), t(), { step: -1 })).toThrow(/options.step must be an integer in \[0,/);
    expect(call(h(), w(), t(), { step: 0.5 })).toThrow(/options.step/);
    expect(call(h(), w(), t(), { blockRows: 0, share: 'block' })).toThrow(
      /options.blockRows must be an integer in \[1,/,
    );
    expect(call(h(), w(), t(), { reduction: 'avg' as 'mean' })).toThrow(
      /options.reduction must be one of 'mean', 'sum', 'none'/,
    );
    expect(call(h(), w(), t(), { impl: 'metal' as 'tfjs' })).toThrow(/options.impl must be one of/);
    expect(call(h(), w(), t(), { impl: 'wgsl' })).toThrow(
      /options.impl 'wgsl' needs the 'webgpu' tfjs backend \(active: 'cpu'\)/,
    );
    expect(call(h(), w(), t(), { share: 'rows' as 'row' })).toThrow(
      /options.share must be one of 'row', 'block', 'batch'/,
    );
    expect(call(h(), w(), t(), { sampler: 'zipf' as 'uniform' })).toThrow(/options.sampler must be one of/);
    expect(call(h(), w(), t(), { sampler: 'popularity' })).toThrow(/needs its alias table/);
    expect(call(h(), w(), t(), { sampler: { kind: 'popularity', table: skewedTable(C + 1) } })).toThrow(
      /table covers 6 items but items has C = 5/,
    );
    expect(call(h(), w(), t(), { chunkSize: 0 })).toThrow(/options.chunkSize must be an integer ≥ 1/);
    expect(call(h(), w(), t(), { logQ: 1 as unknown as boolean })).toThrow(
      /options.logQ must be true or false/,
    );
    expect(call(h(), w(), t(), { negativs: 3 } as CceOptions)).toThrow(/unknown option 'negativs'/);
  });

  it('values: NaN/Infinity and target ids outside [0, C)', async () => {
    const bad = Float32Array.from(x.hidden);
    bad[4] = Number.NaN;
    const hBad = tf.tensor2d(bad, [N, D]);
    expect(call(hBad, w(), t())).toThrow(/hidden contains NaN or ±Infinity/);
    const wInf = tf.tensor2d(Float32Array.from(x.items).fill(Number.POSITIVE_INFINITY, 2, 3), [C, D]);
    expect(call(h(), wInf, t())).toThrow(/items contains NaN or ±Infinity/);
    const tHigh = tf.tensor1d([0, 1, 2, 5, 1, 0], 'int32');
    expect(call(h(), w(), tHigh)).toThrow(
      /targets\[3\] = 5 is outside \[0, C = 5\) and is not ignoreIndex \(-1\)/,
    );
    const tNeg = tf.tensor1d([0, -2, 2, 1, 1, 0], 'int32');
    expect(call(h(), w(), tNeg)).toThrow(/targets\[1\] = -2 is outside/);
    // an ignoreIndex inside the id range is allowed and means "ignored"
    expect(call(h(), w(), tNeg, { ignoreIndex: -2 })).not.toThrow();
    // checkInputs: false skips the value checks (shapes are still checked)
    expect(call(hBad, w(), t(), { checkInputs: false })).not.toThrow();
    // the asynchronous check, for backends without synchronous reads
    await expect(checkCceInputs(h(), w(), tHigh)).rejects.toThrow(/targets\[3\] = 5/);
    await expect(checkCceInputs(hBad, w(), t())).rejects.toThrow(/hidden contains NaN/);
    await expect(checkCceInputs(h(), w(), t(), { negatives: 3 })).resolves.toBeUndefined();
  });
});
