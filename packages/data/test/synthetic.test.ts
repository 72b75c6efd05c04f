import { describe, expect, it } from 'vitest';
import {
  datasetStats,
  leaveOneOut,
  plantedMetrics,
  Rng,
  SYNTHETIC_DEFAULTS,
  syntheticDataset,
} from '../src/index.js';

describe('syntheticDataset', () => {
  const small = { numUsers: 300, numItems: 60, numGroups: 3, minLength: 6, maxLength: 12, seed: 7 };

  it('is reproducible from its seed and differs across seeds', () => {
    const a = syntheticDataset(small);
    const b = syntheticDataset(small);
    const c = syntheticDataset({ ...small, seed: 8 });
    expect(a.dataset.sequences.map((s) => Array.from(s))).toEqual(
      b.dataset.sequences.map((s) => Array.from(s)),
    );
    expect(Array.from(a.groups)).toEqual(Array.from(b.groups));
    expect(a.best).toEqual(b.best);
    expect(a.dataset.sequences.map((s) => Array.from(s))).not.toEqual(
      c.dataset.sequences.map((s) => Array.from(s)),
    );
  });

  it('has the requested sizes, time-ordered timestamps and a leave-one-out split', () => {
    const s = syntheticDataset(small);
    const st = datasetStats(s.dataset);
    expect(st.numUsers).toBe(300);
    expect(s.dataset.numItems).toBe(60);
    expect(st.minLength).toBeGreaterThanOrEqual(6);
    expect(st.maxLength).toBeLessThanOrEqual(12);
    for (const ts of s.dataset.timestamps!)
      for (let k = 1; k < ts.length; k++) expect(ts[k]!).toBeGreaterThan(ts[k - 1]!);
    expect(s.split.test).toHaveLength(300);
    expect(s.split).toEqual(leaveOneOut(s.dataset));
  });

  it('next-item distributions are distributions and the posterior finds the true group', () => {
    const s = syntheticDataset(small);
    let correct = 0;
    for (const ex of s.split.test) {
      const p = s.nextItemDistribution(ex.history);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      const post = s.groupPosterior(ex.history);
      const g = post.indexOf(Math.max(...post));
      if (g === s.groups[ex.user]) correct++;
    }
    expect(correct / s.split.test.length).toBeGreaterThan(0.95);
  });

  it('planted structure beats popularity by far; the oracle bounds the Bayes ranking', () => {
    const s = syntheticDataset();
    expect(s.options).toEqual(SYNTHETIC_DEFAULTS);
    expect(s.best.ndcg10).toBeGreaterThan(0.8);
    expect(s.popularity.ndcg10).toBeLessThan(0.15 * s.best.ndcg10);
    expect(s.oracle.expectedNdcg10).toBeGreaterThanOrEqual(s.best.expectedNdcg10 - 1e-12);
    const again = plantedMetrics(s, s.split.test, { ks: [10] });
    expect(again['ndcg@10']).toBeCloseTo(s.best.ndcg10, 12);
    console.log(
      `synthetic defaults: best NDCG@10 ${s.best.ndcg10.toFixed(4)} (expected ${s.best.expectedNdcg10.toFixed(4)}), ` +
        `oracle ${s.oracle.ndcg10.toFixed(4)}, popularity ${s.popularity.ndcg10.toFixed(4)}`,
    );
  });

  it('its empirical transitions follow the planted chain', () => {
    // With noise 0, every step is one of the group's successors of the previous item.
    const s = syntheticDataset({ ...small, noise: 0, successors: 2 });
    const C = s.options.numItems;
    s.dataset.sequences.forEach((seq, u) => {
      const g = s.groups[u]!;
      for (let t = 1; t < seq.length; t++) {
        const base = (g * C + seq[t - 1]!) * 2;
        expect([s.successorTable[base], s.successorTable[base + 1]]).toContain(seq[t]);
      }
    });
  });

  it('rejects bad options naming them', () => {
    expect(() => syntheticDataset({ numItems: 2, successors: 2 })).toThrow('numItems must be an integer ≥ 3');
    expect(() => syntheticDataset({ noise: 2 })).toThrow('noise must be in [0, 1]');
    expect(() => syntheticDataset({ minLength: 5, maxLength: 4 })).toThrow(
      'maxLength must be an integer ≥ 5',
    );
  });
});

describe('Rng', () => {
  it('is deterministic per (seed, stream) and uniform enough', () => {
    const a = new Rng(42, 3);
    const b = new Rng(42, 3);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(new Rng(42, 4).nextUint32()).not.toBe(xs[0]);
    expect(new Rng(2 ** 40, 0).nextUint32()).not.toBe(new Rng(0, 0).nextUint32());
    const r = new Rng(1);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    const f = Array.from({ length: 1000 }, () => r.float());
    expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...f)).toBeLessThan(1);
  });
  it('rejects bad seeds naming the argument', () => {
    expect(() => new Rng(-1)).toThrow('seed must be an integer in [0, 2^53)');
    expect(() => new Rng(1.5)).toThrow('seed must be');
  });
});
