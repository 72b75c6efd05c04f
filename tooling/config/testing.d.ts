/** The largest |a[i]|; NaN when any entry is NaN. */
export declare function maxAbs(a: ArrayLike<number>): number;
/** The largest |got[i] − want[i]|; NaN when either holds a NaN, Infinity on a length mismatch. */
export declare function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number;
/** maxAbsDiff(got, want) / max(maxAbs(want), floor); NaN-sticky. */
export declare function maxRelDiff(got: ArrayLike<number>, want: ArrayLike<number>, floor?: number): number;
/** Throws unless max |got − want| ≤ bound with no NaN anywhere and equal lengths. */
export declare function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  bound: number,
  label?: string,
): void;
/** CUTREC_TEST_SEED, or a fresh seed; printed once per label. */
export declare function testSeed(label: string): number;
/** A seeded uniform [0, 1) generator (mulberry32). */
export declare function mulberry32(seed: number): () => number;
