/**
 * Full-catalog top-k on CUDA (src/ops/topk/cuda.ts) against the plain-sort reference
 * (topKReference): integer-valued inputs, so every float32 score is exact whatever the GEMM's
 * order and exact ties are everywhere (the tie rule — the lower id first — decides most slots);
 * float32 and bfloat16 hidden with rowStride/offset selecting the last position; seen lists with
 * ids outside the catalog; k above the candidates (−1 / −∞ slots), k = 1 and the largest k; a
 * scratch small enough to stream the catalog in many chunks, the last one short. Outputs are
 * poisoned first. Skipped with the reason where there is no GPU; failed under CUTREC_REQUIRE_CUDA=1.
 */
import { DeviceBuffer, packBf16, unpackBf16 } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import { opUnavailableReason } from '../src/ops/module.js';
import { cudaTopK, TOPK_CUDA_MAX_K, topKChunk, topKReference } from '../src/ops/topk/index.js';
import { testRng } from './ops/rng.js';

const reason = opUnavailableReason('topk') ?? opUnavailableReason('linear');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA top-k tests: ${reason}`);
}

describe('top-k CUDA, host side', () => {
  it('chunks the catalog in multiples of 64 items that fit the scratch', () => {
    expect(topKChunk(1000, 1, 500)).toBe(500);
    expect(topKChunk(64 * 1000 + 5, 64, 10_000)).toBe(960);
    expect(topKChunk(30, 1, 10_000)).toBe(30);
    expect(topKChunk(1 << 20, 256, 4096)).toBe(4096);
  });

  it('checks its arguments before touching the device', () => {
    const v = (bytes: number) => ({ buffer: { address: 0n } as never, byteOffset: 0, bytes });
    const a = {
      hidden: v(16),
      rowStride: 2,
      offset: 0,
      dtype: 'float32' as const,
      items: v(24),
      U: 2,
      C: 3,
      D: 2,
      k: 2,
      rows: v(16),
      scores: v(8),
      ids: v(16),
      outScores: v(16),
    };
    expect(() => cudaTopK({ ...a, k: TOPK_CUDA_MAX_K + 1 })).toThrow(/k must be an integer in \[1, 1024\]/);
    expect(() => cudaTopK({ ...a, items: v(20) })).toThrow(/items spans 20 bytes/);
    expect(() => cudaTopK({ ...a, scores: v(4) })).toThrow(/at least U·4 = 8/);
  });
});

interface Case {
  U: number;
  C: number;
  D: number;
  k: number;
  /** Positions per user (hidden [U, L, D], the last one scored). */
  L?: number;
  dtype?: 'float32' | 'bfloat16';
  /** Longest seen list (none when undefined). */
  seen?: number;
  /** Floats of the scores scratch (default U·C: one chunk). */
  scratch?: number;
}

const CASES: Case[] = [
  { U: 1, C: 1, D: 1, k: 1 },
  { U: 5, C: 37, D: 3, k: 10, seen: 12 },
  { U: 3, C: 20, D: 4, k: 30, seen: 8 },
  { U: 130, C: 5003, D: 48, k: 100, L: 3, dtype: 'bfloat16', seen: 40, scratch: 130 * 700 },
  { U: 2, C: 3001, D: 8, k: TOPK_CUDA_MAX_K, seen: 300, scratch: 2 * 1000 },
  { U: 64, C: 200_003, D: 16, k: 50, scratch: 64 * 8192 },
  { U: 7, C: 999, D: 5, k: 1, L: 4, seen: 500, scratch: 7 * 100 },
];

describe.skipIf(!!reason)('top-k CUDA on a GPU', () => {
  const rng = testRng('cuda topk');

  function randomSeen(U: number, C: number, maxLen: number) {
    const offsets = new Int32Array(U + 1);
    const all: number[] = [];
    for (let u = 0; u < U; u++) {
      const s = new Set<number>();
      const n = rng.int(0, maxLen);
      for (let i = 0; i < n; i++) s.add(rng.int(-2, C + 2)); // a few ids outside [0, C): ignored
      all.push(...[...s].sort((a, b) => a - b));
      offsets[u + 1] = all.length;
    }
    return { offsets, items: Int32Array.from(all) };
  }

  for (const c of CASES) {
    const { U, C, D, k, L = 1, dtype = 'float32' } = c;
    it(`U ${U} C ${C} D ${D} k ${k}${L > 1 ? ` L ${L}` : ''} ${dtype}${c.seen ? ' seen' : ''}${c.scratch ? ` chunk ${topKChunk(c.scratch, U, C)}` : ''}`, () => {
      let hidden: Float32Array = Float32Array.from({ length: U * L * D }, () => rng.int(-2, 2));
      const items = Float32Array.from({ length: C * D }, () => rng.int(-2, 2));
      const bits = dtype === 'bfloat16' ? packBf16(hidden) : undefined;
      if (bits) hidden = unpackBf16(bits);
      const seen = c.seen === undefined ? undefined : randomSeen(U, C, c.seen);
      // Exact scores (integers): the reference sorts them.
      const scores = new Float64Array(U * C);
      for (let u = 0; u < U; u++)
        for (let j = 0; j < C; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += hidden[(u * L + L - 1) * D + d]! * items[j * D + d]!;
          scores[u * C + j] = s;
        }
      const want = topKReference(scores, U, C, k, seen);

      const bufs: DeviceBuffer[] = [];
      const up = (x: ArrayBufferView & { length: number }) => {
        const b = x.byteLength > 0 ? DeviceBuffer.from(x) : new DeviceBuffer(4);
        bufs.push(b);
        return b;
      };
      const alloc = (bytes: number, poison: number) => {
        const b = new DeviceBuffer(Math.max(4, bytes));
        b.fill32(poison);
        bufs.push(b);
        return b;
      };
      try {
        const ids = alloc(U * k * 4, 0x12345678);
        const out = alloc(U * k * 4, 0x7fc00000);
        cudaTopK({
          hidden: up(bits ?? hidden),
          rowStride: L * D,
          offset: (L - 1) * D,
          dtype,
          items: up(items),
          U,
          C,
          D,
          k,
          ...(seen ? { seen: { offsets: up(seen.offsets), items: up(seen.items) } } : {}),
          rows: alloc(U * D * 4, 0x7fc00000),
          scores: alloc((c.scratch ?? U * C) * 4, 0x7fc00000),
          ids,
          outScores: out,
        });
        const gotIds = ids.read(new Int32Array(U * k));
        const gotScores = out.readFloat32(U * k);
        for (let u = 0; u < U; u++) {
          // + 0 turns −0 (a GEMM's sum of −0 products) into the reference's +0.
          const row = (x: ArrayLike<number>) => Array.from(x, (v) => v + 0).slice(u * k, (u + 1) * k);
          expect(row(gotIds), `ids of user ${u}`).toEqual(row(want.items));
          expect(row(gotScores), `scores of user ${u}`).toEqual(row(want.scores));
        }
      } finally {
        for (const b of bufs) b.free();
      }
    });
  }
});
