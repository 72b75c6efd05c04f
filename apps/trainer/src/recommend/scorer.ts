/**
 * What scores `cutrec recommend --all`: the fused engine's streamed CUDA top-k (the model's
 * last-position forward and the catalog in chunks on the GPU, one graph per batch of users) where
 * CUDA and our kernels are usable, else the tfjs model's `recommend` (the fused WGSL top-k on the
 * WebGPU backend, chunked tfjs elsewhere). Both give the top-k order of @cutrec/kernels'
 * topKReference: best first, ties to the lower id, seen items left out.
 */
import {
  CudaDevice,
  FusedTrainer,
  fusedCudaUnavailableReason,
  recommend,
  type SASRec,
  type SeenItems,
  TOPK_CUDA_MAX_K,
  type TopK,
} from '@cutrec/models';

/** `--engine` of `cutrec recommend --all`. */
export type RecommendEngine = 'auto' | 'fused' | 'tfjs';

/** A top-k scorer over one model. */
export interface Scorer {
  readonly engine: 'fused' | 'tfjs';
  /** The top k items of each history of `inputs` [U·L] (left-padded), `seen` left out. */
  topK(inputs: Int32Array, k: number, seen: SeenItems | undefined): Promise<TopK>;
  dispose(): void;
}

/** Why the fused engine cannot recommend k items here, or undefined when it can. */
export function fusedRecommendUnavailable(k: number): string | undefined {
  const why = fusedCudaUnavailableReason();
  if (why) return `the fused engine recommends on CUDA only, and ${why}`;
  if (k > TOPK_CUDA_MAX_K) return `k = ${k} exceeds the CUDA top-k's limit of ${TOPK_CUDA_MAX_K}`;
  return undefined;
}

/** The scorer `engine` asks for ('auto': fused where {@link fusedRecommendUnavailable} allows). */
export function openScorer(model: SASRec, engine: RecommendEngine, k: number, batchSize: number): Scorer {
  if (engine !== 'auto' && engine !== 'fused' && engine !== 'tfjs')
    throw new Error(`--engine must be auto, fused or tfjs, got '${engine}'`);
  const why = engine === 'tfjs' ? undefined : fusedRecommendUnavailable(k);
  if (engine === 'fused' && why) throw new Error(`--engine fused: ${why}; use --engine tfjs`);
  if (engine === 'tfjs' || why) {
    return {
      engine: 'tfjs',
      topK: (inputs, kk, seen) => recommend(model, inputs, kk, { batchSize, ...(seen ? { seen } : {}) }),
      dispose: () => {},
    };
  }
  // The training buffers are sized for batchSize users; the loss is never run (a minimal one).
  const fused = new FusedTrainer(model, new CudaDevice(), {
    loss: { kind: 'cce-', negatives: 1 },
    optimizer: {},
    batchSize,
  });
  return {
    engine: 'fused',
    topK: async (inputs, kk, seen) => fused.topK(inputs, kk, seen),
    dispose: () => fused.dispose(),
  };
}
