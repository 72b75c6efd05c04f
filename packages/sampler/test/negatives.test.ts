import { describe, expect, it } from 'vitest';
import { buildAliasTable } from '../src/alias.js';
import {
  drawItem,
  groupOf,
  inBatchCandidates,
  inBatchLogQ,
  negatives,
  sampleLogQ,
} from '../src/negatives.js';
import { mulhi32, philox4x32_10, seedKey } from '../src/philox.js';
import type { SamplerSpec } from '../src/types.js';

const words = (seed: number, g: number, j: number, s: number) => {
  const [k0, k1] = seedKey(seed);
  return philox4x32_10(g, j, s, 0, k0, k1);
};

describe('negatives: uniform', () => {
  it('draws high32(w0 · C) at counter [group, j, stream, 0] under the seed key', () => {
    const spec: SamplerSpec = { kind: 'uniform', numItems: 1013, seed: 2 ** 40 + 17 };
    const out = negatives(spec, 5, 3, 9);
    for (let r = 0; r < 5; r++) {
      for (let j = 0; j < 3; j++) expect(out[r * 3 + j]).toBe(mulhi32(words(spec.seed, r, j, 9)[0]!, 1013));
    }
  });

  it('maps rows to groups per share mode', () => {
    const base = { kind: 'uniform' as const, numItems: 50_000, seed: 3 };
    const row = negatives(base, 7, 4, 0);
    const block = negatives({ ...base, share: 'block', blockRows: 3 }, 7, 4, 0);
    const batch = negatives({ ...base, share: 'batch' }, 7, 4, 0);
    for (let r = 0; r < 7; r++) {
      const g = groupOf('block', 3, r);
      expect(Array.from(block.subarray(r * 4, r * 4 + 4))).toEqual(
        Array.from(row.subarray(g * 4, g * 4 + 4)),
      );
      expect(Array.from(batch.subarray(r * 4, r * 4 + 4))).toEqual(Array.from(row.subarray(0, 4)));
    }
    expect(groupOf('row', 5, 11)).toBe(11);
    expect(groupOf('block', 5, 11)).toBe(2);
    expect(groupOf('batch', 5, 11)).toBe(0);
  });

  it('handles a catalog of one item, K = 1, and zero rows', () => {
    expect(Array.from(negatives({ kind: 'uniform', numItems: 1, seed: 0 }, 4, 1, 0))).toEqual([0, 0, 0, 0]);
    expect(negatives({ kind: 'uniform', numItems: 10, seed: 0 }, 0, 3, 0)).toHaveLength(0);
  });

  it('gives logQ = −log C', () => {
    expect(sampleLogQ({ kind: 'uniform', numItems: 1000, seed: 0 })(999)).toBe(-Math.log(1000));
    expect(sampleLogQ({ kind: 'uniform', numItems: 1, seed: 0 })(0)).toBe(-0);
  });
});

describe('negatives: popularity', () => {
  const table = buildAliasTable([5, 0, 1, 30, 2, 2, 7], { alpha: 0.75 });
  const spec: SamplerSpec = { kind: 'popularity', numItems: 7, seed: 12345, table };

  it('picks the column from w0 and keeps it when w1 < prob[col], else takes alias[col]', () => {
    const out = negatives(spec, 20, 6, 4);
    for (let r = 0; r < 20; r++) {
      for (let j = 0; j < 6; j++) {
        const w = words(spec.seed, r, j, 4);
        const col = mulhi32(w[0]!, 7);
        const want = w[1]! < table.prob[col]! ? col : table.alias[col]!;
        expect(out[r * 6 + j]).toBe(want);
        expect(drawItem(spec, r, j, 4)).toBe(want);
        expect(out[r * 6 + j]).not.toBe(1); // count 0: never drawn
      }
    }
  });

  it('gives logQ = log q of the table', () => {
    const lq = sampleLogQ(spec);
    for (let c = 0; c < 7; c++) expect(lq(c)).toBe(Math.log(table.q[c]!));
    expect(lq(1)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('rejects a table of another size', () => {
    expect(() => negatives({ ...spec, numItems: 8 }, 1, 1, 0)).toThrow(/spec.table.numItems/);
  });
});

describe('negatives: inBatch', () => {
  const targets = [4, -1, 9, 4, 2, -1, 4];
  const spec: SamplerSpec = { kind: 'inBatch', numItems: 10, seed: 77, targets };

  it('takes candidates = valid targets in row order, position high32(w0 · numValid)', () => {
    const cand = inBatchCandidates(spec);
    expect(Array.from(cand)).toEqual([4, 9, 4, 2, 4]);
    const out = negatives(spec, 7, 5, 2);
    for (let r = 0; r < 7; r++) {
      for (let j = 0; j < 5; j++) {
        expect(out[r * 5 + j]).toBe(cand[mulhi32(words(77, r, j, 2)[0]!, 5)]);
      }
    }
  });

  it('gives q(c) = count among candidates / numValid', () => {
    const lq = sampleLogQ(spec);
    expect(lq(4)).toBe(Math.log(3 / 5));
    expect(lq(9)).toBe(Math.log(1 / 5));
    expect(lq(2)).toBe(Math.log(1 / 5));
    expect(lq(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(Array.from(inBatchLogQ(inBatchCandidates(spec)))).toEqual(
      [3, 1, 3, 1, 3].map((k) => Math.log(k / 5)),
    );
  });

  it('honours ignoreIndex and returns −1 draws where every row is ignored', () => {
    const s2: SamplerSpec = { kind: 'inBatch', numItems: 10, seed: 1, targets: [0, 3, 0], ignoreIndex: 0 };
    expect(Array.from(new Set(negatives(s2, 3, 8, 0)))).toEqual([3]);
    const none: SamplerSpec = { kind: 'inBatch', numItems: 10, seed: 1, targets: [-1, -1] };
    expect(Array.from(negatives(none, 2, 2, 0))).toEqual([-1, -1, -1, -1]);
  });

  it('rejects targets outside the catalog, naming the index', () => {
    expect(() => negatives({ ...spec, targets: [1, 10] }, 1, 1, 0)).toThrow(/spec.targets\[1\]/);
    expect(() => negatives({ ...spec, targets: [1.5] }, 1, 1, 0)).toThrow(/spec.targets\[0\]/);
  });
});

describe('negatives: bad input', () => {
  const ok: SamplerSpec = { kind: 'uniform', numItems: 10, seed: 0 };
  it.each([
    [{ ...ok, numItems: 0 }, 1, 1, 0, /spec.numItems/],
    [{ ...ok, numItems: 1.5 }, 1, 1, 0, /spec.numItems/],
    [{ ...ok, numItems: 2 ** 32 }, 1, 1, 0, /spec.numItems/],
    [{ ...ok, seed: -1 }, 1, 1, 0, /seed/],
    [{ ...ok, seed: 2 ** 53 }, 1, 1, 0, /seed/],
    [{ ...ok, share: 'block' }, 1, 1, 0, /spec.blockRows/],
    [{ ...ok, share: 'block', blockRows: 0 }, 1, 1, 0, /spec.blockRows/],
    [{ ...ok, blockRows: -2 }, 1, 1, 0, /spec.blockRows/],
    [{ ...ok, share: 'rows' }, 1, 1, 0, /spec.share/],
    [{ ...ok, kind: 'zipf' }, 1, 1, 0, /spec.kind/],
    [ok, 1, 0, 0, /\bK\b/],
    [ok, -1, 1, 0, /rows/],
    [ok, 1, 1, -1, /stream/],
    [ok, 1, 1, 2 ** 32, /stream/],
  ])('rejects %o rows=%i K=%i stream=%i', (spec, rows, K, stream, re) => {
    expect(() => negatives(spec as SamplerSpec, rows, K, stream)).toThrow(re);
  });

  it('sampleLogQ rejects an item outside the catalog', () => {
    expect(() => sampleLogQ(ok)(10)).toThrow(/item/);
  });
});
