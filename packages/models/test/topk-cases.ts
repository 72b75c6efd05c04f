/** Fixtures shared by the CPU and WebGPU top-k tests: exact integer cases with ties, float cases with tolerance. */
import { expect } from 'vitest';
import { isSeen, type SeenItems, seenFromHistories, type TopK, topKReference } from '../src/index.js';

export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface Case {
  U: number;
  C: number;
  D: number;
  hidden: Float32Array;
  items: Float32Array;
  /** Host scores [U, C] in float64. */
  scores: Float64Array;
  seen: SeenItems;
}

/** Integer-valued inputs (dot products exact in float32, so every implementation must match the sort exactly); many ties. */
export function integerCase(U: number, C: number, D: number, seed: number): Case {
  const r = lcg(seed);
  const hidden = Float32Array.from({ length: U * D }, () => Math.floor(r() * 5) - 2);
  const items = Float32Array.from({ length: C * D }, () => Math.floor(r() * 5) - 2);
  // Duplicate rows: equal scores that only the id can order.
  for (let c = 3; c < C; c += 7) items.copyWithin(c * D, (c - 3) * D, (c - 2) * D);
  return finish(U, C, D, hidden, items, r);
}

/** Normal-ish float inputs. */
export function floatCase(U: number, C: number, D: number, seed: number): Case {
  const r = lcg(seed);
  const g = () => r() + r() + r() - 1.5;
  return finish(U, C, D, Float32Array.from({ length: U * D }, g), Float32Array.from({ length: C * D }, g), r);
}

function finish(
  U: number,
  C: number,
  D: number,
  hidden: Float32Array,
  items: Float32Array,
  r: () => number,
): Case {
  const scores = new Float64Array(U * C);
  for (let u = 0; u < U; u++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += hidden[u * D + d]! * items[c * D + d]!;
      scores[u * C + c] = s;
    }
  }
  // Histories: user 0 none, user 1 all but 2 items (fewer than k candidates), others random.
  const histories: number[][] = [];
  for (let u = 0; u < U; u++) {
    if (u === 0) histories.push([]);
    else if (u === 1) histories.push(Array.from({ length: C - 2 }, (_, i) => i + 1));
    else histories.push(Array.from({ length: Math.floor(r() * 12) }, () => Math.floor(r() * C)));
  }
  return { U, C, D, hidden, items, scores, seen: seenFromHistories(histories, C) };
}

/** An exact comparison with the plain sort. */
export function expectExact(got: TopK, c: Case, k: number, seen?: SeenItems): void {
  const ref = topKReference(c.scores, c.U, c.C, k, seen);
  expect(Array.from(got.items)).toEqual(Array.from(ref.items));
  expect(Array.from(got.scores)).toEqual(Array.from(ref.scores));
}

/**
 * A tolerant comparison for float inputs: each user's list is sorted, holds distinct non-seen
 * ids whose scores match the float64 scores within `tol`, is padded only when candidates run out,
 * and no left-out candidate beats its last entry by more than `tol`.
 */
export function expectClose(got: TopK, c: Case, k: number, seen: SeenItems | undefined, tol: number): void {
  for (let u = 0; u < c.U; u++) {
    const ids = Array.from(got.items.subarray(u * k, (u + 1) * k));
    const s = Array.from(got.scores.subarray(u * k, (u + 1) * k));
    const candidates = Array.from({ length: c.C }, (_, i) => i).filter((i) => !(seen && isSeen(seen, u, i)));
    const n = Math.min(k, candidates.length);
    for (let j = 0; j < k; j++) {
      if (j >= n) {
        expect(ids[j]).toBe(-1);
        expect(s[j]).toBe(Number.NEGATIVE_INFINITY);
        continue;
      }
      const id = ids[j]!;
      expect(id).toBeGreaterThanOrEqual(0);
      expect(candidates.includes(id)).toBe(true);
      expect(Math.abs(s[j]! - c.scores[u * c.C + id]!)).toBeLessThanOrEqual(tol);
      if (j > 0) expect(s[j - 1]! > s[j]! || (s[j - 1] === s[j] && ids[j - 1]! < id)).toBe(true);
    }
    expect(new Set(ids.slice(0, n)).size).toBe(n);
    const last = s[n - 1]!;
    const chosen = new Set(ids.slice(0, n));
    for (const i of candidates)
      if (!chosen.has(i)) expect(c.scores[u * c.C + i]!).toBeLessThanOrEqual(last + tol);
  }
}

/** Ranks by a plain sort of host scores: non-seen items c ≠ y with a higher score, or equal and a lower id. */
export function referenceRanks(c: Case, targets: Int32Array, seen?: SeenItems): Int32Array {
  const out = new Int32Array(c.U);
  for (let u = 0; u < c.U; u++) {
    const y = targets[u]!;
    const sy = c.scores[u * c.C + y]!;
    let r = 0;
    for (let i = 0; i < c.C; i++) {
      if (i === y || (seen && isSeen(seen, u, i))) continue;
      const si = c.scores[u * c.C + i]!;
      if (si > sy || (si === sy && i < y)) r++;
    }
    out[u] = r;
  }
  return out;
}
