/**
 * Which device the fused engine runs on, and building it: CUDA where the driver, a GPU and our
 * kernels are usable, else WebGPU (float32, or float16 storage with 'shader-f16') on a given
 * `GPUDevice` or tfjs's. The one mechanism
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
  /** 'fp32' (default), 'bf16' (CUDA only) or 'f16' (WebGPU with 'shader-f16' only). */
  precision?: 'fp32' | 'bf16' | 'f16';
  /** The WebGPU device (default: tfjs's WebGPU device, when tfjs is on WebGPU). */
  gpu?: GPUDevice;
  /** CUDA: time every op with events (see {@link CudaDevice.profile}). */
  profile?: boolean;
}

/**
 * A fresh fused-engine device (a {@link CudaDevice} or a {@link WebGpuDevice}) and which it is;
 * throws, naming the option, for bf16 on WebGPU, f16 on CUDA or on an adapter without
 * 'shader-f16', or WebGPU without a device.
 */
export function createFusedDevice(options: CreateFusedDeviceOptions = {}): {
  kind: FusedDeviceKind;
  device: FusedDevice<unknown>;
} {
  const kind = !options.device || options.device === 'auto' ? fusedDeviceKind().device : options.device;
  const precision = options.precision ?? 'fp32';
  if (kind === 'webgpu') {
    if (precision === 'bf16')
      throw new RangeError(
        'the fused engine on WebGPU has no bf16: use precision fp32, or f16 where the adapter has shader-f16 (bf16 needs CUDA)',
      );
    const gpu = options.gpu ?? tfjsDevice();
    if (!gpu)
      throw new Error(
        'the fused engine on WebGPU needs a GPUDevice: pass options.gpu, or set tfjs up on the WebGPU backend (no adapter?)',
      );
    if (precision === 'f16' && !gpu.features.has('shader-f16'))
      throw new RangeError(
        "precision f16 needs the WebGPU adapter's 'shader-f16' feature, which this one lacks: use fp32",
      );
    const dtype = precision === 'f16' ? 'float16' : 'float32';
    return { kind, device: new WebGpuDevice(gpu, { dtype }) as FusedDevice<unknown> };
  }
  if (precision === 'f16')
    throw new RangeError(
      "the fused engine on CUDA has no f16: use precision bf16 or fp32 (f16 is the WebGPU engine's half precision)",
    );
  return {
    kind,
    device: new CudaDevice({
      dtype: precision === 'bf16' ? 'bfloat16' : 'float32',
      ...(options.profile ? { profile: true } : {}),
    }) as FusedDevice<unknown>,
  };
}
