import type { AliasTable, SamplerKind, Share } from '@cutrec/sampler';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';

/** Which implementation computes the loss. */
export type CceImpl = 'auto' | 'reference' | 'tfjs' | 'wgsl' | 'cuda';

/** Options of `cceLoss` (DESIGN.md, "The loss contract"). */
export interface CceOptions {
  /** K sampled negatives per row, or 'all' for full-catalog cross-entropy. Default 'all'. */
  negatives?: number | 'all';
  /** Which rows share negatives. Default 'row'. */
  share?: Share;
  /** Rows per block when share is 'block'. Default 64. */
  blockRows?: number;
  /** The distribution of negatives: a kind, or a prebuilt popularity alias table. Default 'uniform'. */
  sampler?: SamplerKind | { kind: 'popularity'; table: AliasTable };
  /** Integer seed in [0, 2^53). Default 0. */
  seed?: number;
  /** The stream (training step) so each step draws fresh negatives. Default 0. */
  step?: number;
  /** Subtract log(K·q(n)) from each negative's logit. Default true. */
  logQ?: boolean;
  /** Mask a negative equal to the row's target. Default true. */
  removeAccidentalHits?: boolean;
  /** A target equal to this marks a row that contributes nothing. Default -1. */
  ignoreIndex?: number;
  /** Default 'mean'. */
  reduction?: 'mean' | 'sum' | 'none';
  /** Default 'auto': 'wgsl' on the WebGPU backend, else 'tfjs'. */
  impl?: CceImpl;
  /** Rows per chunk for the 'tfjs' implementation (bounds its memory). Default: chosen from C, D, K. */
  chunkSize?: number;
  /**
   * Read the inputs to check for NaN/±Infinity and target ids outside [0, C). These checks need a
   * synchronous read, which tfjs's WebGPU backend does not offer in Node: default true on every
   * backend but 'webgpu', false there (use `await checkCceInputs(...)` instead). Shapes and dtypes
   * are always checked.
   */
  checkInputs?: boolean;
}

/** Options with every default filled in and checked; what implementations receive. */
export interface ResolvedCceOptions {
  negatives: number | 'all';
  share: Share;
  blockRows: number;
  sampler: SamplerKind;
  aliasTable: AliasTable | undefined;
  seed: number;
  step: number;
  logQ: boolean;
  removeAccidentalHits: boolean;
  ignoreIndex: number;
  reduction: 'mean' | 'sum' | 'none';
  impl: Exclude<CceImpl, 'auto'>;
  chunkSize: number | undefined;
  checkInputs: boolean;
}

/** Forward result of an implementation: per-row loss (0 for ignored rows) and per-row log-sum-exp. */
export interface CceForwardResult {
  /** [N] float32: loss_i, 0 where the target is ignoreIndex. */
  loss: Tensor1D;
  /** [N] float32: logsumexp_i (anything for ignored rows); what backward recomputes from. */
  lse: Tensor1D;
}

/** Gradients of sum_i dLoss_i · loss_i with respect to hidden and items. */
export interface CceGradients {
  dHidden: Tensor2D;
  dItems: Tensor2D;
}

/**
 * One implementation of the loss contract on tfjs tensors. `forward` and `backward` are
 * synchronous (tfjs's customGrad needs that). `dLoss` [N] is the upstream gradient per row,
 * already scaled for the reduction and 0 for ignored rows.
 */
export interface CceImplementation {
  name: Exclude<CceImpl, 'auto'>;
  forward(hidden: Tensor2D, items: Tensor2D, targets: Tensor1D, o: ResolvedCceOptions): CceForwardResult;
  backward(
    hidden: Tensor2D,
    items: Tensor2D,
    targets: Tensor1D,
    lse: Tensor1D,
    dLoss: Tensor1D,
    o: ResolvedCceOptions,
  ): CceGradients;
}
