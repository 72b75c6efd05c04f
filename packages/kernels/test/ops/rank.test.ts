/**
 * The rank reference (src/ops/rank/reference.ts) against a brute-force sort of every user's
 * candidates (score descending, id ascending): random and integer-valued inputs (exact ties),
 * seen lists holding the target, U = 1, C = 1, D = 1, rowStride/offset selection, bad inputs.
 */
import { describe, expect, it } from 'vitest';
import { checkRankArgs, type RankSeen, rankOfTargets } from '../../src/ops/rank/index.js';
import { testRng } from './rng.js';

type Rng = ReturnType<typeof testRng>;

/** Position of y among the user's candidates (non-seen items and y itself) sorted by score desc, then id asc. */
function bruteRanks(
  hidden: ArrayLike<number>,
  rowStride: number,
  offset: number,
  items: ArrayLike<number>,
  targets: ArrayLike<number>,
  U: number,
  C: number,
  D: number,
  seen?: RankSeen,
): number[] {
  const out: number[] = [];
  for (let u = 0; u < U; u++) {
    const y = targets[u]!;
    const excluded = new Set<number>();
    if (seen) for (let i = seen.offsets[u]!; i < seen.offsets[u + 1]!; i++) excluded.add(seen.items[i]!);
    const cands: { c: number; s: number }[] = [];
    for (let c = 0; c < C; c++) {
      if (c !== y && excluded.has(c)) continue;
      let s = 0;
      for (let d = 0; d < D; d++) s += hidden[offset + u * rowStride + d]! * items[c * D + d]!;
      cands.push({ c, s });
    }
    cands.sort((a, b) => b.s - a.s || a.c - b.c);
    out.push(cands.findIndex((e) => e.c === y));
  }
  return out;
}

/** Random CSR seen lists (sorted, unique); about `withTarget` of them hold the user's target. */
function randomSeen(
  rng: Rng,
  U: number,
  C: number,
  targets: ArrayLike<number>,
  maxLen: number,
  withTarget = 0.5,
): RankSeen {
  const offsets = new Int32Array(U + 1);
  const all: number[] = [];
  for (let u = 0; u < U; u++) {
    const s = new Set<number>();
    const n = rng.int(0, Math.min(maxLen, C));
    for (let i = 0; i < n; i++) s.add(rng.int(0, C - 1));
    if (rng.uniform() < withTarget) s.add(targets[u]!);
    const sorted = [...s].sort((a, b) => a - b);
    all.push(...sorted);
    offsets[u + 1] = all.length;
  }
  return { offsets, items: Int32Array.from(all) };
}

interface Case {
  U: number;
  C: number;
  D: number;
  L?: number;
  integer: boolean;
  seen?: number;
}

function runCase(rng: Rng, { U, C, D, L = 1, integer, seen: seenLen }: Case): void {
  const gen = (n: number) =>
    integer ? Float64Array.from({ length: n }, () => rng.int(-2, 2)) : Float64Array.from(rng.floats(n));
  const hidden = gen(U * L * D);
  const items = gen(C * D);
  const targets = Int32Array.from({ length: U }, () => rng.int(0, C - 1));
  const seen = seenLen === undefined ? undefined : randomSeen(rng, U, C, targets, seenLen);
  const rowStride = L * D;
  const offset = (L - 1) * D;
  const ranks = new Int32Array(U).fill(-1);
  rankOfTargets({ hidden, rowStride, offset, items, targets, U, C, D, ...(seen ? { seen } : {}), ranks });
  expect([...ranks]).toEqual(bruteRanks(hidden, rowStride, offset, items, targets, U, C, D, seen));
}

describe('rankOfTargets (reference)', () => {
  it('known values: ties broken by id, the target never excluded, seen items skipped', () => {
    // D = 1, h = 1: scores are the items themselves.
    const items = [3, 1, 3, 5, 3];
    const ranks = new Int32Array(4);
    rankOfTargets({
      hidden: [1, 1, 1, 1],
      rowStride: 1,
      offset: 0,
      items,
      targets: [2, 0, 4, 3],
      U: 4,
      C: 5,
      D: 1,
      ranks,
    });
    // Item 2 (score 3): item 3 (5) and item 0 (3, lower id) beat it.
    // Item 0 (3): item 3 only. Item 4 (3): items 3, 0, 2. Item 3 (5): none.
    expect([...ranks]).toEqual([2, 1, 3, 0]);
    const seen = { offsets: [0, 2, 3, 3, 4], items: [0, 2, 0, 3] };
    rankOfTargets({
      hidden: [1, 1, 1, 1],
      rowStride: 1,
      offset: 0,
      items,
      targets: [2, 0, 4, 3],
      U: 4,
      C: 5,
      D: 1,
      seen,
      ranks,
    });
    // User 0 saw 0 and 2 (its target stays): item 3 only. User 1 saw its target 0: item 3.
    // User 3 saw its own target 3: rank 0 still.
    expect([...ranks]).toEqual([1, 1, 3, 0]);
  });

  it('matches a brute-force sort on integer-valued inputs (exact ties), with and without seen lists', () => {
    const rng = testRng('rank reference integer');
    for (const c of [
      { U: 7, C: 13, D: 3 },
      { U: 5, C: 40, D: 2, seen: 10 },
      { U: 9, C: 25, D: 4, L: 3, seen: 25 },
      { U: 1, C: 17, D: 1, seen: 5 },
      { U: 6, C: 1, D: 5, seen: 1 },
      { U: 4, C: 30, D: 1, L: 2 },
    ]) {
      runCase(rng, { ...c, integer: true });
    }
  });

  it('matches a brute-force sort on random floats, with rowStride/offset selection', () => {
    const rng = testRng('rank reference float');
    for (const c of [
      { U: 8, C: 50, D: 6 },
      { U: 3, C: 33, D: 16, L: 4, seen: 12 },
      { U: 1, C: 1, D: 1 },
      { U: 11, C: 9, D: 2, L: 5, seen: 9 },
    ]) {
      runCase(rng, { ...c, integer: false });
    }
  });

  it('selects the last position of [U, L, D] with rowStride = L·D, offset = (L − 1)·D', () => {
    const rng = testRng('rank reference selection');
    const [U, L, C, D] = [5, 4, 20, 3];
    const full = Float64Array.from({ length: U * L * D }, () => rng.int(-3, 3));
    const last = new Float64Array(U * D);
    for (let u = 0; u < U; u++) for (let d = 0; d < D; d++) last[u * D + d] = full[(u * L + L - 1) * D + d]!;
    const items = Float64Array.from({ length: C * D }, () => rng.int(-3, 3));
    const targets = Int32Array.from({ length: U }, () => rng.int(0, C - 1));
    const a = new Int32Array(U);
    const b = new Int32Array(U);
    rankOfTargets({ hidden: full, rowStride: L * D, offset: (L - 1) * D, items, targets, U, C, D, ranks: a });
    rankOfTargets({ hidden: last, rowStride: D, offset: 0, items, targets, U, C, D, ranks: b });
    expect([...a]).toEqual([...b]);
  });

  it('U = 0 writes nothing', () => {
    const ranks = new Int32Array(0);
    rankOfTargets({
      hidden: [],
      rowStride: 2,
      offset: 0,
      items: [1, 2],
      targets: [],
      U: 0,
      C: 1,
      D: 2,
      ranks,
    });
    expect(ranks.length).toBe(0);
  });

  it('throws naming a target outside [0, C), and on malformed shapes or seen lists', () => {
    const base = { hidden: [1, 2], rowStride: 1, offset: 0, items: [1, 2, 3], U: 2, C: 3, D: 1 };
    expect(() => rankOfTargets({ ...base, targets: [0, 3], ranks: new Int32Array(2) })).toThrow(
      /targets\[1\] = 3 is outside \[0, 3\)/,
    );
    expect(() => rankOfTargets({ ...base, targets: [-1, 0], ranks: new Int32Array(2) })).toThrow(
      /targets\[0\] = -1/,
    );
    expect(() => checkRankArgs({ ...base, targets: [0, 1], hidden: [1] })).toThrow(/hidden has 1 elements/);
    expect(() => checkRankArgs({ ...base, targets: [0, 1], items: [1, 2] })).toThrow(/items has 2 elements/);
    expect(() => checkRankArgs({ ...base, targets: [0, 1], D: 0 })).toThrow(/D must be/);
    expect(() =>
      checkRankArgs({ ...base, targets: [0, 1], seen: { offsets: [0, 2, 2], items: [2, 1] } }),
    ).toThrow(/sorted and unique/);
    expect(() =>
      checkRankArgs({ ...base, targets: [0, 1], seen: { offsets: [0, 1, 2], items: [0, 5] } }),
    ).toThrow(/seen.items\[1\] = 5 is outside/);
    expect(() => checkRankArgs({ ...base, targets: [0, 1], seen: { offsets: [0, 1], items: [0] } })).toThrow(
      /U \+ 1 = 3 entries/,
    );
  });
});
