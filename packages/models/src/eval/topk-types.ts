/** Shared types of full-catalog top-k scoring. */
import type { SeenItems } from './seen.js';

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

/** Options of top-k scoring. */
export interface TopKOptions {
  /** Items never returned per user (e.g. the user's history). */
  seen?: SeenItems;
  /** 'auto' (default): 'wgsl' on the WebGPU backend when k and D fit its limits, else 'tfjs'. */
  impl?: 'auto' | 'tfjs' | 'wgsl';
  /** Items per chunk of the 'tfjs' implementation. Default: about 4M scores per chunk. */
  chunkSize?: number;
  /** Tests: fill the fused kernel's outputs with NaN before it runs, so an unwritten element shows. */
  poisonOutputs?: boolean;
}
