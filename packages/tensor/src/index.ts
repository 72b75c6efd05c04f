/**
 * @cutrec/tensor — devices, memory and interop for cutrec.
 *
 * - WebGPU: {@link createDevice}, {@link deviceInfo}, {@link probeWebGPU}
 * - tfjs: {@link setupTfjs}, {@link tensorBuffer}, {@link tensorFromBuffer}, {@link allocTensor}
 * - host ↔ device: {@link createBufferFrom}, {@link writeBuffer}, {@link readBuffer}
 * - numbers: f16/bf16 packing ({@link packF16}, {@link packBf16}, …)
 * - memory: {@link memoryMeter}, {@link measurePeak}
 * - host id checks: {@link firstOutside}
 */

export * from './cuda/index.js';
export {
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  packBf16,
  packF16,
  unpackBf16,
  unpackF16,
} from './half.js';
export { MemoryMeter, type MemoryReading, measurePeak, memoryMeter } from './memory.js';
export { firstOutside, firstOutsideJs } from './range-check.js';
export {
  allocTensor,
  flushTfjs,
  type TensorFromBufferOptions,
  tensorBuffer,
  tensorFromBuffer,
} from './tfjs/interop.js';
export {
  type BackendChoice,
  currentSetup,
  type SetupTfjsOptions,
  setupTfjs,
  type TfjsSetup,
  webgpuBackend,
} from './tfjs/setup.js';
export { align4, createBufferFrom, readBuffer, writeBuffer } from './webgpu/buffers.js';
export {
  type CreateDeviceOptions,
  createDevice,
  getGPU,
  LAVAPIPE_INSTALL_COMMAND,
  NoAdapterError,
  OPTIONAL_FEATURES,
  probeWebGPU,
} from './webgpu/device.js';
export { type DeviceInfo, deviceInfo } from './webgpu/info.js';
export { type QuietWaitOptions, waitQuietly } from './webgpu/wait.js';
