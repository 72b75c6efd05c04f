/** Embedding reference: a hand case, the padding mask, dropout bits, finite differences of the backward. */
import { describe, expect, it } from 'vitest';
import { dropoutMaskHost } from '../../src/ops/dropout/index.js';
import { embeddingBackward, embeddingForward } from '../../src/ops/embedding/index.js';
import { testRng } from './rng.js';

describe('embedding (reference)', () => {
  it('computes (table[id]·scale + pos[t])·[id ≠ pad] by hand', () => {
    // V = 3, D = 2, L = 2, R = 4 (two sequences); id 0 is padding.
    const table = [9, 9, 1, 2, 3, 4];
    const pos = [10, 20, 30, 40];
    const out = new Float64Array(8).fill(Number.NaN);
    embeddingForward({ ids: [1, 2, 0, 1], table, pos, out, R: 4, L: 2, D: 2, scale: 2, padId: 0 });
    expect([...out]).toEqual([12, 24, 36, 48, 0, 0, 32, 44]);
    const dTable = new Float64Array(6).fill(1);
    const dPos = new Float64Array(4);
    const dOut = [1, 2, 3, 4, 5, 6, 7, 8];
    embeddingBackward({ ids: [1, 2, 0, 1], dOut, dTable, dPos, R: 4, L: 2, D: 2, scale: 2, padId: 0 });
    // row 0 (id 1, t 0) and row 3 (id 1, t 1) add into table row 1; row 2 is padding.
    expect([...dTable]).toEqual([1, 1, 1 + 2 * (1 + 7), 1 + 2 * (2 + 8), 1 + 6, 1 + 8]);
    expect([...dPos]).toEqual([1, 2, 3 + 7, 4 + 8]);
  });

  it('padding rows read no table row (padId outside the table) and ids out of range throw', () => {
    const out = new Float64Array(2);
    embeddingForward({ ids: [-1, 0], table: [5], pos: [1], out, R: 2, L: 1, D: 1, scale: 1, padId: -1 });
    expect([...out]).toEqual([0, 6]);
    expect(() =>
      embeddingForward({ ids: [3], table: [5], pos: [1], out, R: 1, L: 1, D: 1, scale: 1, padId: -1 }),
    ).toThrow(/outside the table/);
  });

  it('rate 0 is the identity and the dropout multipliers are dropoutMaskHost bit for bit', () => {
    const rng = testRng('embedding dropout');
    const R = 37;
    const D = 3;
    const L = 5;
    const ids = Int32Array.from({ length: R }, () => rng.int(1, 6));
    const table = rng.floats(7 * D);
    const pos = rng.floats(L * D);
    const plain = new Float64Array(R * D);
    const zero = new Float64Array(R * D);
    const base = { ids, table, pos, R, L, D, scale: 1.5, padId: 0 };
    embeddingForward({ ...base, out: plain });
    embeddingForward({ ...base, out: zero, dropout: { seed: 3, stream: 4, site: 5, rate: 0 } });
    expect([...zero]).toEqual([...plain]);
    // table 0 and pos 1: out = mul(e) exactly.
    const draw = { seed: rng.int(0, 2 ** 30), stream: 11, site: 2 };
    const out = new Float64Array(R * D);
    embeddingForward({
      ...base,
      table: new Float64Array(7 * D),
      pos: new Float64Array(L * D).fill(1),
      out,
      dropout: { ...draw, rate: 0.3 },
    });
    expect([...out]).toEqual([...dropoutMaskHost(R * D, 0.3, draw)]);
  });

  it('the backward matches float64 central differences of Σ dOut·out (awkward sizes, dropout, padding)', () => {
    const rng = testRng('embedding finite differences');
    const cases: [number, number, number][] = [
      [1, 1, 1],
      [37, 37, 3],
      [50, 10, 48],
      [50, 25, 63],
      [37, 37, 64],
      [50, 10, 256],
    ];
    for (const [R, L, D] of cases) {
      for (const rate of [0, 0.25]) {
        const V = 9;
        const padId = 0;
        const ids = Int32Array.from({ length: R }, () => (rng.uniform() < 0.2 ? padId : rng.int(1, V - 1)));
        const table = Float64Array.from(rng.floats(V * D));
        const pos = Float64Array.from(rng.floats(L * D));
        const dOut = Float64Array.from(rng.floats(R * D));
        const scale = Math.sqrt(D);
        const dropout = rate > 0 ? { seed: rng.int(0, 1000), stream: 7, site: 1, rate } : undefined;
        const out = new Float64Array(R * D);
        const loss = () => {
          embeddingForward({ ids, table, pos, out, R, L, D, scale, padId, dropout });
          let s = 0;
          for (let i = 0; i < R * D; i++) s += dOut[i]! * out[i]!;
          return s;
        };
        const dTable0 = Float64Array.from(rng.floats(V * D));
        const dPos0 = Float64Array.from(rng.floats(L * D));
        const dTable = Float64Array.from(dTable0);
        const dPos = Float64Array.from(dPos0);
        embeddingBackward({ ids, dOut, dTable, dPos, R, L, D, scale, padId, dropout });
        const h = 1e-3;
        const fd = (x: Float64Array, i: number) => {
          const v = x[i]!;
          x[i] = v + h;
          const up = loss();
          x[i] = v - h;
          const down = loss();
          x[i] = v;
          return (up - down) / (2 * h);
        };
        let m = 1;
        for (let i = 0; i < V * D; i++) m = Math.max(m, Math.abs(dTable[i]! - dTable0[i]!));
        for (let k = 0; k < 12; k++) {
          const i = rng.int(0, V * D - 1);
          expect(Math.abs(fd(table, i) - (dTable[i]! - dTable0[i]!)) / m).toBeLessThan(1e-6);
          const j = rng.int(0, L * D - 1);
          expect(Math.abs(fd(pos, j) - (dPos[j]! - dPos0[j]!)) / m).toBeLessThan(1e-6);
        }
        // The padding row of the table gets nothing.
        for (let d = 0; d < D; d++) expect(dTable[padId * D + d]).toBe(dTable0[padId * D + d]);
      }
    }
  });
});
