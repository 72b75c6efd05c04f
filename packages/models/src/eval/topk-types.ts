/** Shared types of full-catalog top-k scoring (`TopK` is @cutrec/kernels' top-k op's). */
import type { SeenItems, TopK } from '@cutrec/kernels';

export type { TopK };

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
