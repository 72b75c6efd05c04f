/**
 * firstOutside (the batch id check): the native pass against the JavaScript reference on random
 * arrays of awkward lengths with planted out-of-range values, views at odd offsets, and int32 edges.
 */
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/cuda/native.js';
import { firstOutside, firstOutsideJs } from '../src/index.js';
import { seededUniform } from '../src/testing.js';

const SEED = Number(process.env.CUTREC_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`range-check seed ${SEED} (replay: CUTREC_SEED=${SEED})`);

describe('firstOutside', () => {
  it('is the addon pass where the addon is built (CI builds it)', () => {
    if (process.env.CI) expect(nativeAddon().addon?.firstOutside).toBeTypeOf('function');
  });

  it('agrees with the JavaScript reference on random arrays, planted bad values and odd views', () => {
    const rand = seededUniform(SEED);
    for (const n of [0, 1, 2, 7, 31, 1025, 131_073]) {
      for (let trial = 0; trial < 6; trial++) {
        const lo = trial % 2 ? -1 : 0;
        const hi = 1 + Math.floor(rand() * 20_000);
        const except = trial % 3 === 0 ? hi + 7 : trial % 3 === 1 ? -1 : lo;
        const backing = new Int32Array(n + 3);
        const a = backing.subarray(trial % 4 === 3 ? 3 : 0, (trial % 4 === 3 ? 3 : 0) + n);
        for (let i = 0; i < n; i++) a[i] = lo + Math.floor(rand() * (hi - lo + 1));
        const plant = Math.floor(rand() * 3);
        for (let p = 0; p < plant && n > 0; p++) {
          const at = Math.floor(rand() * n);
          const pick = Math.floor(rand() * 4);
          a[at] = [hi + 1, lo - 1, 2 ** 31 - 1, -(2 ** 31)][pick]!;
        }
        if (n > 0 && trial === 5) a[n - 1] = except;
        const want = firstOutsideJs(a, lo, hi, except);
        expect(firstOutside(a, lo, hi, except), `n ${n} trial ${trial} seed ${SEED}`).toBe(want);
      }
    }
  });

  it('handles the int32 edges and the default exception', () => {
    const a = Int32Array.of(0, 5, 2 ** 31 - 1, -(2 ** 31));
    expect(firstOutside(a, -(2 ** 31), 2 ** 31 - 1)).toBe(-1);
    expect(firstOutside(a, 0, 5)).toBe(2);
    expect(firstOutside(a, 0, 5, 2 ** 31 - 1)).toBe(3);
    expect(firstOutside(new Int32Array(0), 0, 0)).toBe(-1);
    expect(() => firstOutside(a, 3, 2)).toThrow(/hi 2 is below lo 3/);
    expect(() => firstOutside(a, 0, 2 ** 31)).toThrow(/hi must be an int32/);
  });
});
