/**
 * Host-side negatives for the loss: the sampler spec of a call, the negatives of a range of groups
 * (what the 'tfjs' implementation draws per chunk), and the logQ correction log(K·q(n)).
 */
import { drawerOf, groupOf, type SamplerSpec, sampleLogQ } from '@cutrec/sampler';
import * as tf from '@tensorflow/tfjs';
import type { ResolvedCceOptions } from './options.js';

/** The sampler spec `negatives()` takes for this call (C items; the batch's targets for 'inBatch'). */
export function samplerSpec(o: ResolvedCceOptions, C: number, targets?: ArrayLike<number>): SamplerSpec {
  const base = { numItems: C, seed: o.seed, share: o.share, blockRows: o.blockRows };
  if (o.sampler === 'uniform') return { ...base, kind: 'uniform' };
  if (o.sampler === 'popularity') {
    if (!o.aliasTable) throw new Error("cceLoss: sampler 'popularity' needs options.sampler.table");
    return { ...base, kind: 'popularity', table: o.aliasTable };
  }
  if (!targets) throw new Error("cceLoss: sampler 'inBatch' needs the batch's targets on the host");
  return { ...base, kind: 'inBatch', targets, ignoreIndex: o.ignoreIndex };
}

/**
 * The sampler spec of a call on tfjs tensors: undefined for negatives 'all'; for 'inBatch' the
 * targets are read to the host (see {@link targetsOnHost}).
 */
export function callSamplerSpec(
  o: ResolvedCceOptions,
  C: number,
  targets: tf.Tensor1D,
): SamplerSpec | undefined {
  if (o.negatives === 'all') return undefined;
  return samplerSpec(o, C, o.sampler === 'inBatch' ? targetsOnHost(targets) : undefined);
}

/** How many negative groups N rows form: N ('row'), ceil(N / blockRows) ('block'), 1 ('batch'). */
export function groupCount(o: ResolvedCceOptions, N: number): number {
  if (N === 0) return 0;
  return groupOf(o.share, o.blockRows, N - 1) + 1;
}

/**
 * The K negatives of each group g0 … g0+G-1 as an Int32Array [G·K]: the sampler's own draw for
 * (seed, group, j, stream), so exactly the items `negatives(spec, …)` gives the rows of those
 * groups. An inBatch batch with no valid target has nothing to draw: its entries are 0 (no row
 * uses them).
 */
export function groupNegatives(
  spec: SamplerSpec,
  g0: number,
  G: number,
  K: number,
  stream: number,
): Int32Array {
  const draw = drawerOf(spec);
  const out = new Int32Array(G * K);
  for (let g = 0; g < G; g++) {
    for (let j = 0; j < K; j++) out[g * K + j] = Math.max(0, draw(g0 + g, j, stream));
  }
  return out;
}

/**
 * log(K·q(n)) for each negative id, in float64 (the shift logQ subtracts), from the sampler's
 * `sampleLogQ`; 0 for an id of −1 (inBatch with no candidates: no row uses it).
 */
export function logKq(spec: SamplerSpec, ids: ArrayLike<number>, K: number): Float64Array {
  const logQ = sampleLogQ(spec);
  const logK = Math.log(K);
  const out = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = ids[i]! < 0 ? 0 : logK + logQ(ids[i]!);
  return out;
}

/**
 * The targets on the host, synchronously (the inBatch sampler draws from them). The 'webgpu'
 * backend cannot read synchronously in Node, so there the host implementations refuse inBatch.
 */
export function targetsOnHost(targets: tf.Tensor1D): Int32Array {
  if (tf.getBackend() === 'webgpu') {
    throw new Error(
      "cceLoss: sampler 'inBatch' in impl 'tfjs' needs the targets on the host, which the 'webgpu' backend cannot read synchronously; use impl 'wgsl'",
    );
  }
  return targets.dataSync() as Int32Array;
}
