/**
 * The comparisons every kernel test goes through (`@cutrec/config/testing` and the contract's
 * expectGradClose) fail when either input holds a NaN anywhere — first, last, or followed by
 * finite entries — and on a length mismatch; the old `if (!(d <= m)) m = d` let a later finite
 * entry overwrite a NaN.
 */
import { assertClose, maxAbs, maxAbsDiff, maxRelDiff } from '@cutrec/config/testing';
import { describe, expect, it } from 'vitest';
import { expectGradClose } from './contract.js';
import { relMaxDiff } from './ops/rng.js';

const want = Float64Array.from({ length: 9 }, (_, i) => Math.sin(i + 1));

/** `want` with a NaN at `at` (and its last entry finite, so a later entry could overwrite it). */
function withNaN(at: number): Float64Array {
  const a = Float64Array.from(want);
  a[at] = Number.NaN;
  return a;
}

describe('comparisons fail on NaN', () => {
  for (const at of [0, 4, 8]) {
    it(`NaN at [${at}] in got, in want, or in both fails every helper`, () => {
      const bad = withNaN(at);
      for (const [got, ref] of [
        [bad, want],
        [want, bad],
        [bad, bad],
      ] as const) {
        expect(Number.isNaN(maxAbsDiff(got, ref))).toBe(true);
        expect(Number.isNaN(maxRelDiff(got, ref))).toBe(true);
        expect(relMaxDiff(got, ref)).toBe(Number.POSITIVE_INFINITY);
        expect(() => assertClose(got, ref, 1e9)).toThrow(/NaN/);
        expect(() => expectGradClose(got, ref, 1e9, 'dHidden')).toThrow(/dHidden/);
        // A bound check written with expect fails too.
        expect(() => expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(1e9)).toThrow();
      }
      expect(Number.isNaN(maxAbs(bad))).toBe(true);
    });
  }

  it('a length mismatch fails; equal infinities and exact matches pass', () => {
    expect(maxAbsDiff(want.subarray(0, 8), want)).toBe(Number.POSITIVE_INFINITY);
    expect(() => assertClose(want.subarray(0, 8), want, 1)).toThrow(/length 8, expected 9/);
    expect(() => expectGradClose(want, want.subarray(1), 1, 'dItems')).toThrow(/dItems/);
    const inf = Float64Array.of(Number.NEGATIVE_INFINITY, 1);
    expect(maxAbsDiff(inf, inf)).toBe(0);
    expect(maxAbsDiff(Float64Array.of(1, 0), inf)).toBe(Number.POSITIVE_INFINITY);
    expect(() => assertClose(want, want, 0)).not.toThrow();
    expectGradClose(Float32Array.from(want), want, 1e-6, 'float32 rounding');
  });

  it('an error beyond the bound names the worst index', () => {
    const got = Float64Array.from(want);
    got[5]! += 0.01;
    expect(() => assertClose(got, want, 1e-3, 'dItems')).toThrow(/dItems: .* at \[5\]/);
  });
});
