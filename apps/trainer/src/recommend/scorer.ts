/**
 * What scores `cutrec recommend --all`: the fused engine's streamed top-k (the model's last-position
 * forward and the whole catalog on the GPU, one CUDA graph or one recorded WebGPU submission per
 * batch of users) on CUDA where CUDA and our kernels are usable, else on tfjs's WebGPU device
 * (the WGSL kernels), else the tfjs model's `recommend` (chunked tfjs on the CPU backend). All give
 * the top-k order of @cutrec/kernels' topKReference: best first, ties to the lower id, seen items
 * left out.
 */
import { topKWgslUnsupported } from '@cutrec/kernels';
import {
  CudaDevice,
  type FusedDevice,
  FusedTrainer,
  fusedCudaUnavailableReason,
  recommend,
  type SASRec,
  type SeenItems,
  TOPK_CUDA_MAX_K,
  type TopK,
  tfjsDevice,
  WebGpuDevice,
} from '@cutrec/models';

/** `--engine` of `cutrec recommend --all`. */
export type RecommendEngine = 'auto' | 'fused' | 'tfjs';

/** A top-k scorer over one model. */
export interface Scorer {
  readonly engine: 'fused' | 'tfjs';
  /** 'cuda' or 'webgpu' for the fused engine. */
  readonly device?: 'cuda' | 'webgpu';
  /** The top k items of each history of `inputs` [U·L] (left-padded), `seen` left out. */
  topK(inputs: Int32Array, k: number, seen: SeenItems | undefined): Promise<TopK>;
  dispose(): void;
}

/** Where the fused engine can recommend k lists of a model of width D here, or why it cannot. */
export function fusedRecommendDevice(
  k: number,
  D: number,
): { device: 'cuda' } | { device: 'webgpu'; gpu: GPUDevice } | { why: string } {
  const cudaWhy = fusedCudaUnavailableReason();
  if (!cudaWhy) {
    if (k <= TOPK_CUDA_MAX_K) return { device: 'cuda' };
    return { why: `k = ${k} exceeds the CUDA top-k's limit of ${TOPK_CUDA_MAX_K}` };
  }
  const gpu = tfjsDevice();
  if (!gpu)
    return {
      why: `the fused engine recommends on CUDA or on tfjs's WebGPU backend, and ${cudaWhy}; tfjs is not on WebGPU`,
    };
  const why = topKWgslUnsupported(gpu, k, D);
  return why ? { why: `on WebGPU, ${why}` } : { device: 'webgpu', gpu };
}

/** The scorer `engine` asks for ('auto': fused where {@link fusedRecommendDevice} allows). */
export async function openScorer(
  model: SASRec,
  engine: RecommendEngine,
  k: number,
  batchSize: number,
): Promise<Scorer> {
  if (engine !== 'auto' && engine !== 'fused' && engine !== 'tfjs')
    throw new Error(`--engine must be auto, fused or tfjs, got '${engine}'`);
  const where = engine === 'tfjs' ? undefined : fusedRecommendDevice(k, model.config.hidden);
  if (engine === 'fused' && where && 'why' in where)
    throw new Error(`--engine fused: ${where.why}; use --engine tfjs`);
  if (!where || 'why' in where) {
    return {
      engine: 'tfjs',
      topK: (inputs, kk, seen) => recommend(model, inputs, kk, { batchSize, ...(seen ? { seen } : {}) }),
      dispose: () => {},
    };
  }
  // The training buffers are sized for batchSize users; the loss is never run (a minimal one).
  const options = { loss: { kind: 'cce-', negatives: 1 } as const, optimizer: {}, batchSize };
  const device: FusedDevice<unknown> =
    where.device === 'cuda' ? new CudaDevice() : new WebGpuDevice(where.gpu);
  const fused = await FusedTrainer.fromModel(model, device, options);
  return {
    engine: 'fused',
    device: where.device,
    topK: (inputs, kk, seen) => fused.topKAsync(inputs, kk, seen),
    dispose: () => fused.dispose(),
  };
}
