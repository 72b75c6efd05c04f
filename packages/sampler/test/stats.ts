/** Small statistics helpers for the sampler's distribution tests (deterministic: fixed seeds). */

/** Standard normal upper-tail quantile z_p for p = 1e-6 (Φ(z) = 1 − 1e-6). */
export const Z_1E6 = 4.753424308822899;

/**
 * Wilson–Hilferty approximation of the χ² critical value with `dof` degrees of freedom at the
 * upper-tail probability whose normal quantile is `z` (accurate to well under 1% for dof ≥ 30).
 */
export function chi2Critical(dof: number, z = Z_1E6): number {
  const a = 2 / (9 * dof);
  return dof * (1 - a + z * Math.sqrt(a)) ** 3;
}

/**
 * Pearson χ² of observed counts against expected counts, merging consecutive bins until each
 * merged bin expects ≥ 5; returns the statistic and its degrees of freedom (bins − 1).
 */
export function chi2(
  observed: ArrayLike<number>,
  expected: ArrayLike<number>,
): { stat: number; dof: number } {
  let stat = 0;
  let bins = 0;
  let o = 0;
  let e = 0;
  for (let i = 0; i < observed.length; i++) {
    o += observed[i]!;
    e += expected[i]!;
    if (e >= 5) {
      stat += (o - e) ** 2 / e;
      bins++;
      o = 0;
      e = 0;
    }
  }
  if (e > 0) {
    stat += (o - e) ** 2 / e;
    bins++;
  }
  return { stat, dof: bins - 1 };
}

/** A deterministic 32-bit generator (splitmix32-style) for random test cases. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}
