/** The CUDA driver bridge: devices, contexts, memory, copies, streams, events, modules, launches. */
export {
  CudaContext,
  type CudaDeviceInfo,
  cudaAvailable,
  cudaDevices,
  cudaUnavailableReason,
  requireCuda,
} from './device.js';
export {
  type CudaDtype,
  type CudaMemoryMeter,
  type CudaTensor,
  cudaDtypeBytes,
  cudaMemoryMeter,
  cudaTensor,
  DeviceBuffer,
} from './memory.js';
export { CudaKernel, CudaModule, type KernelArg, type LaunchConfig, launch } from './module.js';
export { CudaEvent, CudaStream } from './stream.js';
