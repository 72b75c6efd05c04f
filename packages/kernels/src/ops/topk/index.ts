/** Full-catalog top-k scoring (no users × C matrix): the reference, the fused WGSL kernel, the streamed CUDA kernels. */
export { type CudaTopKArgs, cudaTopK, TOPK_CUDA_MAX_K, topKChunk } from './cuda.js';
export { better, isSeen, topKReference } from './reference.js';
export {
  TOPK_BUFFERS,
  TOPK_PARAM_FIELDS,
  type TopKShaderParams,
  topKWGSL,
  topKWorkgroupBytes,
} from './topk.wgsl.js';
export type { SeenItems, TopK } from './types.js';
export { TOPK_WGSL_MAX_K, TopKProgram, topKWgslUnsupported, type WgslTopKArgs, wgslTopK } from './wgsl.js';
