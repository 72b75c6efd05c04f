import { describe, expect, it } from 'vitest';
import { buildAliasTable, encodedProbabilities } from '../src/alias.js';
import { rng } from './stats.js';

const TWO32 = 2 ** 32;

/** Sum over columns of each column's encoded probabilities, per item (an independent float64 sum). */
function perColumnSum(prob: Uint32Array, alias: Uint32Array): Float64Array {
  const C = prob.length;
  const q = new Float64Array(C);
  for (let col = 0; col < C; col++) {
    const keep = alias[col] === col ? 1 : prob[col]! / TWO32;
    q[col] = q[col]! + keep / C;
    if (alias[col] !== col) q[alias[col]!] = q[alias[col]!]! + (1 - keep) / C;
  }
  return q;
}

function zipfCounts(C: number, seed: number, zeros = 0): Float64Array {
  const r = rng(seed);
  const counts = new Float64Array(C);
  for (let c = 0; c < C; c++) counts[c] = Math.floor(1e5 / (c + 1) ** 1.1) + (r() % 7);
  for (let i = 0; i < zeros; i++) counts[r() % C] = 0;
  return counts;
}

describe('buildAliasTable', () => {
  it.each([
    [1, 0],
    [2, 0],
    [7, 1],
    [997, 50],
    [65_537, 1000],
  ])('reproduces q within 1e-12 and the target distribution within rounding (C=%i)', (C, zeros) => {
    const counts = zipfCounts(C, C, zeros);
    if (counts.every((x) => x === 0)) counts[0] = 1;
    for (const alpha of [1, 0.75]) {
      const t = buildAliasTable(counts, { alpha });
      expect(t.numItems).toBe(C);
      const sum = perColumnSum(t.prob, t.alias);
      let total = 0;
      let wsum = 0;
      for (let c = 0; c < C; c++) wsum += counts[c] === 0 ? 0 : counts[c]! ** alpha;
      let maxEnc = 0;
      let maxTarget = 0;
      let bad = 0;
      for (let c = 0; c < C; c++) {
        maxEnc = Math.max(maxEnc, Math.abs(sum[c]! - t.q[c]!));
        total += t.q[c]!;
        // Thresholds round to 2^-32 per column, and Vose's float residuals are ~1e-16 · C.
        const p = counts[c] === 0 ? 0 : counts[c]! ** alpha / wsum;
        maxTarget = Math.max(maxTarget, Math.abs(t.q[c]! - p));
        if (counts[c] === 0 && t.q[c] !== 0) bad++;
        if (t.logQ[c] !== Math.fround(Math.log(t.q[c]!))) bad++;
        if (t.alias[c]! >= C) bad++;
      }
      expect(maxEnc).toBeLessThan(1e-12);
      expect(maxTarget).toBeLessThan(1e-9);
      expect(bad).toBe(0);
      expect(Math.abs(total - 1)).toBeLessThan(1e-12);
    }
  });

  it('encodes a full column as alias[col] = col with prob 0xffffffff', () => {
    const t = buildAliasTable([3, 3, 3]);
    expect(Array.from(t.prob)).toEqual([0xffffffff, 0xffffffff, 0xffffffff]);
    expect(Array.from(t.alias)).toEqual([0, 1, 2]);
    expect(Array.from(t.q)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    const one = buildAliasTable([5]);
    expect(one.prob[0]).toBe(0xffffffff);
    expect(one.alias[0]).toBe(0);
    expect(one.q[0]).toBe(1);
  });

  it('gives q exactly from the table (integer numerators, one division)', () => {
    const t = buildAliasTable([1, 2, 3, 0, 10]);
    expect(encodedProbabilities(t.prob, t.alias)).toEqual(t.q);
    expect(t.q[3]).toBe(0);
    expect(t.logQ[3]).toBe(Number.NEGATIVE_INFINITY);
  });

  it('alpha = 0 is uniform over the items with a positive count', () => {
    const t = buildAliasTable([1, 100, 0, 1e6], { alpha: 0 });
    expect(Array.from(t.q)).toEqual([1 / 3, 1 / 3, 0, 1 / 3].map((x) => expect.closeTo(x, 9)));
  });

  it('rejects bad counts and alpha, naming the argument', () => {
    expect(() => buildAliasTable([])).toThrow(/counts.*empty/);
    expect(() => buildAliasTable([1, -1])).toThrow(/counts\[1\].*≥ 0/);
    expect(() => buildAliasTable([1, Number.NaN])).toThrow(/counts\[1\] is NaN/);
    expect(() => buildAliasTable([Number.POSITIVE_INFINITY])).toThrow(/counts\[0\].*finite/);
    expect(() => buildAliasTable([0, 0, 0])).toThrow(/counts.*all zeros/);
    expect(() => buildAliasTable([1, 2], { alpha: -1 })).toThrow(/options.alpha/);
    expect(() => buildAliasTable([1, 2], { alpha: Number.NaN })).toThrow(/options.alpha/);
  });
});
