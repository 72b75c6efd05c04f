/**
 * The fused WebGPU top-k program: declares its inputs (hidden rows at offset + u·rowStride,
 * items [C, D], a CSR seen list), its outputs (ids and scores [U, k]) and its dispatch (one
 * workgroup per user, strided past 65535), and runs the WGSL of `topk.wgsl.ts` through
 * @cutrec/kernels' `Runner` (one pipeline cache per device). Two doors: {@link wgslTopK}, a
 * launcher over device views that returns the dispatch (the fused engine's, as cudaTopK; hidden
 * may be f16 with `act: 'f16'`), and {@link TopKProgram.run}, which takes float32 tfjs tensors
 * on the WebGPU backend and reads the result back (@cutrec/models' `topKItems`).
 */

import { allocTensor, createBufferFrom, flushTfjs, tensorBuffer } from '@cutrec/tensor';
import type * as tf from '@tensorflow/tfjs';
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import { Runner, type Step } from '../../wgsl/runner.js';
import { Binder, checkInt, opBindings, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  TOPK_BUFFERS,
  TOPK_PARAM_FIELDS,
  type TopKShaderParams,
  topKWGSL,
  topKWorkgroupBytes,
} from './topk.wgsl.js';
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

/** The top-k kernel for fixed (k, D, act): a program of @cutrec/kernels' WGSL runner. */
export class TopKProgram implements WgslProgram {
  readonly params: TopKShaderParams;
  readonly key: string;
  readonly workgroupSize = WORKGROUP_SIZE;
  readonly bindings: readonly BindingKind[] = opBindings(TOPK_BUFFERS);
  readonly paramFields = TOPK_PARAM_FIELDS;

  /** The program for (k, D) on `device`, its pipeline compiled once per device (rejects with the compiler's message). */
  static async get(device: GPUDevice, k: number, dim: number, act: WgslAct = 'f32'): Promise<TopKProgram> {
    const program = new TopKProgram(device, { k, dim, workgroupSize: WORKGROUP_SIZE, act });
    await Runner.of(device).compile(program);
    return program;
  }

  /** The program for `params` on `device` (its pipeline built when first dispatched). */
  constructor(
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
    const { k, dim } = this.params;
    if ((this.params.act ?? 'f32') !== 'f32') {
      throw new TypeError(
        `TopKProgram.run: tfjs tensors are float32; this program's hidden is ${this.params.act}`,
      );
    }
    const [U] = hidden.shape;
    const C = items.shape[0];
    const ids = allocTensor<tf.Rank.R2>([U, k], 'int32');
    const scores = allocTensor<tf.Rank.R2>([U, k], 'float32');
    const offsets = createBufferFrom(device, seen?.offsets ?? new Int32Array(U + 1));
    const seenItems = createBufferFrom(
      device,
      seen && seen.items.length > 0 ? seen.items : new Int32Array(1),
    );
    try {
      const steps = wgslTopK(device, {
        hidden: { buffer: tensorBuffer(hidden) },
        rowStride: dim,
        offset: 0,
        items: { buffer: tensorBuffer(items) },
        U,
        C,
        D: dim,
        k,
        ...(seen
          ? { seen: { offsets: { buffer: offsets }, items: { buffer: seenItems }, nnz: seen.items.length } }
          : {}),
        ids: { buffer: ids.buffer },
        outScores: { buffer: scores.buffer },
        program: this,
      });
      flushTfjs();
      if (poison) {
        const nan = new Uint32Array(U * k).fill(0x7fc00000);
        device.queue.writeBuffer(ids.buffer, 0, nan);
        device.queue.writeBuffer(scores.buffer, 0, nan);
      }
      Runner.of(device).submit(steps, this.key);
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
  return `topk_${p.k}_${p.dim}_${p.workgroupSize}_${p.act ?? 'f32'}`;
}

/** Arguments of {@link wgslTopK} (as CudaTopKArgs; the fused kernel needs no scratch). */
export interface WgslTopKArgs {
  /** User u's vector is hidden[offset + u·rowStride + d], d < D (elements of `act`). */
  hidden: WgslView;
  /** Elements between consecutive users' vectors (D for [U, D]; L·D for the last position of [U, L, D]). */
  rowStride: number;
  /** Element offset of user 0's vector. */
  offset: number;
  /** float32 [C, D]. */
  items: WgslView;
  U: number;
  C: number;
  D: number;
  k: number;
  /** CSR seen lists (sorted ascending, unique per user): int32 offsets [U + 1] and items (nnz entries). */
  seen?: { offsets: WgslView; items: WgslView; nnz: number };
  /** int32 [U, k] out: item ids best first, −1 past a user's candidates. */
  ids: WgslView;
  /** float32 [U, k] out: their scores, −∞ where the id is −1. */
  outScores: WgslView;
  /** Storage of hidden: 'f32' (default) or 'f16' (needs 'shader-f16'); items, ids, scores as above. */
  act?: WgslAct;
  /** The program to dispatch (its k, D and act must match; default: a fresh one). */
  program?: TopKProgram;
}

/** The top-k dispatch: one workgroup per user (looping past the dispatch limit). */
export function wgslTopK(device: GPUDevice, a: WgslTopKArgs): Step[] {
  const op = 'wgslTopK';
  const act = a.act ?? 'f32';
  checkInt(op, 'U', a.U, 0, 2 ** 31 - 1);
  checkInt(op, 'C', a.C, 1, 2 ** 31 - 1);
  checkInt(op, 'D', a.D, 1, 2 ** 16);
  checkInt(op, 'k', a.k, 1, TOPK_WGSL_MAX_K);
  checkInt(op, 'rowStride', a.rowStride, 0);
  checkInt(op, 'offset', a.offset, 0);
  if (a.C * a.D > 2 ** 32 - 4)
    throw new RangeError(`${op}: C·D = ${a.C * a.D} exceeds the 32-bit element index`);
  if (a.U > 0 && a.offset + (a.U - 1) * a.rowStride + a.D > 2 ** 32 - 4)
    throw new RangeError(`${op}: the last user's vector ends past the 32-bit element index`);
  if (a.U * a.k > 2 ** 32 - 4)
    throw new RangeError(`${op}: U·k = ${a.U * a.k} exceeds the 32-bit element index`);
  const why = topKWgslUnsupported(device, a.k, a.D);
  if (why) throw new RangeError(`${op}: ${why}`);
  const program =
    a.program ?? new TopKProgram(device, { k: a.k, dim: a.D, workgroupSize: WORKGROUP_SIZE, act });
  const p = program.params;
  if (p.k !== a.k || p.dim !== a.D || (p.act ?? 'f32') !== act) {
    throw new RangeError(
      `${op}: program is for k ${p.k}, D ${p.dim}, ${p.act ?? 'f32'}; the call is k ${a.k}, D ${a.D}, ${act}`,
    );
  }
  if (a.U === 0) return [];
  const nnz = a.seen?.nnz ?? 0;
  if (a.seen) checkInt(op, 'seen.nnz', nnz, 0);
  const b = new Binder(device, op, TOPK_BUFFERS, act)
    .view('hidden', a.hidden, a.offset + (a.U - 1) * a.rowStride + a.D)
    .view('table', a.items, a.C * a.D)
    .view('seenOffsets', a.seen?.offsets, a.U + 1)
    .view('seenItems', a.seen && nnz > 0 ? a.seen.items : undefined, nnz)
    .view('outIds', a.ids, a.U * a.k)
    .view('outScores', a.outScores, a.U * a.k);
  return [
    {
      program,
      params: b.with({
        users: a.U,
        items: a.C,
        hasSeen: a.seen ? 1 : 0,
        rowStride: a.rowStride,
        offset: a.offset,
      }),
      buffers: b.buffers,
      // One workgroup per user, looping with the dispatch's stride past the x limit.
      units: Math.max(1, Math.min(a.U, device.limits.maxComputeWorkgroupsPerDimension)),
    },
  ];
}
