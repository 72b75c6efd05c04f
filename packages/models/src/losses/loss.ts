/** One door for every training loss: full CE and CCE- through @cutrec/kernels' `cceLoss`, BCE and gBCE here. */
import { cceLoss } from '@cutrec/kernels';
import type * as tf from '@tensorflow/tfjs';
import { gbceBeta, sampledBce } from './sampled-bce.js';
import { checkLossSpec, type LossSpec } from './types.js';

/** Where a loss draws its negatives from: the seed and the stream (the training step). */
export interface LossContext {
  seed: number;
  step: number;
  /** Default -1. */
  ignoreIndex?: number;
  /** A host copy of `targets` (saves a read-back for BCE and gBCE). */
  hostTargets?: Int32Array;
}

/**
 * The mean loss (a differentiable scalar) of hidden [N, D] against items [C, D] for targets [N]
 * int32 (`ignoreIndex` marks rows that contribute nothing) under `spec`. `targets` must stay alive
 * until the backward pass has run (create it outside `tf.variableGrads`/`tf.tidy`).
 */
export function computeLoss(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  spec: LossSpec,
  ctx: LossContext,
): tf.Scalar {
  checkLossSpec(spec);
  const ignoreIndex = ctx.ignoreIndex ?? -1;
  if (targets.rank !== 1 || targets.shape[0] !== hidden.shape[0]) {
    throw new RangeError(
      `computeLoss: targets must be [${hidden.shape[0]}], got [${targets.shape.join(', ')}]`,
    );
  }
  switch (spec.kind) {
    case 'custom':
      return spec.fn(hidden, items, targets, {
        seed: ctx.seed,
        step: ctx.step,
        ignoreIndex,
        ...(ctx.hostTargets ? { hostTargets: ctx.hostTargets } : {}),
      });
    case 'ce':
    case 'cce-': {
      return cceLoss(hidden, items, targets, {
        negatives: spec.kind === 'ce' ? 'all' : spec.negatives,
        ...(spec.kind === 'cce-'
          ? {
              share: spec.share ?? 'row',
              ...(spec.blockRows !== undefined ? { blockRows: spec.blockRows } : {}),
              ...(spec.sampler !== undefined ? { sampler: spec.sampler } : {}),
              logQ: spec.logQ ?? true,
              removeAccidentalHits: spec.removeAccidentalHits ?? true,
            }
          : {}),
        seed: ctx.seed,
        step: ctx.step,
        ignoreIndex,
        reduction: 'mean',
        impl: spec.impl ?? 'auto',
        ...(spec.chunkSize !== undefined ? { chunkSize: spec.chunkSize } : {}),
      }) as tf.Scalar;
    }
    case 'bce':
    case 'gbce': {
      const K = spec.negatives ?? 1;
      const beta = spec.kind === 'bce' ? 1 : gbceBeta(K, items.shape[0], spec.t);
      const host = ctx.hostTargets ?? (targets.dataSync() as Int32Array);
      return sampledBce(hidden, items, host, {
        negatives: K,
        beta,
        seed: ctx.seed,
        step: ctx.step,
        removeAccidentalHits: spec.removeAccidentalHits ?? true,
        ignoreIndex,
      });
    }
  }
}
