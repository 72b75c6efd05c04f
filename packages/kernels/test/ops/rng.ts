/**
 * Random inputs for the layer-op tests: a seeded generator whose seed is printed, so a failure
 * replays with CUTREC_TEST_SEED=<seed>. Fresh seed per run otherwise.
 */
import { philox4x32_10 } from '@cutrec/sampler';

/** A seeded uniform/normal generator; prints `[seed] <label>: <seed>` once. */
export function testRng(label: string): {
  seed: number;
  uniform: () => number;
  normal: () => number;
  int: (lo: number, hi: number) => number;
  floats: (n: number, scale?: number) => Float32Array;
} {
  const env = process.env.CUTREC_TEST_SEED;
  const seed = env !== undefined ? Number(env) : Math.floor(Math.random() * 2 ** 31);
  console.log(`[seed] ${label}: ${seed} (replay with CUTREC_TEST_SEED=${seed})`);
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
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(g) || Number.isNaN(w)) return Number.POSITIVE_INFINITY;
    const e = Math.abs(g - w);
    if (!(e <= d)) d = e;
    if (Math.abs(w) > m) m = Math.abs(w);
  }
  return d / Math.max(1e-30, m);
}
