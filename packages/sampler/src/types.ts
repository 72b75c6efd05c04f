/** Which rows share negatives: every row its own ('row'), blocks of `blockRows` rows ('block'), or the whole batch ('batch'). */
export type Share = 'row' | 'block' | 'batch';

/** The sampling distributions cutrec offers. */
export type SamplerKind = 'uniform' | 'popularity' | 'inBatch';

/**
 * An alias table (Vose) over C items, as uploaded to a GPU: column `col` is picked from w0 as
 * high32(w0 · C); the draw is `col` when w1 < prob[col], else alias[col]. `q[c]` is the exact
 * probability the table encodes (float64), `logQ[c]` its natural log as float32 for kernels.
 */
export interface AliasTable {
  numItems: number;
  prob: Uint32Array;
  alias: Uint32Array;
  q: Float64Array;
  logQ: Float32Array;
}

/** Common fields of a sampler spec (DESIGN.md, "The sampling contract"). */
interface SpecBase {
  /** Catalog size C ≥ 1. */
  numItems: number;
  /** Integer seed in [0, 2^53). */
  seed: number;
  /** Default 'row'. */
  share?: Share;
  /** Rows per group when share is 'block' (≥ 1). */
  blockRows?: number;
}

export interface UniformSpec extends SpecBase {
  kind: 'uniform';
}

export interface PopularitySpec extends SpecBase {
  kind: 'popularity';
  /** A table from `buildAliasTable`; its numItems must equal `numItems`. */
  table: AliasTable;
}

export interface InBatchSpec extends SpecBase {
  kind: 'inBatch';
  /** The batch's targets (rows equal to `ignoreIndex` are not candidates). */
  targets: ArrayLike<number>;
  /** Default -1. */
  ignoreIndex?: number;
}

/** What `negatives(spec, rows, K, stream)` and the kernels take. */
export type SamplerSpec = UniformSpec | PopularitySpec | InBatchSpec;
