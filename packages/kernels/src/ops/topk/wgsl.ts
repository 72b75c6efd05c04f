/**
 * The fused WebGPU top-k program: declares its inputs (hidden [U, D], items [C, D], a CSR seen
 * list), its outputs (ids and scores [U, k], tfjs-owned tensors) and its dispatch (one workgroup
 * per user, strided past 65535), and runs the WGSL of `topk.wgsl.ts` on tfjs's device through
 * @cutrec/kernels' `Runner` (one pipeline cache per device).
 */

import { allocTensor, createBufferFrom, flushTfjs, tensorBuffer } from '@cutrec/tensor';
import type * as tf from '@tensorflow/tfjs';
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import { Runner } from '../../wgsl/runner.js';
import { TOPK_PARAM_FIELDS, type TopKShaderParams, topKWGSL, topKWorkgroupBytes } from './topk.wgsl.js';
import type { SeenItems, TopK } from './types.js';

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

/** The top-k kernel for fixed (k, D): a program of @cutrec/kernels' WGSL runner. */
export class TopKProgram implements WgslProgram {
  readonly params: TopKShaderParams;
  readonly key: string;
  readonly workgroupSize = WORKGROUP_SIZE;
  readonly bindings: readonly BindingKind[] = ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'];
  readonly paramFields = TOPK_PARAM_FIELDS;

  /** The program for (k, D) on `device`, its pipeline compiled once per device (rejects with the compiler's message). */
  static async get(device: GPUDevice, k: number, dim: number): Promise<TopKProgram> {
    const program = new TopKProgram(device, { k, dim, workgroupSize: WORKGROUP_SIZE });
    await Runner.of(device).compile(program);
    return program;
  }

  private constructor(
    private readonly device: GPUDevice,
    params: TopKShaderParams,
  ) {
    this.params = params;
    this.key = shaderKey(params);
  }

  /** The cache key of the generated WGSL (kept for callers of the earlier API). */
  get shaderKey(): string {
    return this.key;
  }

  code(): string {
    return topKWGSL(this.params);
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
    try {
      flushTfjs();
      if (poison) {
        const nan = new Uint32Array(U * k).fill(0x7fc00000);
        device.queue.writeBuffer(ids.buffer, 0, nan);
        device.queue.writeBuffer(scores.buffer, 0, nan);
      }
      Runner.of(device).submit(
        [
          {
            program: this,
            params: { users: U, items: C, hasSeen: seen ? 1 : 0 },
            buffers: [hBuf, wBuf, offsets, seenItems, ids.buffer, scores.buffer],
            // One workgroup per user, looping with the dispatch's stride past the x limit.
            units: Math.max(1, Math.min(U, device.limits.maxComputeWorkgroupsPerDimension)),
          },
        ],
        this.key,
      );
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
    }
  }
}

function shaderKey(p: TopKShaderParams): string {
  return `topk_${p.k}_${p.dim}_${p.workgroupSize}`;
}
