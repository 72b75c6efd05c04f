import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  packBf16,
  packF16,
  unpackBf16,
  unpackF16,
} from '../src/half.js';

/** Round-to-nearest-even f16 by exhaustive search over the 65,536 patterns: the oracle. */
function nearestF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const f = Math.fround(x);
  let best = -1;
  let bestErr = Number.POSITIVE_INFINITY;
  for (let h = 0; h < 0x10000; h++) {
    const v = f16BitsToF32(h);
    if (Number.isNaN(v)) continue;
    if ((h & 0x7fff) === 0 && h !== (f < 0 || Object.is(f, -0) ? 0x8000 : 0)) continue;
    const err = Math.abs(v - f);
    if (err < bestErr || (err === bestErr && (h & 1) === 0 && (best & 1) === 1)) {
      best = h;
      bestErr = err;
    }
  }
  // beyond the largest finite value + half an ulp, IEEE rounds to infinity
  if (Math.abs(f) >= 65520) return f < 0 ? 0xfc00 : 0x7c00;
  return best;
}

describe('f16', () => {
  it('encodes edge values exactly', () => {
    expect(f32ToF16Bits(0)).toBe(0x0000);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(65504)).toBe(0x7bff); // largest finite
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff); // below the rounding boundary
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // the boundary rounds (to even) to infinity
    expect(f32ToF16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(f32ToF16Bits(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // exactly half of it: ties to even (zero)
    expect(f32ToF16Bits(1.5 * 2 ** -24)).toBe(0x0002); // tie between 1 and 2 → even
    expect(f32ToF16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(f32ToF16Bits(2 ** -14 - 2 ** -24)).toBe(0x03ff); // largest subnormal
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    const nan = f32ToF16Bits(Number.NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
  });

  it('decodes every pattern and round-trips every non-NaN pattern', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16BitsToF32(h);
      if (Number.isNaN(v)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        continue;
      }
      expect(f32ToF16Bits(v)).toBe(h);
    }
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('rounds random values to the nearest pattern, ties to even', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 300; i++) {
      const x = (rnd() - 0.5) * 2 ** Math.floor(rnd() * 44 - 28);
      expect(f32ToF16Bits(x)).toBe(nearestF16(x));
    }
  });

  it('packs and unpacks arrays', () => {
    const xs = [0, 1, -1, 0.1, 65504, 1e-7, Number.POSITIVE_INFINITY];
    const back = unpackF16(packF16(xs));
    expect(Array.from(back)).toEqual(xs.map((x) => f16BitsToF32(f32ToF16Bits(x))));
  });
});

describe('bf16', () => {
  it('encodes edge values exactly', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(-0)).toBe(0x8000);
    expect(f32ToBf16Bits(Number.POSITIVE_INFINITY)).toBe(0x7f80);
    expect(f32ToBf16Bits(Number.NEGATIVE_INFINITY)).toBe(0xff80);
    expect(f32ToBf16Bits(3.3895313892515355e38)).toBe(0x7f7f); // largest finite bf16
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // largest f32 rounds to infinity
    expect(f32ToBf16Bits(2 ** -133)).toBe(0x0001); // smallest bf16 subnormal
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even (down)
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (up)
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // above the tie → up
    const nan = f32ToBf16Bits(Number.NaN);
    expect(Number.isNaN(bf16BitsToF32(nan))).toBe(true);
    // a NaN whose payload sits only in the low bits must stay NaN, not become infinity
    const u = new Uint32Array([0x7f800001]);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(new Float32Array(u.buffer)[0]!)))).toBe(true);
  });

  it('round-trips every non-NaN pattern', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = bf16BitsToF32(h);
      if (Number.isNaN(v)) continue;
      expect(f32ToBf16Bits(v)).toBe(h);
    }
    expect(Array.from(unpackBf16(packBf16([1, -2, 0.5])))).toEqual([1, -2, 0.5]);
  });
});
