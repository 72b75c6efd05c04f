/**
 * Which device the fused engine runs on, and building it: CUDA where the driver, a GPU and our
 * kernels are usable, else WebGPU (float32) on a given `GPUDevice` or tfjs's. The one mechanism
 * `cutrec train` and `cutrec-bench train --engine fused` share.
 */
import { tfjsDevice } from '../device.js';
import { CudaDevice, fusedCudaUnavailableReason } from './cuda-device.js';
import type { FusedDevice } from './engine.js';
import { WebGpuDevice, webGpuUnsupported } from './webgpu-device.js';

/** Where the fused engine runs. */
export type FusedDeviceKind = 'cuda' | 'webgpu';

/** `{ device: 'cuda' }` where the fused engine can run on CUDA here, else `'webgpu'` with why CUDA cannot. */
export function fusedDeviceKind(): { device: FusedDeviceKind; reason?: string } {
  const reason = fusedCudaUnavailableReason();
  return reason === undefined ? { device: 'cuda' } : { device: 'webgpu', reason };
}

/** Why the fused engine cannot run on WebGPU device `gpu` (default: tfjs's), or undefined when it can. */
export function fusedWebGpuUnavailableReason(gpu: GPUDevice | undefined = tfjsDevice()): string | undefined {
  if (!gpu) return 'tfjs is not on a WebGPU device';
  return webGpuUnsupported(gpu);
}

/** Options of {@link createFusedDevice}. */
export interface CreateFusedDeviceOptions {
  /** Where to run; 'auto' (default) is {@link fusedDeviceKind}'s choice. */
  device?: FusedDeviceKind | 'auto';
  /** 'fp32' (default) or 'bf16' (CUDA only). */
  precision?: 'fp32' | 'bf16';
  /** The WebGPU device (default: tfjs's WebGPU device, when tfjs is on WebGPU). */
  gpu?: GPUDevice;
  /** CUDA: time every op with events (see {@link CudaDevice.profile}). */
  profile?: boolean;
}

/**
 * A fresh fused-engine device (a {@link CudaDevice} or a {@link WebGpuDevice}) and which it is;
 * throws, naming the option, for bf16 on WebGPU or WebGPU without a device.
 */
export function createFusedDevice(options: CreateFusedDeviceOptions = {}): {
  kind: FusedDeviceKind;
  device: FusedDevice<unknown>;
} {
  const kind = !options.device || options.device === 'auto' ? fusedDeviceKind().device : options.device;
  const precision = options.precision ?? 'fp32';
  if (kind === 'webgpu') {
    if (precision !== 'fp32')
      throw new RangeError(
        `the fused engine on WebGPU is fp32 only, got precision ${precision} (bf16 needs CUDA)`,
      );
    const gpu = options.gpu ?? tfjsDevice();
    if (!gpu)
      throw new Error(
        'the fused engine on WebGPU needs a GPUDevice: pass options.gpu, or set tfjs up on the WebGPU backend (no adapter?)',
      );
    return { kind, device: new WebGpuDevice(gpu) as FusedDevice<unknown> };
  }
  return {
    kind,
    device: new CudaDevice({
      dtype: precision === 'bf16' ? 'bfloat16' : 'float32',
      ...(options.profile ? { profile: true } : {}),
    }) as FusedDevice<unknown>,
  };
}
