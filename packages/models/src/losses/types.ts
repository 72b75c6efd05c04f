/** The loss option of the training step: one field picks full CE, CCE-, BCE or gBCE. */
import type { CceImpl } from '@cutrec/kernels';
import type { AliasTable, SamplerKind, Share } from '@cutrec/sampler';
import type * as tf from '@tensorflow/tfjs';

/** Full-catalog cross-entropy: `cceLoss(..., { negatives: 'all' })`. */
export interface CeLoss {
  kind: 'ce';
  /** Loss implementation (see @cutrec/kernels). Default 'auto'. */
  impl?: CceImpl;
  /** Rows per chunk of the 'tfjs' implementation. */
  chunkSize?: number;
}

/** Sampled cross-entropy with K negatives drawn inside the kernel (fresh each step: stream = step). */
export interface CceMinusLoss {
  kind: 'cce-';
  /** K ≥ 1 negatives per row (or per group of rows when shared). */
  negatives: number;
  /** Default 'row'. */
  share?: Share;
  /** Rows per group when share is 'block'. Default 64. */
  blockRows?: number;
  /** Default 'uniform'. */
  sampler?: SamplerKind | { kind: 'popularity'; table: AliasTable };
  /** Default true. */
  logQ?: boolean;
  /** Default true. */
  removeAccidentalHits?: boolean;
  /** Default 'auto'. */
  impl?: CceImpl;
  chunkSize?: number;
}

/** Binary cross-entropy with uniform sampled negatives (SASRec's original loss: K = 1). */
export interface BceLoss {
  kind: 'bce';
  /** Negatives per row. Default 1. */
  negatives?: number;
  /** A negative equal to the row's target contributes nothing. Default true. */
  removeAccidentalHits?: boolean;
}

/** gBCE (Petrov & Macdonald 2023): BCE with the positive probability raised to β = α(t(1 − 1/α) + 1/α), α = K/(C − 1). */
export interface GbceLoss {
  kind: 'gbce';
  /** Negatives per row K ≥ 1. */
  negatives: number;
  /** Calibration t in [0, 1]: 0 is plain BCE, 1 gives β = α. */
  t: number;
  /** Default true. */
  removeAccidentalHits?: boolean;
}

/**
 * A loss given as a function of the step's hidden states [N, D], item table [C, D] and targets [N]
 * (tfjs engine only; not saved in checkpoints): for benchmarks (e.g. a trivial loss that times the
 * model body alone) and experiments.
 */
export interface CustomLoss {
  kind: 'custom';
  fn: (
    hidden: tf.Tensor2D,
    items: tf.Tensor2D,
    targets: tf.Tensor1D,
    ctx: { seed: number; step: number; ignoreIndex: number; hostTargets?: Int32Array },
  ) => tf.Scalar;
}

/** Which loss a training step minimises. */
export type LossSpec = CeLoss | CceMinusLoss | BceLoss | GbceLoss | CustomLoss;

/** Checks a loss spec; throws naming the field and its limit. */
export function checkLossSpec(spec: LossSpec): void {
  const kind = (spec as { kind?: unknown })?.kind;
  if (kind !== 'ce' && kind !== 'cce-' && kind !== 'bce' && kind !== 'gbce' && kind !== 'custom') {
    throw new RangeError(
      `loss.kind must be 'ce', 'cce-', 'bce', 'gbce' or 'custom', got ${JSON.stringify(kind)}`,
    );
  }
  if (spec.kind === 'custom') {
    if (typeof spec.fn !== 'function')
      throw new TypeError("loss.fn must be a function for loss.kind 'custom'");
    return;
  }
  if (spec.kind === 'ce') return;
  const k = spec.negatives ?? 1;
  if (!Number.isInteger(k) || k < 1 || k > 0xffffffff) {
    throw new RangeError(`loss.negatives must be an integer in [1, 2^32) for '${spec.kind}', got ${k}`);
  }
  if (spec.kind === 'gbce' && !(spec.t >= 0 && spec.t <= 1)) {
    throw new RangeError(`loss.t (gBCE calibration) must be in [0, 1], got ${spec.t}`);
  }
}
