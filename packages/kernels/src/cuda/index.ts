/** impl 'cuda': fused CCE- kernels for NVIDIA GPUs (cuda/*.cu, built to build/cce.fatbin by nvcc). */
export { CCE_ARGS_BYTES, packCceArgs } from './args.js';
export {
  type CudaCallOptions,
  type CudaCceBackward,
  type CudaCceForward,
  cudaCceBackward,
  cudaCceForward,
} from './cce.js';
export { type CudaTuning, cudaImplementation, setCudaTuning } from './impl.js';
export { cceModule, cudaKernelsAvailable, cudaKernelsUnavailableReason } from './module.js';
export {
  type CudaKernelChoice,
  type F32Precision,
  type KernelPlan,
  planKernel,
  tileSmemBytes,
} from './plan.js';
