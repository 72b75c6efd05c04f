import { describe, expect, it } from 'vitest';
import {
  datasetFromSequences,
  evaluatePopularity,
  evaluateScorer,
  leaveOneOut,
  maskSeen,
  popularityRanking,
  popularityTopK,
  Rng,
  rankOfTarget,
  topK,
} from '../src/index.js';

describe('rankOfTarget and topK', () => {
  const scores = Float32Array.of(0.5, 0.9, 0.5, 0.1, 0.9);
  it('ranks by score descending with ties to the lower id', () => {
    expect(rankOfTarget(scores, 2)).toBe(3); // 1, 4 higher; 0 ties with a lower id
    expect(rankOfTarget(scores, 0)).toBe(2);
    expect(rankOfTarget(scores, 1)).toBe(0);
    expect(Array.from(topK(scores, 3))).toEqual([1, 4, 0]);
    expect(Array.from(topK(scores, 10))).toEqual([1, 4, 0, 2, 3]);
  });
  it('removes seen items, never the target', () => {
    expect(rankOfTarget(scores, 2, [1, 2, 2, 1])).toBe(2);
    expect(Array.from(topK(scores, 3, [1, 2], 2))).toEqual([4, 0, 2]);
    expect(Array.from(topK(scores, 3, [1, 2]))).toEqual([4, 0, 3]);
    const s = [0.5, 0.9, 0.5, 0.1, 0.9];
    maskSeen(s, [1, 2], 2);
    expect(s).toEqual([0.5, Number.NEGATIVE_INFINITY, 0.5, 0.1, 0.9]);
  });
  it('rejects a NaN target score and an out-of-range target', () => {
    expect(() => rankOfTarget([0, Number.NaN], 1)).toThrow('NaN');
    expect(() => rankOfTarget([0, 1], 2)).toThrow('target must be an item id in [0, 2)');
  });
  it('agrees with the rank of every item on random scores with ties (C = 37, one item catalog)', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 20; trial++) {
      const C = trial === 0 ? 1 : 37;
      const s = Float64Array.from({ length: C }, () => rng.int(6));
      const exclude = [rng.int(C), rng.int(C)];
      const all = topK(s, C, exclude);
      for (let p = 0; p < all.length; p++) expect(rankOfTarget(s, all[p]!, exclude)).toBe(p);
    }
  });
});

describe('popularity baseline', () => {
  const train = [Int32Array.of(0, 1, 1), Int32Array.of(1, 2), Int32Array.of(3)];
  it('ranks items by training interactions, ties to the lower id', () => {
    const r = popularityRanking(train, 5);
    expect(Array.from(r.scores)).toEqual([1, 3, 1, 1, 0]);
    expect(Array.from(r.order)).toEqual([1, 0, 2, 3, 4]);
    expect(Array.from(popularityTopK(r, 3, [1, 0], 0))).toEqual([0, 2, 3]);
  });
  it('evaluatePopularity matches evaluateScorer with the counts as scores', () => {
    const ds = datasetFromSequences(
      Array.from({ length: 30 }, (_, u) => [u % 4, (u * 3) % 7, (u + 2) % 5, u % 3]),
      { numItems: 7 },
    );
    const split = leaveOneOut(ds);
    const r = popularityRanking(split.train, 7);
    for (const removeSeen of [false, true]) {
      const opts = { ks: [1, 3], numItems: 7, removeSeen };
      const a = evaluatePopularity(split.train, split.test, opts);
      const b = evaluateScorer(split.test, () => r.scores, { ...opts, popularity: undefined });
      for (const key of Object.keys(b)) expect(a[key]).toBeCloseTo(b[key]!, 12);
      expect(a['surprisal@3']).toBeGreaterThanOrEqual(0);
    }
  });
});
