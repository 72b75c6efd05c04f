/**
 * The dropout mask (DESIGN.md, "The engine contract": the same bits on every engine): element e
 * of a tensor of n elements is 1/(1 − rate) when word (e mod 4) of Philox4x32-10(counter
 * [floor(e / 4), site, stream, DROPOUT_TAG], key = the seed's key) is below
 * keepThreshold(rate) = floor((1 − rate) · 2^32), else 0. The tfjs SASRec, the WGSL mask kernel
 * and the CUDA layer ops (src/ops/common.cuh) all draw it this way.
 */
import { philox4x32_10, seedKey } from '@cutrec/sampler';

/** Counter word 3 of dropout draws (keeps them apart from negatives, whose word 3 is 0). */
export const DROPOUT_TAG = 0xd20f_0003;

/** Where a dropout mask comes from: the model seed, the stream (training step) and the site. */
export interface DropoutDraw {
  seed: number;
  stream: number;
  site: number;
}

/** A dropout of `rate` at a draw; what the host references take (undefined = no dropout). */
export interface DropoutSpec extends DropoutDraw {
  rate: number;
}

/** floor((1 − rate) · 2^32), clamped to [0, 2^32 − 1]. */
export function keepThreshold(rate: number): number {
  return Math.min(0xffffffff, Math.floor((1 - rate) * 2 ** 32));
}

/** The mask as n float32 values, 0 or 1/(1 − rate). */
export function dropoutMaskHost(n: number, rate: number, draw: DropoutDraw): Float32Array {
  const [k0, k1] = seedKey(draw.seed);
  const thr = keepThreshold(rate);
  const scale = Math.fround(1 / (1 - rate));
  const out = new Float32Array(n);
  const w = new Uint32Array(4);
  for (let g = 0; g * 4 < n; g++) {
    philox4x32_10(g, draw.site, draw.stream, DROPOUT_TAG, k0, k1, w);
    for (let j = 0; j < 4 && g * 4 + j < n; j++) out[g * 4 + j] = w[j]! < thr ? scale : 0;
  }
  return out;
}

/**
 * The multiplier of element e under `spec` (1 when `spec` is undefined or its rate is 0), for
 * references that visit elements one at a time. Caches the last Philox block.
 */
export function dropoutMultiplier(spec: DropoutSpec | undefined): (e: number) => number {
  if (!spec || spec.rate === 0) return () => 1;
  const [k0, k1] = seedKey(spec.seed);
  const thr = keepThreshold(spec.rate);
  const scale = Math.fround(1 / (1 - spec.rate));
  const w = new Uint32Array(4);
  let block = -1;
  return (e: number) => {
    const g = Math.floor(e / 4);
    if (g !== block) {
      philox4x32_10(g >>> 0, spec.site >>> 0, spec.stream >>> 0, DROPOUT_TAG, k0, k1, w);
      block = g;
    }
    return w[e & 3]! < thr ? scale : 0;
  };
}
