/**
 * Random inputs for the layer-op tests: a seeded generator whose seed is printed, so a failure
 * replays with CUTREC_TEST_SEED=<seed>. Fresh seed per run otherwise.
 */
import { maxRelDiff, testSeed } from '@cutrec/config/testing';
import { philox4x32_10 } from '@cutrec/sampler';

/** A seeded uniform/normal generator; prints `[seed] <label>: <seed>` once. */
export function testRng(label: string): {
  seed: number;
  uniform: () => number;
  normal: () => number;
  int: (lo: number, hi: number) => number;
  floats: (n: number, scale?: number) => Float32Array;
} {
  const seed = testSeed(label);
  let ctr = 0;
  const w = new Uint32Array(4);
  const uniform = () => {
    philox4x32_10(ctr++ >>> 0, 0x7e57, 0, 0, seed >>> 0, 0, w);
    return (w[0]! + 0.5) / 2 ** 32;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const int = (lo: number, hi: number) => lo + Math.floor(uniform() * (hi - lo + 1));
  const floats = (n: number, scale = 1) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = normal() * scale;
    return a;
  };
  return { seed, uniform, normal, int, floats };
}

/**
 * max |got − want| / max(1e-30, max |want|) over every element; NaN or a length mismatch anywhere
 * gives Infinity, so an unwritten (NaN-poisoned) element always fails.
 */
export function relMaxDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  const r = maxRelDiff(got, want);
  return Number.isNaN(r) ? Number.POSITIVE_INFINITY : r;
}
