/**
 * BCE / gBCE reference: forward against a naive version built on @cutrec/sampler's negatives()
 * (written as −β·log σ(pos) − Σ log(1 − σ(s)), gSASRec's form), backward by float64 central
 * differences, C = 1 (every negative is the target), K = 1, all rows ignored, accumulation.
 */
import { negatives } from '@cutrec/sampler';
import { describe, expect, it } from 'vitest';
import { type BceInputs, bceBackward, bceForward } from '../../src/ops/bce/index.js';
import { relMaxDiff, testRng } from './rng.js';

const sigma = (x: number) => 1 / (1 + Math.exp(-x));

function naiveForward(a: BceInputs): Float64Array {
  const negs = negatives({ kind: 'uniform', numItems: a.C, seed: a.seed, share: 'row' }, a.N, a.K, a.step);
  const out = new Float64Array(a.N);
  const dot = (i: number, c: number) => {
    let s = 0;
    for (let d = 0; d < a.D; d++) s += a.hidden[i * a.D + d]! * a.items[c * a.D + d]!;
    return s;
  };
  for (let i = 0; i < a.N; i++) {
    const y = a.targets[i]!;
    if (y === a.ignoreIndex) continue;
    let loss = -a.beta * Math.log(sigma(dot(i, y)));
    for (let j = 0; j < a.K; j++) {
      const n = negs[i * a.K + j]!;
      if (a.removeAccidentalHits && n === y) continue;
      loss -= Math.log(1 - sigma(dot(i, n)));
    }
    out[i] = loss;
  }
  return out;
}

function randomInputs(
  rng: ReturnType<typeof testRng>,
  N: number,
  C: number,
  D: number,
  K: number,
  extra: Partial<BceInputs> = {},
): BceInputs {
  return {
    hidden: Float64Array.from(rng.floats(N * D, 0.5)),
    items: Float64Array.from(rng.floats(C * D, 0.5)),
    targets: Int32Array.from({ length: N }, () => (rng.uniform() < 0.2 ? -1 : rng.int(0, C - 1))),
    N,
    C,
    D,
    K,
    beta: 1,
    seed: rng.int(0, 2 ** 31),
    step: rng.int(0, 1000),
    removeAccidentalHits: true,
    ignoreIndex: -1,
    ...extra,
  };
}

function forward(a: BceInputs): Float64Array {
  const rowLoss = new Float64Array(a.N).fill(Number.NaN);
  bceForward({ ...a, rowLoss });
  return rowLoss;
}

describe('bceForward (reference)', () => {
  it('equals a naive version on negatives() (BCE, gBCE, hits kept or removed, awkward sizes)', () => {
    const rng = testRng('bce forward vs naive');
    const cases: [number, number, number, number, Partial<BceInputs>][] = [
      [13, 7, 5, 4, {}],
      [37, 53, 19, 9, { beta: 0.37 }],
      [20, 3, 8, 33, { removeAccidentalHits: false }],
      [9, 2, 3, 1, {}],
      [5, 1000, 4, 256, { step: 0xffffffff }],
    ];
    for (const [N, C, D, K, extra] of cases) {
      const a = randomInputs(rng, N, C, D, K, extra);
      expect(relMaxDiff(forward(a), naiveForward(a)), JSON.stringify({ N, C, D, K, extra })).toBeLessThan(
        1e-12,
      );
    }
  });

  it('C = 1: every negative is the target', () => {
    const a = {
      hidden: [0.5, -1],
      items: [2, 1],
      targets: [0],
      N: 1,
      C: 1,
      D: 2,
      K: 3,
      beta: 0.5,
      seed: 7,
      step: 3,
      removeAccidentalHits: true,
      ignoreIndex: -1,
    };
    // pos = 0.5·2 − 1·1 = 0: removed hits leave β·log 2; kept, 3 more softplus(0) = log 2.
    expect(forward(a)[0]).toBeCloseTo(0.5 * Math.LN2, 14);
    expect(forward({ ...a, removeAccidentalHits: false })[0]).toBeCloseTo(3.5 * Math.LN2, 14);
  });

  it('all rows ignored give 0; a custom ignoreIndex; bad targets throw', () => {
    const rng = testRng('bce ignored rows');
    const a = randomInputs(rng, 6, 5, 3, 2);
    expect([...forward({ ...a, targets: new Int32Array(6).fill(-1) })]).toEqual([0, 0, 0, 0, 0, 0]);
    const b = { ...a, targets: Int32Array.from([0, 4, 4, 1, 2, 3]), ignoreIndex: 4 };
    const got = forward(b);
    expect(got[1]).toBe(0);
    expect(got[2]).toBe(0);
    expect(got[0]).toBeGreaterThan(0);
    expect(() => forward({ ...a, targets: Int32Array.from([0, 5, 0, 0, 0, 0]) })).toThrow(/targets\[1\]/);
    expect(() => forward({ ...a, K: 0 })).toThrow(/K must be/);
  });
});

describe('bceBackward (reference)', () => {
  const check = (a: BceInputs, dRow: Float64Array) => {
    const { N, C, D } = a;
    const dHidden = new Float64Array(N * D).fill(Number.NaN);
    const prefill = Float64Array.from({ length: C * D }, (_, e) => Math.sin(e));
    const dItems = Float64Array.from(prefill);
    bceBackward({ ...a, dRow, dHidden, dItems });
    const objective = (x: BceInputs) => {
      const l = forward(x);
      let s = 0;
      for (let i = 0; i < N; i++) s += dRow[i]! * l[i]!;
      return s;
    };
    const h = 1e-5;
    const fd = (arr: Float64Array, e: number) => {
      const x = arr[e]!;
      arr[e] = x + h;
      const up = objective(a);
      arr[e] = x - h;
      const down = objective(a);
      arr[e] = x;
      return (up - down) / (2 * h);
    };
    const hidden = a.hidden as Float64Array;
    const items = a.items as Float64Array;
    const wantH = Float64Array.from({ length: N * D }, (_, e) => fd(hidden, e));
    const wantW = Float64Array.from({ length: C * D }, (_, e) => fd(items, e));
    const gotW = dItems.map((x, e) => x - prefill[e]!);
    expect(relMaxDiff(dHidden, wantH)).toBeLessThan(1e-7);
    expect(relMaxDiff(gotW, wantW)).toBeLessThan(1e-7);
    return { dHidden, dItems: gotW };
  };

  it('matches float64 central differences (BCE, gBCE, hits kept, K = 1, C = 2)', () => {
    const rng = testRng('bce backward finite differences');
    const cases: [number, number, number, number, Partial<BceInputs>][] = [
      [6, 7, 3, 4, {}],
      [5, 9, 4, 6, { beta: 0.3, removeAccidentalHits: false }],
      [7, 2, 2, 1, {}],
      [4, 3, 5, 5, { beta: 2 }],
    ];
    for (const [N, C, D, K, extra] of cases) {
      const a = randomInputs(rng, N, C, D, K, extra);
      const dRow = Float64Array.from({ length: N }, () => rng.uniform() + 0.5);
      check(a, dRow);
    }
  });

  it('C = 1 with hits removed only pulls toward the target; ignored rows get 0', () => {
    const rng = testRng('bce backward C = 1');
    const a = randomInputs(rng, 5, 1, 3, 4);
    const { dHidden } = check(a, Float64Array.from([1, 2, 3, 4, 5]));
    for (let i = 0; i < 5; i++) {
      if (a.targets[i] === -1) expect([...dHidden.subarray(i * 3, i * 3 + 3)]).toEqual([0, 0, 0]);
    }
  });

  it('all rows ignored: dHidden all 0, dItems unchanged', () => {
    const rng = testRng('bce backward all ignored');
    const a = randomInputs(rng, 4, 3, 2, 2, { targets: new Int32Array(4).fill(-1) });
    const dHidden = new Float64Array(8).fill(Number.NaN);
    const dItems = new Float64Array(6).fill(0.5);
    bceBackward({ ...a, dRow: new Float64Array(4).fill(1), dHidden, dItems });
    expect([...dHidden]).toEqual(new Array(8).fill(0));
    expect([...dItems]).toEqual(new Array(6).fill(0.5));
  });
});
