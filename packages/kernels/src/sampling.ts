/**
 * Host-side negatives for the loss: the sampler spec of a call, the negatives of a range of groups
 * (what the 'tfjs' implementation draws per chunk), and the logQ correction log(K·q(n)).
 */
import { groupOf, philox4x32_10, type SamplerSpec, seedKey, uniformItem } from '@cutrec/sampler';
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

/** How many negative groups N rows form: N ('row'), ceil(N / blockRows) ('block'), 1 ('batch'). */
export function groupCount(o: ResolvedCceOptions, N: number): number {
  if (N === 0) return 0;
  return groupOf(o.share, o.blockRows, N - 1) + 1;
}

/**
 * The K negatives of each group g0 … g0+G-1 as an Int32Array [G·K]: the same items
 * `negatives(spec, …)` gives the rows of those groups (a pure function of seed, group, j, stream).
 */
export function groupNegatives(
  spec: SamplerSpec,
  g0: number,
  G: number,
  K: number,
  stream: number,
): Int32Array {
  if (spec.kind === 'inBatch') {
    throw new Error("cceLoss: the 'inBatch' sampler is not supported by this implementation yet");
  }
  const [k0, k1] = seedKey(spec.seed);
  const C = spec.numItems;
  const out = new Int32Array(G * K);
  const w = new Uint32Array(4);
  const table = spec.kind === 'popularity' ? spec.table : undefined;
  for (let g = 0; g < G; g++) {
    for (let j = 0; j < K; j++) {
      philox4x32_10(g0 + g, j, stream, 0, k0, k1, w);
      const col = uniformItem(w[0]!, C);
      out[g * K + j] = table ? (w[1]! < table.prob[col]! ? col : table.alias[col]!) : col;
    }
  }
  return out;
}

/** log(K·q(n)) for each negative id, in float64 (the correction logQ subtracts). */
export function logKq(spec: SamplerSpec, ids: ArrayLike<number>, K: number): Float64Array {
  const out = new Float64Array(ids.length);
  if (spec.kind === 'uniform') {
    out.fill(Math.log(K / spec.numItems));
    return out;
  }
  if (spec.kind === 'popularity') {
    const q = spec.table.q;
    for (let i = 0; i < ids.length; i++) out[i] = Math.log(K * q[ids[i]!]!);
    return out;
  }
  throw new Error("cceLoss: logQ for the 'inBatch' sampler is not supported yet");
}
