import { describe, expect, it } from 'vitest';
import {
  apOfList,
  coverageAt,
  hitAt,
  itemPopularity,
  mrrAt,
  ndcgAt,
  ndcgOfList,
  precisionAt,
  precisionOfList,
  RankingMetrics,
  recallOfList,
  rrOfList,
  selfInformation,
  surprisalAt,
} from '../src/index.js';

describe('single-target metrics from a 0-based rank (hand-computed)', () => {
  it('rank 0, 2, 6 and beyond k', () => {
    expect(ndcgAt(0, 10)).toBe(1);
    expect(ndcgAt(2, 10)).toBeCloseTo(0.5, 12); // 1/log2(4)
    expect(ndcgAt(6, 10)).toBeCloseTo(1 / 3, 12); // 1/log2(8)
    expect(ndcgAt(10, 10)).toBe(0);
    expect(hitAt(9, 10)).toBe(1);
    expect(hitAt(10, 10)).toBe(0);
    expect(mrrAt(2, 10)).toBeCloseTo(1 / 3, 12);
    expect(mrrAt(2, 2)).toBe(0);
    expect(precisionAt(3, 10)).toBeCloseTo(0.1, 12);
    expect(precisionAt(3, 3)).toBe(0);
  });

  it('RankingMetrics averages ranks [0, 2, 6, 15] at k = 1 and 10', () => {
    const m = new RankingMetrics({ ks: [1, 10], numItems: 20 });
    for (const r of [0, 2, 6, 15]) m.addRank(r);
    const res = m.result();
    expect(m.count).toBe(4);
    expect(res['ndcg@10']).toBeCloseTo((1 + 0.5 + 1 / 3) / 4, 12);
    expect(res['hr@10']).toBeCloseTo(0.75, 12);
    expect(res['recall@10']).toBeCloseTo(0.75, 12);
    expect(res['mrr@10']).toBeCloseTo((1 + 1 / 3 + 1 / 7) / 4, 12);
    expect(res['map@10']).toBeCloseTo((1 + 1 / 3 + 1 / 7) / 4, 12);
    expect(res['precision@10']).toBeCloseTo(0.3 / 4, 12);
    expect(res['ndcg@1']).toBeCloseTo(0.25, 12);
    expect(res['hr@1']).toBeCloseTo(0.25, 12);
    expect(res['precision@1']).toBeCloseTo(0.25, 12);
    expect(res['coverage@10']).toBeUndefined(); // needs top-k lists
  });

  it('RankingMetrics from top-k lists: rank from the list, coverage and surprisal', () => {
    const pop = { counts: Int32Array.of(4, 2, 1, 0, 4), numUsers: 4 };
    const m = new RankingMetrics({ ks: [2], numItems: 5, popularity: pop });
    m.addTopK(Int32Array.of(1, 2), 2); // rank 1
    m.addTopK(Int32Array.of(3, 0), 4); // absent
    const res = m.result();
    expect(res['hr@2']).toBeCloseTo(0.5, 12);
    expect(res['ndcg@2']).toBeCloseTo(1 / Math.log2(3) / 2, 12);
    expect(res['mrr@2']).toBeCloseTo(0.25, 12);
    expect(res['coverage@2']).toBeCloseTo(4 / 5, 12);
    // self-information bits: item1 1, item2 2, item3 (unseen → 1 user) 2, item0 0; normalized by log2(4) = 2
    expect(res['surprisal@2']).toBeCloseTo((1 + 2 + 2 + 0) / 4 / 2, 12);
  });

  it('an empty accumulator reports zeros; bad cutoffs are rejected', () => {
    expect(new RankingMetrics({ ks: [5], numItems: 3 }).result()['ndcg@5']).toBe(0);
    expect(() => new RankingMetrics({ ks: [0], numItems: 3 })).toThrow('k must be an integer ≥ 1');
    expect(() => new RankingMetrics({ ks: [], numItems: 3 })).toThrow('ks must list');
  });
});

describe('list metrics with several relevant items (hand-computed)', () => {
  const list = [3, 1, 4, 2, 5];
  const rel = new Set([1, 2, 9]);
  it('NDCG, Recall, Precision, RR, AP at k = 5', () => {
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(ndcgOfList(list, rel, 5)).toBeCloseTo(dcg / idcg, 12);
    expect(recallOfList(list, rel, 5)).toBeCloseTo(2 / 3, 12);
    expect(precisionOfList(list, rel, 5)).toBeCloseTo(2 / 5, 12);
    expect(rrOfList(list, rel, 5)).toBeCloseTo(1 / 2, 12);
    expect(apOfList(list, rel, 5)).toBeCloseTo((1 / 2 + 2 / 4) / 3, 12);
  });
  it('at k = 1 nothing relevant is in the list', () => {
    expect(ndcgOfList(list, rel, 1)).toBe(0);
    expect(apOfList(list, rel, 1)).toBe(0);
  });
  it('one relevant item agrees with the rank formulas', () => {
    const one = new Set([4]); // position 2
    expect(ndcgOfList(list, one, 10)).toBeCloseTo(ndcgAt(2, 10), 12);
    expect(apOfList(list, one, 10)).toBeCloseTo(mrrAt(2, 10), 12);
    expect(precisionOfList(list, one, 10)).toBeCloseTo(precisionAt(2, 10), 12);
  });
});

describe('coverage and surprisal', () => {
  it('coverage counts distinct items in the first k of any list', () => {
    const lists = [Int32Array.of(0, 1), Int32Array.of(1, 2)];
    expect(coverageAt(lists, 2, 5)).toBeCloseTo(3 / 5, 12);
    expect(coverageAt(lists, 1, 5)).toBeCloseTo(2 / 5, 12);
  });
  it('surprisal is the mean self-information of recommended items, raw or normalized', () => {
    const pop = { counts: Int32Array.of(4, 2, 1, 0), numUsers: 4 };
    expect(selfInformation(pop, 0, false)).toBe(0);
    expect(selfInformation(pop, 1, false)).toBeCloseTo(1, 12);
    expect(selfInformation(pop, 2, false)).toBeCloseTo(2, 12);
    expect(selfInformation(pop, 3, false)).toBeCloseTo(2, 12);
    const lists = [Int32Array.of(1, 2), Int32Array.of(3, 0)];
    expect(surprisalAt(lists, 2, pop, false)).toBeCloseTo(1.25, 12);
    expect(surprisalAt(lists, 2, pop)).toBeCloseTo(0.625, 12);
  });
  it('itemPopularity counts distinct users per item and users with training items', () => {
    const pop = itemPopularity([Int32Array.of(0, 0, 1), Int32Array.of(0, 2), Int32Array.of()], 4);
    expect(Array.from(pop.counts)).toEqual([2, 1, 1, 0]);
    expect(pop.numUsers).toBe(2);
  });
});
