import { describe, expect, it } from 'vitest';
import { datasetFromSequences, leaveOneOut, temporalSplit, timeQuantile } from '../src/index.js';
import { plain } from './helpers.js';

describe('leaveOneOut', () => {
  it('puts the last item in test, the one before in validation, the rest in train', () => {
    const ds = datasetFromSequences([[0, 1, 2, 3, 4], [5, 6, 7], [1, 2], [3]], { numItems: 8 });
    const { train, valid, test } = leaveOneOut(ds);
    expect(plain(train)).toEqual([[0, 1, 2], [5], [1, 2], [3]]);
    expect(valid.map((e) => [e.user, Array.from(e.history), e.target])).toEqual([
      [0, [0, 1, 2], 3],
      [1, [5], 6],
    ]);
    expect(test.map((e) => [e.user, Array.from(e.history), e.target])).toEqual([
      [0, [0, 1, 2, 3], 4],
      [1, [5, 6], 7],
    ]);
  });

  it('does not alias the dataset: changing the split leaves the sequences alone', () => {
    const ds = datasetFromSequences([[0, 1, 2]]);
    const s = leaveOneOut(ds);
    s.train[0]![0] = 2;
    s.test[0]!.history[0] = 2;
    expect(Array.from(ds.sequences[0]!)).toEqual([0, 1, 2]);
  });
});

describe('temporalSplit', () => {
  const ds = datasetFromSequences([[0, 1, 2, 3], [4, 5], [6, 7, 0], [1]], {
    numItems: 8,
    timestamps: [[1, 2, 8, 11], [3, 4], [5, 9, 12], [15]],
  });

  it('trains on interactions up to the threshold and tests users with later ones on their last item', () => {
    const { train, valid, test } = temporalSplit(ds, { threshold: 10 });
    expect(plain(train)).toEqual([[0, 1, 2], [4, 5], [6, 7], []]);
    expect(valid).toEqual([]);
    // user 3 has only a post-threshold item: empty history, dropped
    expect(test.map((e) => [e.user, Array.from(e.history), e.target])).toEqual([
      [0, [0, 1, 2], 3],
      [2, [6, 7], 0],
    ]);
  });

  it('with validThreshold, validates on the last item in (validThreshold, threshold]', () => {
    const { train, valid, test } = temporalSplit(ds, { threshold: 10, validThreshold: 6 });
    expect(plain(train)).toEqual([[0, 1], [4, 5], [6], []]);
    expect(valid.map((e) => [e.user, Array.from(e.history), e.target])).toEqual([
      [0, [0, 1], 2],
      [2, [6], 7],
    ]);
    expect(test.map((e) => e.user)).toEqual([0, 2]);
  });

  it('test history includes post-threshold items before the target', () => {
    const d2 = datasetFromSequences([[0, 1, 2]], { timestamps: [[1, 5, 6]] });
    const { test } = temporalSplit(d2, { threshold: 2 });
    expect(Array.from(test[0]!.history)).toEqual([0, 1]);
    expect(test[0]!.target).toBe(2);
  });

  it('rejects a dataset without timestamps and a bad validThreshold', () => {
    expect(() => temporalSplit(datasetFromSequences([[0, 1]]), { threshold: 1 })).toThrow(
      'needs a dataset with timestamps',
    );
    expect(() => temporalSplit(ds, { threshold: 5, validThreshold: 5 })).toThrow('validThreshold must be');
  });

  it('timeQuantile picks thresholds by nearest rank', () => {
    expect(timeQuantile(ds, 0)).toBe(1);
    expect(timeQuantile(ds, 1)).toBe(15);
    expect(timeQuantile(ds, 0.5)).toBe(5); // 10 stamps: 1 2 3 4 5 8 9 11 12 15 → 5th
  });
});
