/**
 * The fused WebGPU top-k program: declares its inputs (hidden [U, D], items [C, D], a CSR seen
 * list), its outputs (ids and scores [U, k], tfjs-owned tensors) and its dispatch (one workgroup
 * per user, strided past 65535), and runs the WGSL of `topk.wgsl.ts` on tfjs's device.
 */
import { allocTensor, createBufferFrom, flushTfjs, tensorBuffer } from '@cutrec/tensor';
import type * as tf from '@tensorflow/tfjs';
import type { SeenItems } from './seen.js';
import { type TopKShaderParams, topKWGSL, topKWorkgroupBytes } from './topk.wgsl.js';
import type { TopK } from './topk-types.js';

/** Threads per workgroup (= items per tile). */
const WORKGROUP_SIZE = 64;

/** The largest k the fused kernel takes (its running list lives in workgroup memory). */
export const TOPK_WGSL_MAX_K = 512;

/** Why the fused kernel cannot take (k, D) on `device`, or undefined when it can. */
export function topKWgslUnsupported(device: GPUDevice, k: number, dim: number): string | undefined {
  if (k > TOPK_WGSL_MAX_K) return `k = ${k} exceeds the fused kernel's limit of ${TOPK_WGSL_MAX_K}`;
  const bytes = topKWorkgroupBytes({ k, dim, workgroupSize: WORKGROUP_SIZE });
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  if (bytes > limit) {
    return `k = ${k} and D = ${dim} need ${bytes} bytes of workgroup memory, the device allows ${limit}`;
  }
  return undefined;
}

/** One compiled top-k kernel for fixed (k, D). */
export class TopKProgram {
  readonly params: TopKShaderParams;
  readonly shaderKey: string;
  private readonly pipeline: GPUComputePipeline;

  private static readonly cache = new WeakMap<GPUDevice, Map<string, Promise<TopKProgram>>>();

  /** The program for (k, D) on `device`, compiled once and cached (rejects with the compiler's message). */
  static get(device: GPUDevice, k: number, dim: number): Promise<TopKProgram> {
    let perDevice = TopKProgram.cache.get(device);
    if (!perDevice) {
      perDevice = new Map();
      TopKProgram.cache.set(device, perDevice);
    }
    const params: TopKShaderParams = { k, dim, workgroupSize: WORKGROUP_SIZE };
    const key = shaderKey(params);
    let p = perDevice.get(key);
    if (!p) {
      const module = device.createShaderModule({ code: topKWGSL(params), label: key });
      p = device
        .createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key })
        .then((pipeline) => new TopKProgram(device, params, pipeline));
      perDevice.set(key, p);
      p.catch(() => perDevice.delete(key));
    }
    return p;
  }

  private constructor(
    private readonly device: GPUDevice,
    params: TopKShaderParams,
    pipeline: GPUComputePipeline,
  ) {
    this.params = params;
    this.shaderKey = shaderKey(params);
    this.pipeline = pipeline;
  }

  /** Runs on hidden [U, D] and items [C, D] (float32 tensors on the WebGPU backend); returns [U, k] ids and scores. */
  async run(hidden: tf.Tensor2D, items: tf.Tensor2D, seen?: SeenItems, poison = false): Promise<TopK> {
    const device = this.device;
    const { k } = this.params;
    const [U] = hidden.shape;
    const C = items.shape[0];
    const hBuf = tensorBuffer(hidden);
    const wBuf = tensorBuffer(items);
    const ids = allocTensor<tf.Rank.R2>([U, k], 'int32');
    const scores = allocTensor<tf.Rank.R2>([U, k], 'float32');
    const offsets = createBufferFrom(device, seen?.offsets ?? new Int32Array(U + 1));
    const seenItems = createBufferFrom(
      device,
      seen && seen.items.length > 0 ? seen.items : new Int32Array(1),
    );
    const uniforms = createBufferFrom(
      device,
      new Uint32Array([U, C, seen ? 1 : 0, 0]),
      GPUBufferUsage.UNIFORM,
    );
    try {
      flushTfjs();
      if (poison) {
        const nan = new Uint32Array(U * k).fill(0x7fc00000);
        device.queue.writeBuffer(ids.buffer, 0, nan);
        device.queue.writeBuffer(scores.buffer, 0, nan);
      }
      const bindGroup = device.createBindGroup({
        layout: this.pipeline.getBindGroupLayout(0),
        entries: [hBuf, wBuf, offsets, seenItems, ids.buffer, scores.buffer, uniforms].map(
          (buffer, binding) => ({
            binding,
            resource: { buffer },
          }),
        ),
      });
      const enc = device.createCommandEncoder({ label: this.shaderKey });
      const pass = enc.beginComputePass();
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(Math.max(1, Math.min(U, device.limits.maxComputeWorkgroupsPerDimension)));
      pass.end();
      device.queue.submit([enc.finish()]);
      const out: TopK = {
        items: (await ids.tensor.data()) as Int32Array,
        scores: (await scores.tensor.data()) as Float32Array,
        users: U,
        k,
      };
      return out;
    } finally {
      ids.tensor.dispose();
      scores.tensor.dispose();
      offsets.destroy();
      seenItems.destroy();
      uniforms.destroy();
    }
  }
}

function shaderKey(p: TopKShaderParams): string {
  return `topk_${p.k}_${p.dim}_${p.workgroupSize}`;
}
