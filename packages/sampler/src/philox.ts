/**
 * Philox4x32-10 (Salmon et al., SC'11; as published with Random123), exact 32-bit arithmetic in
 * TypeScript. The WGSL and CUDA copies in `philox.wgsl.ts` and `../cuda/philox.cuh` compute the
 * very same words.
 */

export const PHILOX_M0 = 0xd2511f53;
export const PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9;
export const PHILOX_W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 values, exactly (16-bit halves, no float rounding). */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo; // < 2^32
  const hilo = aHi * bLo; // < 2^32
  const lohi = aLo * bHi; // < 2^32
  const hihi = aHi * bHi; // < 2^32
  // cross = (lolo >>> 16) + (hilo & 0xffff) + (lohi & 0xffff) < 3 * 2^16: no overflow
  const cross = (lolo >>> 16) + (hilo & 0xffff) + (lohi & 0xffff);
  return (hihi + (hilo >>> 16) + (lohi >>> 16) + (cross >>> 16)) >>> 0;
}

/** Low 32 bits of the product of two u32 values. */
export function mullo32(a: number, b: number): number {
  return Math.imul(a, b) >>> 0;
}

/**
 * Philox4x32-10 of a 4-word counter under a 2-word key: four u32 words. Writes into `out` (a
 * Uint32Array of 4) when given, so hot loops allocate nothing.
 */
export function philox4x32_10(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      key0 = (key0 + PHILOX_W0) >>> 0;
      key1 = (key1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, x0);
    const lo0 = mullo32(PHILOX_M0, x0);
    const hi1 = mulhi32(PHILOX_M1, x2);
    const lo1 = mullo32(PHILOX_M1, x2);
    const n0 = (hi1 ^ x1 ^ key0) >>> 0;
    const n2 = (hi0 ^ x3 ^ key1) >>> 0;
    x0 = n0;
    x1 = lo1;
    x2 = n2;
    x3 = lo0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
  return out;
}

/** The Philox key of a seed: [seed mod 2^32, floor(seed / 2^32)], for an integer seed in [0, 2^53). */
export function seedKey(seed: number): [number, number] {
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 53) {
    throw new RangeError(`seed must be an integer in [0, 2^53), got ${seed}`);
  }
  return [(seed % 2 ** 32) >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** An item of [0, C) from a uniform u32 word: the high 32 bits of w·C. */
export function uniformItem(w0: number, numItems: number): number {
  return mulhi32(w0, numItems);
}
