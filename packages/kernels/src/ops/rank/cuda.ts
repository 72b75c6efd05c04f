/**
 * The CUDA launcher of the rank op (rank.cu): queued on `call.stream`, never synchronising or
 * allocating, so a validation pass can be captured into a CUDA graph. Up to four launches in
 * stream order: zero ranks, the targets' scores (only with `targetScores`), the tiled count over
 * every item, the seen-list subtraction (only with `seen`).
 */
import { launch } from '@cutrec/tensor';
import { opModule } from '../module.js';
import { checkBytes, contextOf, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';

/** Seen lists on the device, as CSR (see reference.ts RankSeen): sorted ascending and unique per user. */
export interface CudaRankSeen {
  /** int32 [U + 1], offsets[0] = 0, non-decreasing. */
  offsets: DevicePtr;
  /** int32 [nnz] item ids in [0, C); ids outside are ignored (the device cannot throw). */
  items: DevicePtr;
  /** Entries of `items` (offsets[U]); when given, `items` is checked to span them. */
  nnz?: number;
}

/** Arguments of {@link cudaRankOfTargets}. */
export interface CudaRankOfTargetsArgs {
  /** `dtype` elements; user u's vector is hidden[offset + u·rowStride + d], d < D. */
  hidden: DevicePtr;
  /** Elements between consecutive users' vectors (D for [U, D]; L·D for the last position of [U, L, D]). */
  rowStride: number;
  /** Element offset of user 0's vector ((L − 1)·D for the last position of [U, L, D]). */
  offset: number;
  /** float32 [C, D]. */
  items: DevicePtr;
  /** int32 [U] in [0, C) (not checked on the device: an id outside reads out of bounds). */
  targets: DevicePtr;
  U: number;
  C: number;
  D: number;
  seen?: CudaRankSeen;
  /**
   * float32 [U] out, optional: each target's score s_y (the kernels' own float32 chain). Given, a
   * warp-per-user kernel writes it first and the counting kernels read it; omitted, they compute
   * s_y themselves with the same chain (the launcher never allocates a scratch).
   */
  targetScores?: DevicePtr;
  /** int32 [U] out: the 0-based ranks. */
  ranks: DevicePtr;
  /** Storage type of `hidden`. */
  dtype: 'float32' | 'bfloat16';
}

/** Largest D (kernels 1 and 3 stage 4 users' vectors, 16 KiB, in shared memory). */
export const RANK_MAX_D = 1024;
/** Largest C. */
export const RANK_MAX_C = 2 ** 31 - 1 - 128;

const TILE_U = 128;
const TILE_C = 128;
const WARPS = 4;
/** Blocks of kernel 2 to aim for (a few waves on a large GPU) before making chunks longer. */
const TARGET_BLOCKS = 4096;
const MAX_GRID_Y = 65535;

/** Item tiles per block and chunks (grid y) of kernel 2 for `userTiles` × `itemTiles`. */
export function rankChunks(userTiles: number, itemTiles: number): { tilesPerChunk: number; chunks: number } {
  const wanted = Math.max(1, Math.ceil(TARGET_BLOCKS / Math.max(1, userTiles)));
  let tilesPerChunk = Math.max(1, Math.ceil(itemTiles / Math.min(itemTiles, wanted)));
  tilesPerChunk = Math.max(tilesPerChunk, Math.ceil(itemTiles / MAX_GRID_Y));
  return { tilesPerChunk, chunks: Math.ceil(itemTiles / tilesPerChunk) };
}

/**
 * ranks[u] = #{ c ≠ y_u : c not in seen_u, s_c > s_y or (s_c = s_y and c < y_u) } with float32
 * scores s_c = h_u·w_c (reference.ts rankOfTargets); targetScores gets s_y. Every score is the
 * same sequential fmaf chain over d in all kernels, so exact ties stay exact.
 */
export function cudaRankOfTargets(a: CudaRankOfTargetsArgs, call: OpCall = {}): void {
  const { U, C, D, rowStride, offset, dtype } = a;
  if (!(Number.isInteger(U) && U >= 0 && U < 2 ** 31)) {
    throw new RangeError(`cudaRankOfTargets: U must be an integer in [0, 2^31), got ${U}`);
  }
  if (!(Number.isInteger(C) && C >= 1 && C <= RANK_MAX_C)) {
    throw new RangeError(`cudaRankOfTargets: C must be an integer in [1, ${RANK_MAX_C}], got ${C}`);
  }
  if (!(Number.isInteger(D) && D >= 1 && D <= RANK_MAX_D)) {
    throw new RangeError(`cudaRankOfTargets: D must be an integer in [1, ${RANK_MAX_D}], got ${D}`);
  }
  if (!(Number.isSafeInteger(rowStride) && rowStride >= 0 && Number.isSafeInteger(offset) && offset >= 0)) {
    throw new RangeError(
      `cudaRankOfTargets: rowStride, offset must be integers ≥ 0 (got ${rowStride}, ${offset})`,
    );
  }
  if (dtype !== 'float32' && dtype !== 'bfloat16') {
    throw new RangeError(`cudaRankOfTargets: dtype must be 'float32' or 'bfloat16', got ${dtype}`);
  }
  const eb = dtype === 'float32' ? 4 : 2;
  if (U > 0) checkBytes('hidden', a.hidden, (offset + (U - 1) * rowStride + D) * eb);
  checkBytes('items', a.items, C * D * 4);
  checkBytes('targets', a.targets, U * 4);
  if (a.targetScores) checkBytes('targetScores', a.targetScores, U * 4);
  checkBytes('ranks', a.ranks, U * 4);
  if (a.seen) {
    checkBytes('seen.offsets', a.seen.offsets, (U + 1) * 4);
    if (a.seen.nnz !== undefined) {
      if (!(Number.isInteger(a.seen.nnz) && a.seen.nnz >= 0)) {
        throw new RangeError(`cudaRankOfTargets: seen.nnz must be an integer ≥ 0, got ${a.seen.nnz}`);
      }
      checkBytes('seen.items', a.seen.items, a.seen.nnz * 4);
    }
  }
  if (U === 0) return;
  const m = opModule('rank', contextOf(a.ranks));
  const t = dtype === 'float32' ? 'f32' : 'bf16';
  const stream = call.stream ?? null;
  const big = [{ u64: rowStride }, { u64: offset }] as const;
  launch(m.kernel('rank_zero_i32'), { grid: Math.min(Math.ceil(U / 256), 4096), block: 256, stream }, [
    ptrArg(a.ranks),
    { i32: U },
  ]);
  const warpBlocks = Math.ceil(U / WARPS);
  const stageBytes = WARPS * D * 4;
  if (a.targetScores) {
    launch(
      m.kernel(`rank_target_${t}`),
      { grid: warpBlocks, block: WARPS * 32, sharedBytes: stageBytes, stream },
      [
        ptrArg(a.hidden),
        ...big,
        ptrArg(a.items),
        ptrArg(a.targets),
        { i32: U },
        { i32: D },
        ptrArg(a.targetScores),
      ],
    );
  }
  const userTiles = Math.ceil(U / TILE_U);
  const { tilesPerChunk, chunks } = rankChunks(userTiles, Math.ceil(C / TILE_C));
  launch(m.kernel(`rank_count_${t}`), { grid: [userTiles, chunks], block: 256, stream }, [
    ptrArg(a.hidden),
    ...big,
    ptrArg(a.items),
    ptrArg(a.targets),
    ptrArg(a.targetScores),
    { i32: U },
    { i32: C },
    { i32: D },
    { i32: tilesPerChunk },
    ptrArg(a.ranks),
  ]);
  if (a.seen) {
    launch(
      m.kernel(`rank_seen_${t}`),
      { grid: warpBlocks, block: WARPS * 32, sharedBytes: stageBytes, stream },
      [
        ptrArg(a.hidden),
        ...big,
        ptrArg(a.items),
        ptrArg(a.targets),
        ptrArg(a.targetScores),
        ptrArg(a.seen.offsets),
        ptrArg(a.seen.items),
        { i32: U },
        { i32: C },
        { i32: D },
        ptrArg(a.ranks),
      ],
    );
  }
}
