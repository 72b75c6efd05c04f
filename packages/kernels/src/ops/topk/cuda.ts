/**
 * The CUDA launcher of full-catalog top-k (topk.cu): queued on `call.stream`, never synchronising
 * or allocating (the caller owns the scratch), so a recommendation pass can be captured into a
 * CUDA graph. In stream order: the users' vectors gathered into `rows` as float32, then per chunk
 * of n items a float32 GEMM rows · itemsᵀ into `scores` [U, n] (the linear op's cudaMatmul:
 * cuBLASLt, or our kernels) and topk_merge, which folds the chunk into the running lists.
 */
import { launch } from '@cutrec/tensor';
import { cudaMatmul } from '../linear/cuda.js';
import { opModule } from '../module.js';
import { bytesOf, checkBytes, contextOf, type DevicePtr, type OpCall, ptrArg, subView } from '../ptr.js';
import type { CudaRankSeen } from '../rank/cuda.js';

/** The largest k (list and candidates share 4,096 slots of shared memory per user). */
export const TOPK_CUDA_MAX_K = 1024;

/** Arguments of {@link cudaTopK}. */
export interface CudaTopKArgs {
  /** `dtype` elements; user u's vector is hidden[offset + u·rowStride + d], d < D. */
  hidden: DevicePtr;
  /** Elements between consecutive users' vectors (D for [U, D]; L·D for the last position of [U, L, D]). */
  rowStride: number;
  /** Element offset of user 0's vector. */
  offset: number;
  /** Storage type of `hidden`. */
  dtype: 'float32' | 'bfloat16';
  /** float32 [C, D]. */
  items: DevicePtr;
  U: number;
  C: number;
  D: number;
  k: number;
  /** Items left out per user (sorted ascending and unique per user, as for rank). */
  seen?: CudaRankSeen;
  /** float32 scratch [U, D]: the gathered vectors. */
  rows: DevicePtr;
  /** float32 scratch of at least U floats: one chunk's scores [U, n], n = ⌊floats / U⌋ (≤ C). */
  scores: DevicePtr;
  /** int32 [U, k] out: item ids best first, −1 past a user's candidates. */
  ids: DevicePtr;
  /** float32 [U, k] out: their scores, −∞ where the id is −1. */
  outScores: DevicePtr;
}

/** Items per chunk for a scratch of `scoreFloats` floats: a multiple of 64 (aligned item views) where it can be. */
export function topKChunk(scoreFloats: number, U: number, C: number): number {
  const n = Math.min(C, Math.floor(scoreFloats / Math.max(1, U)));
  return n >= 64 && n < C ? n - (n % 64) : n;
}

function checkTopK(a: CudaTopKArgs): void {
  const { U, C, D, k, rowStride, offset, dtype } = a;
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!(Number.isInteger(v) && v >= lo && v <= hi))
      throw new RangeError(`cudaTopK: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int('U', U, 0, 2 ** 31 - 1);
  int('C', C, 1, 2 ** 31 - 1);
  int('D', D, 1, 2 ** 16);
  int('k', k, 1, TOPK_CUDA_MAX_K);
  if (!(Number.isSafeInteger(rowStride) && rowStride >= 0 && Number.isSafeInteger(offset) && offset >= 0))
    throw new RangeError(`cudaTopK: rowStride, offset must be integers ≥ 0 (got ${rowStride}, ${offset})`);
  if (dtype !== 'float32' && dtype !== 'bfloat16')
    throw new RangeError(`cudaTopK: dtype must be 'float32' or 'bfloat16', got ${dtype}`);
  if (U === 0) return;
  checkBytes(
    'cudaTopK: hidden',
    a.hidden,
    (offset + (U - 1) * rowStride + D) * (dtype === 'float32' ? 4 : 2),
  );
  checkBytes('cudaTopK: items', a.items, C * D * 4);
  checkBytes('cudaTopK: rows', a.rows, U * D * 4);
  checkBytes('cudaTopK: ids', a.ids, U * k * 4);
  checkBytes('cudaTopK: outScores', a.outScores, U * k * 4);
  if (bytesOf(a.scores) < U * 4)
    throw new RangeError(
      `cudaTopK: scores spans ${bytesOf(a.scores)} bytes; it needs at least U·4 = ${U * 4}`,
    );
  if (a.seen) checkBytes('cudaTopK: seen.offsets', a.seen.offsets, (U + 1) * 4);
}

/**
 * The top k items per user by score h_u·w_c over all C items (reference.ts topKReference: best
 * first, ties to the lower id, seen items and −∞ scores left out, −1 / −∞ in empty slots), the
 * catalog streamed in chunks through `scores`.
 */
export function cudaTopK(a: CudaTopKArgs, call: OpCall = {}): void {
  checkTopK(a);
  const { U, C, D, k } = a;
  if (U === 0) return;
  const m = opModule('topk', contextOf(a.ids));
  const stream = call.stream ?? null;
  launch(
    m.kernel(`topk_gather_${a.dtype === 'float32' ? 'f32' : 'bf16'}`),
    { grid: Math.max(1, Math.min(Math.ceil((U * D) / 256), 4096)), block: 256, stream },
    [ptrArg(a.hidden), { u64: a.rowStride }, { u64: a.offset }, { i32: U }, { i32: D }, ptrArg(a.rows)],
  );
  const chunk = topKChunk(bytesOf(a.scores) / 4, U, C);
  for (let c0 = 0; c0 < C; c0 += chunk) {
    const n = Math.min(chunk, C - c0);
    const scores = subView(a.scores, 0, U * n * 4);
    const items = subView(a.items, c0 * D * 4, n * D * 4);
    cudaMatmul(
      {
        a: a.rows,
        b: items,
        c: scores,
        M: U,
        N: n,
        K: D,
        transA: false,
        transB: true,
        dtypeA: 'float32',
        dtypeB: 'float32',
        dtypeC: 'float32',
        precision: 'fp32',
      },
      call,
    );
    launch(m.kernel('topk_merge'), { grid: U, block: 256, stream }, [
      ptrArg(scores),
      { i32: n },
      { i32: c0 },
      { i32: U },
      { i32: k },
      ptrArg(a.seen?.offsets ?? null),
      ptrArg(a.seen?.items ?? null),
      { i32: a.seen ? 1 : 0 },
      { i32: c0 === 0 ? 1 : 0 },
      ptrArg(a.ids),
      ptrArg(a.outScores),
    ]);
  }
}
