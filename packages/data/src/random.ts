/**
 * A small seeded PRNG (sfc32 seeded through splitmix32) for shuffles and the synthetic generator.
 * Deterministic across platforms: every operation is 32-bit integer arithmetic.
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Checks that `seed` is an integer in [0, 2^53); throws naming `name` otherwise. */
export function checkSeed(seed: number, name = 'seed'): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${name} must be an integer in [0, 2^53), got ${seed}`);
  }
}

/** A seeded random stream: `new Rng(seed, stream)` gives the same numbers for the same (seed, stream). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds from an integer `seed` in [0, 2^53) and an optional integer `stream` in [0, 2^32) (e.g. the epoch). */
  constructor(seed: number, stream = 0) {
    checkSeed(seed);
    if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) {
      throw new RangeError(`stream must be an integer in [0, 2^32), got ${stream}`);
    }
    const lo = seed % 0x100000000;
    const hi = Math.floor(seed / 0x100000000);
    const st = { s: (lo ^ Math.imul(hi, 0x27d4eb2f) ^ Math.imul(stream, 0x165667b1)) | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st) ^ hi;
    this.c = splitmix32(st) ^ stream;
    this.d = 1;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** The next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n) for an integer n in [1, 2^32] (unbiased, by rejection). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
      throw new RangeError(`n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }
}

/** A random permutation of 0 … n-1 from (seed, stream), as an Int32Array. */
export function permutation(n: number, seed: number, stream = 0): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return new Rng(seed, stream).shuffle(p);
}
