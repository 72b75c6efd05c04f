/**
 * `cutrec-bench roofline`: the device's measured copy bandwidth and matmul rate, and for each
 * measured loss kernel the bytes and FLOPs it must move (formulas.ts), the time those limits
 * allow, and the fraction of that limit the kernel reached.
 */
import { CudaContext, type CudaDeviceInfo, DeviceBuffer } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { lossWork } from './formulas.js';
import type { LossResult } from './loss/bench.js';
import { summarize } from './stats.js';
import { cudaTime } from './timing/cuda-timer.js';
import { WebGpuTimer } from './timing/webgpu-timer.js';

/** A device's limits: bytes per second it copies and FLOPs per second it multiplies. */
export interface DeviceLimits {
  /** Measured device-to-device copy bandwidth (read + write bytes per second). */
  copyBytesPerSec: number;
  /** How the bandwidth was measured. */
  copyHow: string;
  /** Matmul FLOPs per second (measured, or theoretical where stated). */
  matmulFlopsPerSec: number;
  matmulHow: string;
  /** Tensor-core rate (bf16 inputs, f32 accumulation), theoretical, CUDA only. */
  tensorFlopsPerSec?: number;
  /** DRAM bandwidth from the memory clock and bus width, theoretical, CUDA only. */
  theoreticalBytesPerSec?: number;
}

/** Copy bandwidth of a large WebGPU buffer copy: 2·size bytes moved per copy, median of `repeats`. */
export async function webgpuCopyBandwidth(device: GPUDevice, bytes: number, repeats = 5): Promise<number> {
  const max = Math.min(bytes, device.limits.maxBufferSize);
  const size = max - (max % 256);
  const usage = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE;
  const a = device.createBuffer({ size, usage });
  const b = device.createBuffer({ size, usage });
  const timer = new WebGpuTimer(device);
  try {
    const copy = () => {
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(a, 0, b, 0, size);
      device.queue.submit([enc.finish()]);
    };
    await timer.time(copy);
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) times.push((await timer.time(copy)).ms);
    return (2 * size) / (summarize(times).ms / 1e3);
  } finally {
    timer.destroy();
    a.destroy();
    b.destroy();
  }
}

/** FLOPs per second of tfjs `matMul` on n×n float32 matrices on the active WebGPU backend (2·n³ per product). */
export async function webgpuMatmulRate(device: GPUDevice, n: number, repeats = 5): Promise<number> {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const timer = new WebGpuTimer(device);
  try {
    let c: tf.Tensor | undefined;
    await timer.time(() => {
      c = tf.matMul(a, b);
    });
    c?.dispose();
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      times.push(
        (
          await timer.time(() => {
            c = tf.matMul(a, b);
          })
        ).ms,
      );
      c?.dispose();
    }
    return (2 * n ** 3) / (summarize(times).ms / 1e3);
  } finally {
    timer.destroy();
    tf.dispose([a, b]);
  }
}

/** Copy bandwidth of a CUDA device-to-device copy (2·bytes per copy, CUDA events, median). */
export function cudaCopyBandwidth(bytes: number, repeats = 5): number {
  const ctx = CudaContext.get();
  const a = new DeviceBuffer(bytes, ctx);
  const b = new DeviceBuffer(bytes, ctx);
  try {
    b.copyFrom(a);
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) times.push(cudaTime(() => b.copyFrom(a), ctx));
    return (2 * bytes) / (summarize(times).ms / 1e3);
  } finally {
    a.free();
    b.free();
  }
}

/**
 * Theoretical rates of a CUDA device from its clocks: FP32 on CUDA cores (128 FMA per SM per
 * clock on sm_80+… = 256 FLOPs; sm_80 64 FMA), dense bf16 tensor cores (FLOPs per SM per clock:
 * 4096 on sm_90, 2048 on sm_80, 1024 on sm_86/sm_89), DRAM bandwidth 2·memory clock·bus bytes.
 */
export function cudaTheoretical(d: CudaDeviceInfo): { fp32: number; tensor: number; dram: number } {
  const clock = d.clockKHz * 1e3;
  const fp32PerSm = d.major === 8 && d.minor === 0 ? 128 : 256;
  const tensorPerSm = d.major >= 9 ? 4096 : d.major === 8 && d.minor === 0 ? 2048 : 1024;
  return {
    fp32: d.smCount * clock * fp32PerSm,
    tensor: d.smCount * clock * tensorPerSm,
    dram: 2 * d.memoryClockKHz * 1e3 * (d.memoryBusWidth / 8),
  };
}

/** One kernel against the roofline. */
export interface RooflineRow {
  impl: string;
  share: string;
  dtype: string;
  shapeName: string;
  shape: { N: number; C: number; D: number; K: number };
  ms: number;
  flops: number;
  bytes: number;
  /** FLOPs per byte. */
  intensity: number;
  /** Achieved rates. */
  flopsPerSec: number;
  bytesPerSec: number;
  /** The time the limits allow: max(bytes / bandwidth, flops / matmul rate), ms. */
  boundMs: number;
  /** Which limit binds. */
  bound: 'memory' | 'compute';
  /** boundMs / ms: 1 means the kernel runs at the device's limit. */
  fraction: number;
}

/** Which compute rate a CUDA row is held to: tensor cores for the tile kernels (block, batch, all), CUDA cores for the row kernel; 3×tf32 costs 3 tensor passes at half the bf16 rate. */
function cudaRate(r: LossResult, limits: DeviceLimits): number {
  const tensor = limits.tensorFlopsPerSec;
  if (!tensor || r.share === 'row') return limits.matmulFlopsPerSec;
  return r.dtype === 'float32' ? tensor / 6 : tensor;
}

/** Places each measured result under the limits of its device. */
export function roofline(
  results: readonly LossResult[],
  webgpu: DeviceLimits | null,
  cuda: DeviceLimits | null,
  blockRows = 64,
): RooflineRow[] {
  const out: RooflineRow[] = [];
  for (const r of results) {
    if (r.ms === null) continue;
    const limits = r.impl === 'cuda' ? cuda : webgpu;
    if (!limits) continue;
    const elementBytes = r.dtype === 'float32' ? 4 : 2;
    const w = lossWork(
      r.impl,
      r.share,
      { name: r.shapeName, ...r.shape },
      { blockRows: r.blockRows ?? blockRows, elementBytes },
    );
    const rate = r.impl === 'cuda' ? cudaRate(r, limits) : limits.matmulFlopsPerSec;
    const memMs = (w.bytes / limits.copyBytesPerSec) * 1e3;
    const compMs = (w.flops / rate) * 1e3;
    const boundMs = Math.max(memMs, compMs);
    out.push({
      impl: r.impl,
      share: r.share,
      dtype: r.dtype,
      shapeName: r.shapeName,
      shape: r.shape,
      ms: r.ms,
      flops: w.flops,
      bytes: w.bytes,
      intensity: w.flops / w.bytes,
      flopsPerSec: w.flops / (r.ms / 1e3),
      bytesPerSec: w.bytes / (r.ms / 1e3),
      boundMs,
      bound: memMs >= compMs ? 'memory' : 'compute',
      fraction: boundMs / r.ms,
    });
  }
  return out;
}
