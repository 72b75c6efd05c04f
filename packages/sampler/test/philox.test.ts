import { describe, expect, it } from 'vitest';
import { mulhi32, philox4x32_10, seedKey } from '../src/philox.js';

const hex = (w: Uint32Array) => Array.from(w, (x) => `0x${x.toString(16).padStart(8, '0')}`);

describe('Philox4x32-10 (TypeScript)', () => {
  it('passes the Random123 known-answer vectors', () => {
    expect(hex(philox4x32_10(0, 0, 0, 0, 0, 0))).toEqual([
      '0x6627e8d5',
      '0xe169c58d',
      '0xbc57ac4c',
      '0x9b00dbd8',
    ]);
    expect(
      hex(philox4x32_10(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)),
    ).toEqual(['0x408f276d', '0x41c83b0e', '0xa20bc7c6', '0x6d5451fd']);
    expect(
      hex(philox4x32_10(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0)),
    ).toEqual(['0xd16cfe09', '0x94fdcceb', '0x5001e420', '0x24126ea1']);
  });

  it('multiplies 32×32→64 exactly', () => {
    expect(mulhi32(0xffffffff, 0xffffffff)).toBe(0xfffffffe);
    expect(mulhi32(0x80000000, 2)).toBe(1);
    expect(mulhi32(12345, 67890)).toBe(0);
    let s = 1n;
    for (let i = 0; i < 2000; i++) {
      s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
      const a = Number(s >> 32n);
      const b = Number(s & 0xffffffffn);
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
    }
  });

  it('keys a seed as [seed mod 2^32, floor(seed / 2^32)] and rejects bad seeds by name', () => {
    expect(seedKey(0)).toEqual([0, 0]);
    expect(seedKey(2 ** 32 + 5)).toEqual([5, 1]);
    expect(seedKey(2 ** 53 - 1)).toEqual([0xffffffff, 0x1fffff]);
    expect(() => seedKey(-1)).toThrow(/seed/);
    expect(() => seedKey(2 ** 53)).toThrow(/seed/);
    expect(() => seedKey(1.5)).toThrow(/seed/);
  });
});
