// Shared test helpers for cutrec packages (`@cutrec/config/testing`): comparisons that NaN cannot
// slip through, and replayable seeds. Plain JavaScript so that every package's tests can import it
// without a build.

/**
 * The largest |a[i]|; NaN when any entry is NaN (so a bound computed from it fails every `<=`).
 * @param {ArrayLike<number>} a
 */
export function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (Number.isNaN(v)) return Number.NaN;
    if (v > m) m = v;
  }
  return m;
}

/**
 * The largest |got[i] − want[i]|, NaN-sticky: NaN when either input holds a NaN anywhere (even at
 * the same index in both), Infinity when the lengths differ or one side is infinite where the
 * other is not. Equal entries (equal infinities included) differ by 0.
 * @param {ArrayLike<number>} got
 * @param {ArrayLike<number>} want
 */
export function maxAbsDiff(got, want) {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(g) || Number.isNaN(w)) return Number.NaN;
    if (g === w) continue;
    const d = Math.abs(g - w);
    if (d > m) m = d;
  }
  return m;
}

/**
 * maxAbsDiff(got, want) / max(maxAbs(want), floor): NaN-sticky like both.
 * @param {ArrayLike<number>} got
 * @param {ArrayLike<number>} want
 * @param {number} [floor]
 */
export function maxRelDiff(got, want, floor = 1e-30) {
  const d = maxAbsDiff(got, want);
  const s = maxAbs(want);
  if (Number.isNaN(d) || Number.isNaN(s)) return Number.NaN;
  return d / Math.max(s, floor);
}

/**
 * Throws unless max |got − want| ≤ bound, with no NaN in either input or in the bound, and equal
 * lengths. The message names `label`, the worst index and both values.
 * @param {ArrayLike<number>} got
 * @param {ArrayLike<number>} want
 * @param {number} bound
 * @param {string} [label]
 */
export function assertClose(got, want, bound, label = 'values') {
  if (got.length !== want.length) throw new Error(`${label}: length ${got.length}, expected ${want.length}`);
  if (!(bound >= 0)) throw new Error(`${label}: the bound is ${bound} (NaN in the reference?)`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(g) || Number.isNaN(w)) throw new Error(`${label}[${i}]: NaN (got ${g}, reference ${w})`);
  }
  const d = maxAbsDiff(got, want);
  if (d <= bound) return;
  let worst = 0;
  let wd = -1;
  for (let i = 0; i < want.length; i++) {
    const e = got[i] === want[i] ? 0 : Math.abs(got[i] - want[i]);
    if (e > wd) {
      wd = e;
      worst = i;
    }
  }
  throw new Error(
    `${label}: max |got − reference| = ${d} > ${bound} at [${worst}] (got ${got[worst]}, reference ${want[worst]})`,
  );
}

const printed = new Set();

/**
 * The seed of a test file's random inputs: CUTREC_TEST_SEED when set (an integer in [0, 2^32)),
 * else fresh. Printed once per label as `[seed] label: n (replay with CUTREC_TEST_SEED=n)`.
 * @param {string} label
 */
export function testSeed(label) {
  const env = process.env.CUTREC_TEST_SEED;
  let seed;
  if (env !== undefined && env !== '') {
    seed = Number(env);
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
      throw new Error(`CUTREC_TEST_SEED must be an integer in [0, 2^32), got ${JSON.stringify(env)}`);
  } else {
    seed = Math.floor(Math.random() * 2 ** 31);
  }
  if (!printed.has(label)) {
    printed.add(label);
    console.log(`[seed] ${label}: ${seed} (replay with CUTREC_TEST_SEED=${seed})`);
  }
  return seed;
}

/**
 * A small seeded generator (mulberry32) of uniforms in [0, 1).
 * @param {number} seed
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
