/** Host contents of the sampler's GPU buffers, in the binding order `samplerWGSL` and the CUDA draws use. */
import { checkSpec, inBatchCandidates, inBatchLogQ } from './negatives.js';
import type { SamplerSpec } from './types.js';

/** What a kernel uploads for a sampler: the arrays in binding order and the `n` to pass to `cutrec_draw`. */
export interface SamplerBuffers {
  /** popularity: [prob u32, alias u32, logQ f32]; inBatch: [items u32, logQ f32 per position]; uniform: []. Never empty arrays (padded to ≥ 1 entry). */
  arrays: (Uint32Array | Float32Array)[];
  /** numItems for uniform and popularity, numValid (the count of valid targets) for inBatch. */
  n: number;
}

/**
 * The sampler's buffer contents for a spec: `{ arrays, n }` with arrays in binding order (see
 * `samplerWGSL`); inBatch arrays with no valid target hold one unused entry so they bind.
 */
export function samplerBuffers(spec: SamplerSpec): SamplerBuffers {
  checkSpec(spec);
  if (spec.kind === 'uniform') return { arrays: [], n: spec.numItems };
  if (spec.kind === 'popularity') {
    const t = spec.table;
    return { arrays: [t.prob, t.alias, t.logQ], n: spec.numItems };
  }
  const cand = inBatchCandidates(spec);
  const n = cand.length;
  if (n === 0) return { arrays: [new Uint32Array(1), new Float32Array(1)], n: 0 };
  return { arrays: [cand, Float32Array.from(inBatchLogQ(cand))], n };
}
