/** Mean loss reference: known values, finite differences, all rows ignored, awkward sizes. */
import { describe, expect, it } from 'vitest';
import { meanLoss } from '../../src/ops/meanloss/index.js';
import { testRng } from './rng.js';

describe('meanLoss (reference)', () => {
  it('averages over valid rows only and gives them 1/count', () => {
    const d = new Float64Array(4);
    expect(
      meanLoss({ values: [1, 100, 3, 8], targets: [5, -1, 0, 2], N: 4, ignoreIndex: -1, dValues: d }),
    ).toBe(4);
    expect([...d]).toEqual([1 / 3, 0, 1 / 3, 1 / 3]);
    // A custom ignoreIndex; rows past N are not read.
    const d2 = new Float64Array(3).fill(9);
    expect(
      meanLoss({ values: [2, 4, Number.NaN], targets: [0, 7, 1], N: 2, ignoreIndex: 0, dValues: d2 }),
    ).toBe(4);
    expect([...d2]).toEqual([0, 1, 9]);
  });

  it('all rows ignored (and N = 0) give 0 and an all-zero gradient', () => {
    const d = new Float64Array(3).fill(Number.NaN);
    expect(meanLoss({ values: [1, 2, 3], targets: [-1, -1, -1], N: 3, ignoreIndex: -1, dValues: d })).toBe(0);
    expect([...d]).toEqual([0, 0, 0]);
    expect(meanLoss({ values: [], targets: [], N: 0, ignoreIndex: -1, dValues: [] })).toBe(0);
  });

  it('dValues matches float64 central differences on random awkward sizes', () => {
    const rng = testRng('meanloss finite differences');
    for (const N of [1, 7, 33]) {
      const values = Float64Array.from(rng.floats(N));
      const targets = Int32Array.from({ length: N }, () => (rng.uniform() < 0.3 ? -1 : rng.int(0, 9)));
      const d = new Float64Array(N);
      meanLoss({ values, targets, N, ignoreIndex: -1, dValues: d });
      const h = 1e-4;
      const scratch = new Float64Array(N);
      for (let i = 0; i < N; i++) {
        const x = values[i]!;
        values[i] = x + h;
        const up = meanLoss({ values, targets, N, ignoreIndex: -1, dValues: scratch });
        values[i] = x - h;
        const down = meanLoss({ values, targets, N, ignoreIndex: -1, dValues: scratch });
        values[i] = x;
        expect(Math.abs((up - down) / (2 * h) - d[i]!)).toBeLessThan(1e-9);
      }
    }
  });

  it('rejects short arrays', () => {
    expect(() => meanLoss({ values: [1], targets: [1, 2], N: 2, ignoreIndex: -1, dValues: [0, 0] })).toThrow(
      /values/,
    );
  });
});
