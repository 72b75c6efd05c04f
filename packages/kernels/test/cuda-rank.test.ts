/**
 * The rank CUDA kernels against the reference (src/ops/rank/reference.ts): integer-valued inputs
 * with many exact ties (ranks must be equal), random floats (ranks may differ only where two
 * scores lie within 1e-5 relative), float32 and bfloat16 hidden, seen lists holding the target,
 * rowStride/offset selection, C not a multiple of any tile, ranks poisoned with −1, with and
 * without the targetScores output. Skipped with the reason where there is no GPU; failed under
 * CUTREC_REQUIRE_CUDA=1.
 */
import { CudaEvent, DeviceBuffer, packBf16, unpackBf16 } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import { opUnavailableReason } from '../src/ops/module.js';
import { cudaRankOfTargets, type RankSeen, rankChunks, rankOfTargets } from '../src/ops/rank/index.js';
import { testRng } from './ops/rng.js';

const reason = opUnavailableReason('rank');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA rank tests: ${reason}`);
}
const NAN = 0x7fc00000;

/** A device copy of `x` (at least 4 bytes: a zero-byte allocation is not allowed). */
function upload(x: ArrayBufferView & { length: number }): DeviceBuffer {
  if (x.byteLength > 0) return DeviceBuffer.from(x);
  return new DeviceBuffer(4);
}

describe('rank CUDA, host side', () => {
  it.skipIf(!reason)('reports itself unavailable here', () => {
    expect(reason).toMatch(/^CUDA unavailable: /);
  });

  it('splits item tiles into at most 65535 chunks that cover every tile', () => {
    for (const [userTiles, itemTiles] of [
      [1, 1],
      [175, 1188],
      [1, 78125],
      [3, 2 ** 24],
      [40000, 7],
    ] as const) {
      const { tilesPerChunk, chunks } = rankChunks(userTiles, itemTiles);
      expect(chunks).toBeLessThanOrEqual(65535);
      expect(chunks * tilesPerChunk).toBeGreaterThanOrEqual(itemTiles);
      expect((chunks - 1) * tilesPerChunk).toBeLessThan(itemTiles);
    }
  });
});

interface Case {
  U: number;
  C: number;
  D: number;
  /** Positions per user: hidden is [U, L, D], the last position is ranked. */
  L?: number;
  integer: boolean;
  dtype: 'float32' | 'bfloat16';
  /** Longest seen list (none when undefined). */
  seen?: number;
  /** Pass a targetScores buffer (kernel 1) or let the counting kernels score the targets. */
  scores?: boolean;
}

describe.skipIf(!!reason)('rank CUDA on a GPU', () => {
  const rng = testRng('cuda rank');

  function randomSeen(
    U: number,
    C: number,
    targets: Int32Array,
    maxLen: number,
  ): { offsets: Int32Array; items: Int32Array } {
    const offsets = new Int32Array(U + 1);
    const all: number[] = [];
    for (let u = 0; u < U; u++) {
      const s = new Set<number>();
      const n = rng.int(0, Math.min(maxLen, C));
      for (let i = 0; i < n; i++) s.add(rng.int(0, C - 1));
      if (rng.uniform() < 0.5) s.add(targets[u]!);
      all.push(...[...s].sort((a, b) => a - b));
      offsets[u + 1] = all.length;
    }
    return { offsets, items: Int32Array.from(all) };
  }

  /**
   * Per user: the number of candidates (not seen, ≠ y) whose float64 score lies within 1e-5 of the
   * target's, relative to the larger of the two Σ_d |h_d·w_d| (the scale of float32 rounding).
   */
  function nearTies(
    hidden: ArrayLike<number>,
    rowStride: number,
    offset: number,
    items: ArrayLike<number>,
    targets: Int32Array,
    U: number,
    C: number,
    D: number,
    seen?: RankSeen,
  ): Int32Array {
    const out = new Int32Array(U);
    const excluded = new Uint8Array(C);
    const score = (u: number, c: number): [number, number] => {
      let s = 0;
      let abs = 0;
      for (let d = 0; d < D; d++) {
        const p = hidden[offset + u * rowStride + d]! * items[c * D + d]!;
        s += p;
        abs += Math.abs(p);
      }
      return [s, abs];
    };
    for (let u = 0; u < U; u++) {
      const y = targets[u]!;
      const [sy, ay] = score(u, y);
      const lo = seen ? seen.offsets[u]! : 0;
      const hi = seen ? seen.offsets[u + 1]! : 0;
      for (let i = lo; i < hi; i++) excluded[seen!.items[i]!] = 1;
      let n = 0;
      for (let c = 0; c < C; c++) {
        if (c === y || excluded[c]) continue;
        const [s, a] = score(u, c);
        if (Math.abs(s - sy) <= 1e-5 * Math.max(a, ay)) n++;
      }
      for (let i = lo; i < hi; i++) excluded[seen!.items[i]!] = 0;
      out[u] = n;
    }
    return out;
  }

  function run({ U, C, D, L = 1, integer, dtype, seen: seenLen, scores = true }: Case): void {
    const n = U * L * D;
    let hidden: Float32Array = integer
      ? Float32Array.from({ length: n }, () => rng.int(-3, 3))
      : rng.floats(n);
    const items: Float32Array = integer
      ? Float32Array.from({ length: C * D }, () => rng.int(-3, 3))
      : rng.floats(C * D);
    // bf16 storage: the reference sees exactly the stored values.
    const hiddenBits = dtype === 'bfloat16' ? packBf16(hidden) : undefined;
    if (hiddenBits) hidden = unpackBf16(hiddenBits);
    const targets = Int32Array.from({ length: U }, () => rng.int(0, C - 1));
    const seen = seenLen === undefined ? undefined : randomSeen(U, C, targets, seenLen);
    const rowStride = L * D;
    const offset = (L - 1) * D;
    const want = new Int32Array(U);
    rankOfTargets({
      hidden,
      rowStride,
      offset,
      items,
      targets,
      U,
      C,
      D,
      ...(seen ? { seen } : {}),
      ranks: want,
    });

    const H = upload(hiddenBits ?? hidden);
    const W = upload(items);
    const T = upload(targets);
    const ranks = new DeviceBuffer(Math.max(4, U * 4));
    ranks.fill32(0xffffffff);
    const sy = new DeviceBuffer(Math.max(4, U * 4));
    sy.fill32(NAN);
    const so = seen ? upload(seen.offsets) : undefined;
    const si = seen ? upload(seen.items) : undefined;
    cudaRankOfTargets({
      hidden: H,
      rowStride,
      offset,
      items: W,
      targets: T,
      U,
      C,
      D,
      ...(so && si && seen ? { seen: { offsets: so, items: si, nnz: seen.items.length } } : {}),
      ...(scores ? { targetScores: sy } : {}),
      ranks,
      dtype,
    });
    const got = new Int32Array(U);
    if (U > 0) ranks.read(got);

    if (scores && U > 0) {
      // targetScores: the float32 chain vs float64 (exact on integer inputs).
      const s = sy.readFloat32(U);
      for (let u = 0; u < U; u++) {
        let ref = 0;
        let abs = 0;
        for (let d = 0; d < D; d++) {
          const p = hidden[offset + u * rowStride + d]! * items[targets[u]! * D + d]!;
          ref += p;
          abs += Math.abs(p);
        }
        if (integer) expect(Math.abs(s[u]! - ref), `targetScores[${u}]`).toBe(0);
        else
          expect(Math.abs(s[u]! - ref), `targetScores[${u}]`).toBeLessThanOrEqual(
            1e-5 * Math.max(abs, 1e-30),
          );
      }
    }

    if (integer) {
      expect([...got]).toEqual([...want]);
    } else {
      const near = nearTies(hidden, rowStride, offset, items, targets, U, C, D, seen);
      let mismatched = 0;
      let big = 0;
      for (let u = 0; u < U; u++) {
        const diff = Math.abs(got[u]! - want[u]!);
        if (diff > 0) mismatched++;
        if (diff > 2) big++;
        expect(diff, `user ${u}: rank ${got[u]} vs ${want[u]} with ${near[u]} near ties`).toBeLessThanOrEqual(
          near[u]!,
        );
      }
      console.log(
        `[cuda rank] U=${U} C=${C} D=${D} ${dtype}: ${mismatched} of ${U} users differ (near ties)`,
      );
      expect(big, 'users differing by more than 2').toBeLessThanOrEqual(Math.floor(U * 0.001));
    }
    for (const b of [H, W, T, ranks, sy, so, si]) b?.free();
  }

  for (const dtype of ['float32', 'bfloat16'] as const) {
    describe(dtype, () => {
      it('integer-valued inputs, many ties: equal ranks (C = 1001, U = 300, D = 64, L = 3)', () =>
        run({ U: 300, C: 1001, D: 64, L: 3, integer: true, dtype }));
      it('integer-valued, seen lists holding targets (C = 1001, U = 257, D = 33)', () =>
        run({ U: 257, C: 1001, D: 33, integer: true, dtype, seen: 200 }));
      it('integer-valued, without targetScores (counting kernels score the targets)', () =>
        run({ U: 129, C: 37, D: 7, L: 2, integer: true, dtype, seen: 30, scores: false }));
      it('integer-valued, C = 70,001, U = 37, D = 17', () =>
        run({ U: 37, C: 70_001, D: 17, integer: true, dtype, seen: 500 }));
      it('C = 1 (every rank 0), U = 5, D = 1', () =>
        run({ U: 5, C: 1, D: 1, integer: true, dtype, seen: 1 }));
      it('U = 1, D = 1024, C = 37', () => run({ U: 1, C: 37, D: 1024, integer: true, dtype, seen: 10 }));
      it('U = 0 launches nothing', () => run({ U: 0, C: 5, D: 3, integer: true, dtype }));
      it('random floats (C = 1001, U = 300, D = 64, L = 2, seen)', () =>
        run({ U: 300, C: 1001, D: 64, L: 2, integer: false, dtype, seen: 50 }));
      it('random floats, C = 70,001, U = 40, D = 64, no targetScores', () =>
        run({ U: 40, C: 70_001, D: 64, integer: false, dtype, scores: false }));
      it('random floats, D = 1 and D = 100', () => {
        run({ U: 130, C: 517, D: 1, integer: false, dtype, seen: 20 });
        run({ U: 66, C: 999, D: 100, integer: false, dtype, seen: 20, scores: false });
      });
    });
  }

  it('Beauty validation shape (U = 22,363, C = 152,043, D = 64): time, 48 users checked', () => {
    const [U, C, D] = [22_363, 152_043, 64];
    const hidden = rng.floats(U * D);
    const items = rng.floats(C * D, 0.5);
    const targets = Int32Array.from({ length: U }, () => rng.int(0, C - 1));
    const H = DeviceBuffer.from(hidden);
    const W = DeviceBuffer.from(items);
    const T = DeviceBuffer.from(targets);
    const ranks = new DeviceBuffer(U * 4);
    ranks.fill32(0xffffffff);
    const args = {
      hidden: H,
      rowStride: D,
      offset: 0,
      items: W,
      targets: T,
      U,
      C,
      D,
      ranks,
      dtype: 'float32' as const,
    };
    cudaRankOfTargets(args); // warm-up
    const t0 = new CudaEvent();
    const t1 = new CudaEvent();
    t0.record();
    const reps = 5;
    for (let i = 0; i < reps; i++) cudaRankOfTargets(args);
    t1.record();
    t1.synchronize();
    const ms = t0.elapsedMs(t1) / reps;
    console.log(
      `[cuda rank] Beauty shape: ${ms.toFixed(2)} ms (${((2 * U * C * D) / ms / 1e9).toFixed(1)} TFLOP/s)`,
    );
    const got = new Int32Array(U);
    ranks.read(got);
    const pick = Array.from({ length: 48 }, () => rng.int(0, U - 1));
    const hs = new Float32Array(pick.length * D);
    for (let i = 0; i < pick.length; i++) hs.set(hidden.subarray(pick[i]! * D, (pick[i]! + 1) * D), i * D);
    const want = new Int32Array(pick.length);
    const ts = Int32Array.from(pick, (u) => targets[u]!);
    rankOfTargets({
      hidden: hs,
      rowStride: D,
      offset: 0,
      items,
      targets: ts,
      U: pick.length,
      C,
      D,
      ranks: want,
    });
    let off = 0;
    pick.forEach((u, i) => {
      const diff = Math.abs(got[u]! - want[i]!);
      expect(diff, `user ${u}`).toBeLessThanOrEqual(2);
      if (diff > 0) off++;
    });
    console.log(`[cuda rank] Beauty shape: ${off} of ${pick.length} sampled users differ (by ≤ 2)`);
    for (const b of [H, W, T, ranks]) b.free();
    t0.destroy();
    t1.destroy();
  });
});
