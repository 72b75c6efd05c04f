/**
 * Deterministic parameter initialisation: values are a pure function of (seed, parameter index,
 * element index) through Philox4x32-10, so a model is identical on every backend and machine.
 */
import { philox4x32_10, seedKey } from '@cutrec/sampler';

/** Philox counter word 2 for initialisation (keeps init streams apart from any training stream). */
const INIT_STREAM = 0x1a17_0001;
const TWO_POW_M32 = 2 ** -32;

/** `size` normal(0, std) float32 values for parameter `param` of a model seeded with `seed` (Box–Muller). */
export function seededNormal(seed: number, param: number, size: number, std: number): Float32Array {
  const [k0, k1] = seedKey(seed);
  const out = new Float32Array(size);
  const w = new Uint32Array(4);
  for (let i = 0; i < size; i += 2) {
    philox4x32_10(param, i >>> 1, INIT_STREAM, 0, k0, k1, w);
    const u1 = (w[0]! + 0.5) * TWO_POW_M32;
    const u2 = (w[1]! + 0.5) * TWO_POW_M32;
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < size) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** `size` uniform(−limit, limit) float32 values for parameter `param` of a model seeded with `seed`. */
export function seededUniform(seed: number, param: number, size: number, limit: number): Float32Array {
  const [k0, k1] = seedKey(seed);
  const out = new Float32Array(size);
  const w = new Uint32Array(4);
  for (let i = 0; i < size; i++) {
    philox4x32_10(param, i, INIT_STREAM + 1, 0, k0, k1, w);
    out[i] = ((w[0]! + 0.5) * TWO_POW_M32 * 2 - 1) * limit;
  }
  return out;
}
