/**
 * The evaluation scratch of a fused trainer (what ranking and top-k allocate once and reuse across
 * chunks of B users and calls) and the checks their inputs share.
 */
import type { SeenItems } from '@cutrec/kernels';

/** What ranking allocates once and reuses across chunks and calls (see FusedTrainer.rankScratch). */
export interface RankScratch<B> {
  /** int32 [ranksCap]: one call's ranks, chunk after chunk (one read-back per call). */
  ranks: B;
  ranksCap: number;
  /** int32 [B]: a chunk's ranks, copied into `ranks` at the chunk's users. */
  chunk: B;
  /** Bumped whenever `inputs` is allocated again (the key of the chunk's replayable work). */
  generation: number;
  /** int32 [B + (B + 1) + seenCap]: a chunk's targets, seen offsets and seen items, one upload. */
  inputs: B;
  seenCap: number;
  /** Host staging of `inputs`' layout (copied at each upload, so reused at once). */
  host: Int32Array;
  /** A chunk's ids [R] (padding beyond its users) and the forward pass's targets [R] (all ignored). */
  ids: Int32Array;
  noTargets: Int32Array;
}

/** Items per chunk of the streamed top-k (its scratch holds B × this many scores). */
export const TOPK_CHUNK_ITEMS = 16_384;

/** What top-k allocates once and reuses (see FusedTrainer.topKScratch). */
export interface TopKScratch<B> {
  k: number;
  /** int32 / float32 [resultsCap]: one call's ids and scores, chunk after chunk. */
  resultsCap: number;
  ids: B;
  outScores: B;
  /** int32 / float32 [B·k]: a chunk's lists. */
  chunkIds: B;
  chunkScores: B;
  /** float32 [B·D] and [B·min(C, TOPK_CHUNK_ITEMS)]: the op's scratch. */
  rows: B;
  scores: B;
  /** Bumped whenever the buffers are allocated again (the key of the chunk's replayable work). */
  generation: number;
}

/** The most seen entries of any chunk of B users. */
export function largestChunkSeen(seen: SeenItems | undefined, U: number, B: number): number {
  let most = 0;
  if (seen) {
    for (let u0 = 0; u0 < U; u0 += B)
      most = Math.max(most, seen.offsets[Math.min(U, u0 + B)]! - seen.offsets[u0]!);
  }
  return most;
}

/** Throws unless `seen` is a CSR list of U users (offsets from 0 to items.length). */
export function checkSeenLists(seen: SeenItems, U: number, fn: string): void {
  const { offsets, items } = seen;
  if (offsets.length !== U + 1 || offsets[0] !== 0 || offsets[U] !== items.length) {
    throw new RangeError(
      `${fn}: seen.offsets must have U + 1 = ${U + 1} entries from 0 to seen.items.length = ${items.length}`,
    );
  }
}
