/** The CUDA driver bridge: devices, contexts, memory, copies, streams, events, graphs, modules, launches, cuBLASLt. */
export {
  type CublasLtSearchOptions,
  cublasLtCandidates,
  cublasLtInfo,
  cublasLtUnavailableReason,
  describeGemm,
  GEMM_WORKSPACE_BYTES,
  type GemmDesc,
  GemmPlan,
} from './cublaslt.js';
export {
  CudaContext,
  type CudaDeviceInfo,
  cudaAvailable,
  cudaDevices,
  cudaUnavailableReason,
  requireCuda,
} from './device.js';
export { CudaGraph } from './graph.js';
export {
  type CudaDtype,
  type CudaMemoryMeter,
  type CudaTensor,
  cudaDtypeBytes,
  cudaMemoryMeter,
  cudaTensor,
  DeviceBuffer,
  HostBuffer,
  type HostCopyOptions,
} from './memory.js';
export { CudaKernel, CudaModule, type KernelArg, type LaunchConfig, launch } from './module.js';
export { CudaEvent, type CudaEventOptions, CudaStream } from './stream.js';
