/** Cast reference: round-to-nearest-even bf16 bits against an independent nearest-value search. */
import { unpackBf16 } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import { castToBf16 } from '../../src/ops/cast/index.js';
import { testRng } from './rng.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number) => {
  u32[0] = b >>> 0;
  return f32[0]!;
};
const bitsOf = (x: number) => {
  f32[0] = x;
  return u32[0]!;
};
const bf = (h: number) => fromBits(h << 16);

/** The nearest bf16 to the float32 x (ties to even mantissa), found by comparing both neighbours. */
function nearestBf16(x: number): number {
  const b = bitsOf(x);
  const lo = b >>> 16; // truncation: the neighbour towards 0
  if ((b & 0xffff) === 0) return lo;
  const hi = lo + 1; // the neighbour away from 0 (may be ±inf)
  const xl = bf(lo);
  const xh = bf(hi);
  const dl = Math.abs(x - xl);
  const dh = Number.isFinite(xh) ? Math.abs(xh - x) : Math.abs(2 ** 128 * Math.sign(x) - x);
  if (dl < dh) return lo;
  if (dh < dl) return hi & 0xffff;
  return (lo & 1) === 0 ? lo : hi & 0xffff;
}

describe('castToBf16 (reference)', () => {
  it('known patterns: exact values, ties to even, overflow to infinity, signed zero', () => {
    const src = [
      1,
      fromBits(0x3f808000), // 1 + 2^-8: a tie, rounds down to even 0x3f80
      fromBits(0x3f818000), // a tie with odd lsb: rounds up to 0x3f82
      fromBits(0x3f808001), // just above the tie: up
      -2.5,
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      fromBits(0x7f7fffff), // max float: rounds to +inf
      fromBits(0x00000001), // smallest subnormal: to +0
    ];
    const dst = new Uint16Array(src.length).fill(0xdead);
    const got = castToBf16({ src, dst, n: src.length });
    expect([...got]).toEqual([0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xc020, 0, 0x8000, 0x7f80, 0xff80, 0x7f80, 0]);
    expect([...dst]).toEqual([...got]);
    expect(Number.isNaN(unpackBf16(castToBf16({ src: [Number.NaN], n: 1 }))[0])).toBe(true);
  });

  it('matches the nearest-value search on random floats of every magnitude (awkward n)', () => {
    const rng = testRng('cast random');
    for (const n of [1, 3, 37, 1000]) {
      const src = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        // Random bit patterns (finite), half of them with a tie-breaking low half.
        let b = (rng.int(0, 0xfeff) << 16) | (rng.uniform() < 0.5 ? 0x8000 : rng.int(0, 0xffff));
        if ((b & 0x7f800000) === 0x7f800000) b &= 0xff7fffff;
        src[i] = fromBits(b);
      }
      const got = castToBf16({ src, n });
      for (let i = 0; i < n; i++) expect(got[i]).toBe(nearestBf16(src[i]!));
    }
  });
});
