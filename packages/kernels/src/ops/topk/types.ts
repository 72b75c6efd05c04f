/** Shared types of full-catalog top-k scoring (the WGSL kernel, its reference, @cutrec/models' tfjs path). */

/** Per-user seen items in compressed sparse rows: user u's items are items[offsets[u] … offsets[u+1]). */
export interface SeenItems {
  /** [U + 1] non-decreasing, offsets[0] = 0. */
  offsets: Int32Array;
  /** Item ids, sorted ascending and unique within each user. */
  items: Int32Array;
}

/** The top k items per user, best first: score descending, ties to the lower item id. */
export interface TopK {
  /** [U·k] item ids; −1 where a user has fewer than k candidate items. */
  items: Int32Array;
  /** [U·k] scores; −Infinity where the id is −1. */
  scores: Float32Array;
  /** Users U. */
  users: number;
  k: number;
}
