import { negatives } from '@cutrec/sampler';
import type { ResolvedCceOptions } from '../options.js';
import { logKq, samplerSpec } from '../sampling.js';

/** Host inputs of the reference: row-major hidden [N·D], items [C·D], targets [N]. */
export interface HostCceInputs {
  hidden: ArrayLike<number>;
  items: ArrayLike<number>;
  targets: ArrayLike<number>;
  N: number;
  C: number;
  D: number;
}

/**
 * The negatives of every row, [N·K] ids from @cutrec/sampler's `negatives()`, and the amount each
 * logit is shifted by: log(K·q(n)) with logQ, 0 without, +∞ (the logit becomes −∞) for a masked
 * accidental hit. Undefined for `negatives: 'all'`.
 */
export interface ReferenceNegatives {
  K: number;
  ids: Int32Array;
  shift: Float64Array;
}

export function referenceNegatives(x: HostCceInputs, o: ResolvedCceOptions): ReferenceNegatives | undefined {
  if (o.negatives === 'all') return undefined;
  const K = o.negatives;
  const spec = samplerSpec(o, x.C, x.targets);
  const ids = negatives(spec, x.N, K, o.step);
  const shift = o.logQ ? logKq(spec, ids, K) : new Float64Array(ids.length);
  if (o.removeAccidentalHits) {
    for (let i = 0; i < x.N; i++) {
      const y = x.targets[i]!;
      for (let j = 0; j < K; j++) if (ids[i * K + j] === y) shift[i * K + j] = Number.POSITIVE_INFINITY;
    }
  }
  return { K, ids, shift };
}

/** h_i · w_c in float64. */
export function dot(x: HostCceInputs, i: number, c: number): number {
  const { hidden, items, D } = x;
  let s = 0;
  for (let d = 0; d < D; d++) s += hidden[i * D + d]! * items[c * D + d]!;
  return s;
}

/** Throws naming the argument when a host input's length does not match N, C, D. */
export function checkHostInputs(x: HostCceInputs): void {
  const { N, C, D } = x;
  if (x.hidden.length !== N * D)
    throw new RangeError(`reference: hidden has ${x.hidden.length} values, not N·D = ${N * D}`);
  if (x.items.length !== C * D)
    throw new RangeError(`reference: items has ${x.items.length} values, not C·D = ${C * D}`);
  if (x.targets.length !== N)
    throw new RangeError(`reference: targets has ${x.targets.length} values, not N = ${N}`);
}
