import type { SamplerSpec } from '@cutrec/sampler';
import type { ResolvedCceOptions } from '../options.js';
import { groupNegatives, logKq } from '../sampling.js';

/** Bytes the largest per-chunk intermediates may take when `chunkSize` is not given. */
export const CHUNK_BUDGET_BYTES = 64 * 2 ** 20;

/** One chunk of rows: rows r0 … r0+rows-1, forming G groups of B rows (the last one maybe partial). */
export interface Chunk {
  r0: number;
  rows: number;
  g0: number;
  G: number;
  B: number;
}

/** Rows per group in a chunk of `rows` rows: 1 ('row'), blockRows ('block'), the whole chunk ('batch'). */
function rowsPerGroup(o: ResolvedCceOptions, rows: number): number {
  return o.share === 'row' ? 1 : o.share === 'block' ? o.blockRows : rows;
}

/**
 * Rows per chunk: `o.chunkSize` (rounded down to whole blocks for share 'block'), else the most
 * rows whose logits, softmax and gathered negative embeddings stay under CHUNK_BUDGET_BYTES.
 */
export function chunkRows(o: ResolvedCceOptions, N: number, C: number, D: number): number {
  const f = 4;
  let rows: number;
  if (o.negatives === 'all') {
    rows = o.chunkSize ?? Math.floor(CHUNK_BUDGET_BYTES / (3 * C * f));
  } else {
    const K = o.negatives;
    if (o.share === 'block') {
      const B = o.blockRows;
      const blocks = o.chunkSize
        ? Math.floor(o.chunkSize / B)
        : Math.floor(CHUNK_BUDGET_BYTES / ((K * D + 3 * B * K + B * D) * f));
      rows = Math.max(1, blocks) * B;
    } else if (o.share === 'row') {
      rows = o.chunkSize ?? Math.floor(CHUNK_BUDGET_BYTES / (K * (D + 3) * f));
    } else {
      rows = o.chunkSize ?? Math.floor(CHUNK_BUDGET_BYTES / ((3 * K + D) * f));
    }
  }
  return Math.max(1, Math.min(rows, Math.max(N, 1)));
}

/** The chunks covering N rows. */
export function planChunks(o: ResolvedCceOptions, N: number, C: number, D: number): Chunk[] {
  const size = chunkRows(o, N, C, D);
  const chunks: Chunk[] = [];
  for (let r0 = 0; r0 < N; r0 += size) {
    const rows = Math.min(size, N - r0);
    const B = rowsPerGroup(o, rows);
    const g0 = o.share === 'row' ? r0 : o.share === 'block' ? r0 / B : 0;
    chunks.push({ r0, rows, g0, G: Math.ceil(rows / B), B });
  }
  return chunks;
}

/** A chunk's negatives on the host: ids [G·K] and the logit shift log(K·q(n)) (0 without logQ) [G·K]. */
export interface ChunkNegatives {
  ids: Int32Array;
  shift: Float32Array;
}

/** Draws a chunk's negatives with the sampler contract (stream = step) and their logQ shifts. */
export function chunkNegatives(
  spec: SamplerSpec,
  o: ResolvedCceOptions,
  chunk: Chunk,
  K: number,
): ChunkNegatives {
  const ids = groupNegatives(spec, chunk.g0, chunk.G, K, o.step);
  const shift = o.logQ ? Float32Array.from(logKq(spec, ids, K)) : new Float32Array(ids.length);
  return { ids, shift };
}
