/** AdamW reference: hand-computed updates, clipping, weight decay split, and the schedule's shapes. */
import { describe, expect, it } from 'vitest';
import {
  adamwUpdate,
  checkSchedule,
  gradNormSquared,
  type LrSchedule,
  learningRate,
} from '../../src/ops/adamw/index.js';
import { testRng } from './rng.js';

const base = { beta1: 0.9, beta2: 0.99, eps: 1e-8, lr: 0.1, clipNorm: 0 };

describe('adamwUpdate (reference)', () => {
  it('two steps match values computed by hand (element 0 decayed, element 1 not)', () => {
    const params = new Float64Array([1, -2]);
    const m = new Float64Array(2);
    const v = new Float64Array(2);
    const common = {
      ...base,
      params,
      m,
      v,
      n: 2,
      nDecay: 1,
      weightDecay: 0.1,
      schedule: { kind: 'constant' } as const,
    };
    // t = 1: m = 0.1·g, v = 0.01·g², m̂/√v̂ = sign(g)·|g|/(|g| + 1e-8·…) ≈ ±1.
    const s1 = adamwUpdate({ ...common, grads: [0.5, 2], step: 0 });
    expect(s1).toEqual({ lr: 0.1, scale: 1 });
    expect(m[0]).toBeCloseTo(0.05, 15);
    expect(m[1]).toBeCloseTo(0.2, 15);
    expect(v[0]).toBeCloseTo(0.0025, 15);
    expect(v[1]).toBeCloseTo(0.04, 15);
    // p0 = 1 − 0.1·(0.5 / (0.5 + 1e-8)) − 0.1·0.1·1; p1 = −2 − 0.1·(2 / (2 + 1e-8)).
    expect(params[0]).toBeCloseTo(0.890000002, 12);
    expect(params[1]).toBeCloseTo(-2.0999999995, 12);
    // t = 2: m0 = 0.045 − 0.1 = −0.055, v0 = 0.002475 + 0.01 = 0.012475, bias corrections 0.19, 0.0199.
    adamwUpdate({ ...common, grads: [-1, 0.25], step: 1 });
    expect(m[0]).toBeCloseTo(-0.055, 15);
    expect(m[1]).toBeCloseTo(0.205, 15);
    expect(v[0]).toBeCloseTo(0.012475, 15);
    expect(v[1]).toBeCloseTo(0.040225, 15);
    expect(params[0]).toBeCloseTo(0.9176607728517225, 12);
    expect(params[1]).toBeCloseTo(-2.1758889887993527, 12);
  });

  it('clips by the global norm: grads (3, 4) with clipNorm 1 act as (0.6, 0.8)', () => {
    const params = new Float64Array([0, 0]);
    const m = new Float64Array(2);
    const v = new Float64Array(2);
    const grads = [3, 4];
    const normSq = gradNormSquared(grads);
    expect(normSq).toBe(25);
    const s = adamwUpdate({
      ...base,
      params,
      grads,
      m,
      v,
      n: 2,
      nDecay: 0,
      step: 0,
      schedule: { kind: 'constant' },
      weightDecay: 0,
      clipNorm: 1,
      normSq,
    });
    expect(s.scale).toBeCloseTo(0.2, 12);
    expect(m[0]).toBeCloseTo(0.06, 12);
    expect(m[1]).toBeCloseTo(0.08, 12);
    expect(v[0]).toBeCloseTo(0.0036, 12);
    expect(v[1]).toBeCloseTo(0.0064, 12);
    // A norm below clipNorm is left alone.
    const s2 = adamwUpdate({
      ...base,
      params,
      grads,
      m,
      v,
      n: 2,
      nDecay: 0,
      step: 1,
      schedule: { kind: 'constant' },
      weightDecay: 0,
      clipNorm: 10,
      normSq,
    });
    expect(s2.scale).toBe(1);
    expect(() =>
      adamwUpdate({
        ...base,
        params,
        grads,
        m,
        v,
        n: 2,
        nDecay: 0,
        step: 0,
        schedule: { kind: 'constant' },
        weightDecay: 0,
        clipNorm: 1,
      }),
    ).toThrow(/normSq/);
  });

  it('uses the schedule at `step` and touches only the first n elements', () => {
    const params = new Float64Array([1, 1, 7]);
    const m = new Float64Array(3);
    const v = new Float64Array(3);
    const s = adamwUpdate({
      ...base,
      eps: 0,
      params,
      grads: [1, -1, 5],
      m,
      v,
      n: 2,
      nDecay: 2,
      step: 0,
      schedule: { kind: 'constant', warmupSteps: 4 },
      weightDecay: 0,
    });
    expect(s.lr).toBeCloseTo(0.025, 15);
    // eps 0, t = 1: the update is exactly sign(g).
    expect(params[0]).toBeCloseTo(1 - 0.025, 15);
    expect(params[1]).toBeCloseTo(1 + 0.025, 15);
    expect(params[2]).toBe(7);
    expect(m[2]).toBe(0);
  });

  it('rejects bad n, nDecay, step and schedules', () => {
    const a = {
      ...base,
      params: [0],
      grads: [0],
      m: [0],
      v: [0],
      n: 1,
      nDecay: 0,
      step: 0,
      schedule: { kind: 'constant' } as LrSchedule,
      weightDecay: 0,
    };
    expect(() => adamwUpdate({ ...a, nDecay: 2 })).toThrow(/nDecay/);
    expect(() => adamwUpdate({ ...a, n: 2 })).toThrow(/params has 1/);
    expect(() => adamwUpdate({ ...a, step: -1 })).toThrow(/step/);
    expect(() => adamwUpdate({ ...a, schedule: { kind: 'cosine', totalSteps: 0 } })).toThrow(/totalSteps/);
  });

  it('gradNormSquared sums the first n squares, on random awkward sizes', () => {
    const rng = testRng('adamw gradNormSquared');
    for (const n of [0, 1, 3, 1001]) {
      const g = rng.floats(n + 2);
      let want = 0;
      for (const x of g.subarray(0, n)) want += x * x;
      expect(gradNormSquared(g, n)).toBeCloseTo(want, 9);
    }
    expect(() => gradNormSquared([1], 2)).toThrow(/n must be/);
  });
});

describe('learning-rate schedules', () => {
  const lr = 2;
  it('constant, with and without warmup', () => {
    expect([0, 1, 100].map((s) => learningRate(lr, { kind: 'constant' }, s))).toEqual([2, 2, 2]);
    const w = { kind: 'constant', warmupSteps: 4 } as const;
    expect([0, 1, 2, 3, 4, 50].map((s) => learningRate(lr, w, s))).toEqual([0.5, 1, 1.5, 2, 2, 2]);
  });

  it('cosine: warmup, peak, half-way, floor', () => {
    const s = { kind: 'cosine', warmupSteps: 2, totalSteps: 12 } as const;
    expect(learningRate(lr, s, 0)).toBeCloseTo(1, 15);
    expect(learningRate(lr, s, 1)).toBeCloseTo(2, 15);
    expect(learningRate(lr, s, 2)).toBeCloseTo(2, 15);
    expect(learningRate(lr, s, 4)).toBeCloseTo(2 * 0.9045084971874737, 14); // progress 0.2
    expect(learningRate(lr, s, 7)).toBeCloseTo(1, 14); // progress 0.5
    expect(learningRate(lr, s, 12)).toBeCloseTo(0, 14);
    expect(learningRate(lr, s, 1000)).toBeCloseTo(0, 14);
    const f = { ...s, minRatio: 0.25 };
    expect(learningRate(lr, f, 7)).toBeCloseTo(0.5 + 1.5 * 0.5, 14);
    expect(learningRate(lr, f, 99)).toBeCloseTo(0.5, 14);
    let prev = Number.POSITIVE_INFINITY;
    for (let t = 2; t <= 12; t++) {
      const x = learningRate(lr, f, t);
      expect(x).toBeLessThanOrEqual(prev);
      prev = x;
    }
  });

  it('linear: straight line from the peak to the floor', () => {
    const s = { kind: 'linear', warmupSteps: 0, totalSteps: 10, minRatio: 0.1 } as const;
    expect(learningRate(lr, s, 0)).toBeCloseTo(2, 15);
    expect(learningRate(lr, s, 5)).toBeCloseTo(0.2 + 1.8 * 0.5, 14);
    expect(learningRate(lr, s, 9)).toBeCloseTo(0.2 + 1.8 * 0.1, 14);
    expect(learningRate(lr, s, 10)).toBeCloseTo(0.2, 14);
    expect(learningRate(lr, s, 99)).toBeCloseTo(0.2, 14);
    expect(learningRate(lr, { kind: 'linear', warmupSteps: 5, totalSteps: 15 }, 10)).toBeCloseTo(1, 14);
  });

  it('checkSchedule names the bad field', () => {
    expect(() => checkSchedule({ kind: 'constant', warmupSteps: -1 })).toThrow(/warmupSteps/);
    expect(() => checkSchedule({ kind: 'cosine', warmupSteps: 5, totalSteps: 5 })).toThrow(/totalSteps/);
    expect(() => checkSchedule({ kind: 'linear', totalSteps: 5, minRatio: 2 })).toThrow(/minRatio/);
    expect(() => checkSchedule({ kind: 'step' } as never)).toThrow(/schedule.kind/);
    expect(() => checkSchedule({ kind: 'cosine', warmupSteps: 1, totalSteps: 2, minRatio: 1 })).not.toThrow();
  });
});
