/**
 * The float64 reference against hand-computed tiny cases, central finite differences, and an
 * independently written direct formula (loss_i = log(1 + Σ_j exp(s_ij − pos_i))).
 */
import { testSeed } from '@cutrec/config/testing';
import { negatives, sampleLogQ } from '@cutrec/sampler';
import { describe, expect, it } from 'vitest';
import type { CceOptions } from '../src/index.js';
import { referenceBackward, referenceForward, resolveOptions } from '../src/index.js';
import type { HostCceInputs } from '../src/reference/index.js';
import { randomInputs, skewedTable } from './contract.js';

const SEED = testSeed('reference');

function resolved(x: HostCceInputs, options: CceOptions) {
  return resolveOptions({ ...options, impl: 'reference', checkInputs: false }, x, 'cpu');
}

describe(`reference (seed ${SEED})`, () => {
  it('full catalog: N = 1, C = 2, D = 1 by hand', () => {
    const x = { hidden: [1], items: [2, 3], targets: [0], N: 1, C: 2, D: 1 };
    const o = resolved(x, { negatives: 'all' });
    const { loss, lse } = referenceForward(x, o);
    expect(lse[0]).toBeCloseTo(Math.log(Math.exp(2) + Math.exp(3)), 14);
    expect(loss[0]).toBeCloseTo(Math.log1p(Math.E), 14);
    const p1 = Math.E / (1 + Math.E);
    const p0 = 1 - p1;
    const { dHidden, dItems } = referenceBackward(x, [1], o);
    expect(dHidden[0]).toBeCloseTo(p0 * 2 + p1 * 3 - 2, 14);
    expect(dItems[0]).toBeCloseTo(p0 - 1, 14);
    expect(dItems[1]).toBeCloseTo(p1, 14);
  });

  it('C = 1 with logQ, hits kept: every s_j = pos − log K, so loss = log 2 for any K', () => {
    for (const K of [1, 3, 17]) {
      const x = randomInputs(SEED + K, 5, 1, 4, { ignoredFraction: 0 });
      const { loss } = referenceForward(x, resolved(x, { negatives: K, removeAccidentalHits: false }));
      for (const v of loss) expect(v).toBeCloseTo(Math.LN2, 12);
    }
  });

  it('C = 1 with removeAccidentalHits: every negative is masked, loss 0 and gradients 0', () => {
    const x = randomInputs(SEED, 6, 1, 3, { ignoredFraction: 0 });
    const o = resolved(x, { negatives: 4 });
    expect(Array.from(referenceForward(x, o).loss)).toEqual([0, 0, 0, 0, 0, 0]);
    const g = referenceBackward(x, [1, 1, 1, 1, 1, 1], o);
    expect(Math.max(...g.dHidden.map(Math.abs), ...g.dItems.map(Math.abs))).toBe(0);
  });

  it('ignored rows contribute nothing', () => {
    const x = randomInputs(SEED, 9, 7, 5, { ignoredFraction: 0.5 });
    const o = resolved(x, { negatives: 3 });
    const { loss } = referenceForward(x, o);
    const g = referenceBackward(x, new Array(9).fill(1), o);
    for (let i = 0; i < 9; i++) {
      if (x.targets[i] !== -1) continue;
      expect(loss[i]).toBe(0);
      for (let d = 0; d < 5; d++) expect(g.dHidden[i * 5 + d]).toBe(0);
    }
  });

  const cases: [string, CceOptions, number][] = [
    ["'all'", { negatives: 'all' }, 7],
    ['uniform, row, logQ, hits masked', { negatives: 6 }, 5],
    ['uniform, row, logQ off, hits kept', { negatives: 6, logQ: false, removeAccidentalHits: false }, 5],
    [
      'popularity, block of 3',
      { negatives: 5, share: 'block', blockRows: 3, sampler: { kind: 'popularity', table: skewedTable(8) } },
      8,
    ],
    ['inBatch, batch', { negatives: 4, share: 'batch', sampler: 'inBatch' }, 6],
  ];

  for (const [name, options, C] of cases) {
    it(`matches an independent direct formula: ${name}`, () => {
      const N = 11;
      const D = 4;
      const x = randomInputs(SEED + 17, N, C, D, { ignoredFraction: 0.2, scale: 1 });
      const o = resolved(x, options);
      const { loss } = referenceForward(x, o);
      const dotp = (i: number, c: number) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += x.hidden[i * D + d]! * x.items[c * D + d]!;
        return s;
      };
      let ids: Int32Array | undefined;
      let logQ: ((c: number) => number) | undefined;
      if (options.negatives !== 'all') {
        const spec = {
          kind: o.sampler,
          numItems: C,
          seed: o.seed,
          share: o.share,
          blockRows: o.blockRows,
          table: o.aliasTable,
          targets: x.targets,
        } as Parameters<typeof negatives>[0];
        ids = negatives(spec, N, o.negatives as number, o.step);
        logQ = sampleLogQ(spec);
      }
      for (let i = 0; i < N; i++) {
        const y = x.targets[i]!;
        if (y === -1) {
          expect(loss[i]).toBe(0);
          continue;
        }
        const pos = dotp(i, y);
        let sum = 0; // Σ exp(s − pos) over the terms other than the positive
        if (!ids) {
          for (let c = 0; c < C; c++) if (c !== y) sum += Math.exp(dotp(i, c) - pos);
        } else {
          const K = o.negatives as number;
          for (let j = 0; j < K; j++) {
            const n = ids[i * K + j]!;
            if (o.removeAccidentalHits && n === y) continue;
            const shift = o.logQ ? Math.log(K) + logQ!(n) : 0;
            sum += Math.exp(dotp(i, n) - shift - pos);
          }
        }
        const direct = Math.log1p(sum);
        expect(Math.abs(loss[i]! - direct), `row ${i}`).toBeLessThanOrEqual(1e-12 * Math.max(1, direct));
      }
    });

    it(`gradients match central finite differences: ${name}`, () => {
      const N = 7;
      const D = 3;
      const x = randomInputs(SEED + 29, N, C, D, { ignoredFraction: 0.2, scale: 1 });
      const hidden = Float64Array.from(x.hidden);
      const items = Float64Array.from(x.items);
      const o = resolved(x, options);
      const dLoss = Array.from({ length: N }, (_, i) => 0.5 + ((i * 37) % 11) / 10);
      const objective = (h: Float64Array, w: Float64Array) => {
        const { loss } = referenceForward({ ...x, hidden: h, items: w }, o);
        return loss.reduce((a, v, i) => a + v * dLoss[i]!, 0);
      };
      const g = referenceBackward({ ...x, hidden, items }, dLoss, o);
      const eps = 1e-6;
      for (const [arr, grad] of [
        [hidden, g.dHidden],
        [items, g.dItems],
      ] as const) {
        for (let k = 0; k < arr.length; k++) {
          const v = arr[k]!;
          arr[k] = v + eps;
          const up = objective(hidden, items);
          arr[k] = v - eps;
          const down = objective(hidden, items);
          arr[k] = v;
          const fd = (up - down) / (2 * eps);
          expect(Math.abs(fd - grad[k]!), `entry ${k}: fd ${fd}, analytic ${grad[k]}`).toBeLessThanOrEqual(
            1e-6,
          );
        }
      }
    });
  }

  it('rejects host inputs whose lengths do not match N, C, D', () => {
    const x = randomInputs(SEED, 3, 4, 2);
    const o = resolved(x, { negatives: 2 });
    expect(() => referenceForward({ ...x, hidden: x.hidden.subarray(1) }, o)).toThrow(/hidden.*N·D = 6/);
    expect(() => referenceBackward(x, [1, 1], o)).toThrow(/dLoss.*N = 3/);
  });
});
