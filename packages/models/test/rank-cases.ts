/**
 * Shared cases of the fused-evaluation tests (fused-rank.test.ts on the host and WebGPU,
 * cuda-fused-rank.test.ts on CUDA): users in chunks of B whose seen lists differ wildly in length
 * from chunk to chunk, and the near-tie tolerance of float64 against float32 ranks.
 */
import type { Example } from '@cutrec/data';
import { seededUniform } from '@cutrec/tensor/testing';
import { expect } from 'vitest';
import type { SASRecConfig, TopK } from '../src/index.js';
import { randomBatch } from './fused-cases.js';

export const cfg: SASRecConfig = {
  numItems: 57,
  maxLen: 7,
  hidden: 16,
  numBlocks: 1,
  numHeads: 2,
  dropout: 0.1,
  seed: 11,
};
export const C = 57;
export const L = 7;
export const B = 4;
export const loss = { kind: 'cce-' as const, negatives: 8, impl: 'reference' as const };

const rng = seededUniform;

/** Seen entries per user of chunk k: none, long (up to 45 items, longer than L), short, none, medium, long. */
const SEEN_PER_CHUNK = [0, 45, 2, 0, 12, 30];

/**
 * U users' histories, targets and CSR seen lists; user u's list has about
 * `scale · SEEN_PER_CHUNK[⌊u / block⌋ mod 6]` distinct items, sometimes the target among them.
 */
export function rankCase(seed: number, U: number, scale = 1, block = B) {
  const { inputs } = randomBatch(seed, U, L, C);
  const rnd = rng(seed * 7 + 1);
  const targets = Int32Array.from({ length: U }, () => Math.floor(rnd() * C));
  const offsets = new Int32Array(U + 1);
  const items: number[] = [];
  for (let u = 0; u < U; u++) {
    const want = Math.min(C, Math.round(scale * SEEN_PER_CHUNK[Math.floor(u / block) % 6]!));
    const h = new Set<number>();
    while (h.size < want) h.add(Math.floor(rnd() * C));
    if (want > 0 && u % 3 === 0) h.add(targets[u]!); // the target never leaves the candidates
    items.push(...[...h].sort((a, b) => a - b));
    offsets[u + 1] = items.length;
  }
  return { inputs, targets, seen: { offsets, items: Int32Array.from(items) } };
}

/** Where `got` and `want` differ: at most one user (a near tie), by at most one. */
export function expectSameRanks(got: Int32Array, want: Int32Array, what: string): void {
  expect(got.length).toBe(want.length);
  const off = [...got.keys()].filter((u) => got[u] !== want[u]);
  expect(off.length, `${what}: users whose ranks differ (near ties only): ${off}`).toBeLessThanOrEqual(1);
  for (const u of off) expect(Math.abs(got[u]! - want[u]!), `${what}: user ${u}`).toBeLessThanOrEqual(1);
}

/** U examples whose histories run from 1 to 60 items (the seen lists of removeSeen), block by block. */
export function examplesOf(seed: number, U: number, block = B): Example[] {
  const rnd = rng(seed);
  const lengths = [1, 60, 3, 25, 1, 40];
  return Array.from({ length: U }, (_, user) => {
    const n = lengths[Math.floor(user / block) % lengths.length]!;
    const history = Int32Array.from({ length: n }, () => Math.floor(rnd() * C));
    return { user, history, target: Math.floor(rnd() * C) };
  });
}

/**
 * Top-k lists of two engines agree: every score within `tol` of the user's largest |score|, and
 * the ids equal except where the two scores at a slot lie within `tol` of each other's slot
 * neighbours (a near tie that float64 and float32 may order either way).
 */
export function expectSameTopK(got: TopK, want: TopK, what: string, tol = 1e-4): void {
  expect([got.users, got.k]).toEqual([want.users, want.k]);
  const { k } = want;
  for (let u = 0; u < want.users; u++) {
    const ws = Array.from(want.scores.subarray(u * k, (u + 1) * k));
    const gs = Array.from(got.scores.subarray(u * k, (u + 1) * k));
    const scale = Math.max(1e-30, ...ws.filter(Number.isFinite).map(Math.abs));
    for (let j = 0; j < k; j++) {
      const [g, w] = [gs[j]!, ws[j]!];
      if (w === Number.NEGATIVE_INFINITY) expect(g, `${what}: user ${u} slot ${j}`).toBe(w);
      else expect(Math.abs(g - w), `${what}: score of user ${u} slot ${j}`).toBeLessThanOrEqual(tol * scale);
      const gi = got.items[u * k + j];
      const wi = want.items[u * k + j];
      if (gi === wi) continue;
      const nearTie = [ws[j - 1], ws[j + 1], ws[j]].some(
        (s) => s !== undefined && Math.abs(s - g) <= tol * scale,
      );
      expect(nearTie, `${what}: user ${u} slot ${j}: item ${gi} where ${wi} (not a near tie)`).toBe(true);
    }
  }
}
