import * as tf from '@tensorflow/tfjs';
import { checkShapes, checkValuesSync } from './check-inputs.js';
import type { CceOptions, ResolvedCceOptions } from './options.js';
import { getImplementation } from './registry.js';
import { resolveOptions } from './resolve.js';

/**
 * The CCE- loss of hidden [N, D] against items [C, D] for targets [N] int32 → a scalar ('mean',
 * 'sum') or per-row losses [N] ('none'), differentiable with respect to hidden and items.
 *
 * Computes the loss contract of DESIGN.md: for each row with a target other than ignoreIndex,
 * loss_i = logsumexp(pos_i, s_i0 … s_i,K-1) − pos_i over K sampled negatives (or over the whole
 * catalog with `negatives: 'all'`). Works with tf.grad, tf.variableGrads and optimizers, and
 * inside tf.tidy. The implementation is `options.impl` ('auto': 'wgsl' on the WebGPU backend
 * when registered, else 'tfjs').
 */
export function cceLoss(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  options?: CceOptions & { reduction?: 'mean' | 'sum' },
): tf.Scalar;
export function cceLoss(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  options: CceOptions & { reduction: 'none' },
): tf.Tensor1D;
export function cceLoss(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  options?: CceOptions,
): tf.Scalar | tf.Tensor1D;
export function cceLoss(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  options?: CceOptions,
): tf.Scalar | tf.Tensor1D {
  const shapes = checkShapes(hidden, items, targets);
  const o = resolveOptions(options, shapes, tf.getBackend());
  if (o.checkInputs) checkValuesSync(hidden, items, targets, shapes.C, o.ignoreIndex);
  const impl = getImplementation(o.impl);
  return cceOp(impl, targets, o)(hidden, items);
}

/** The customGrad op of one call: forward by `impl`, backward by `impl` from the saved lse. */
function cceOp(
  impl: ReturnType<typeof getImplementation>,
  targets: tf.Tensor1D,
  o: ResolvedCceOptions,
): (hidden: tf.Tensor2D, items: tf.Tensor2D) => tf.Scalar | tf.Tensor1D {
  const f = (hidden: tf.Tensor, items: tf.Tensor, save: tf.GradSaveFunc) => {
    const h = hidden as tf.Tensor2D;
    const w = items as tf.Tensor2D;
    const { loss, lse } = impl.forward(h, w, targets, o);
    // mean: Σ loss / count of valid rows (0 when none); loss is already 0 on ignored rows
    const value: tf.Tensor =
      o.reduction === 'none'
        ? loss
        : o.reduction === 'sum'
          ? tf.sum(loss)
          : tf.div(tf.sum(loss), validCount(targets, o.ignoreIndex));
    save([h, w, lse]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hs, ws, lseSaved] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const valid = validMask(targets, o.ignoreIndex);
        const scale = o.reduction === 'mean' ? tf.div(valid, validCount(targets, o.ignoreIndex)) : valid;
        const dLoss = tf.mul(scale, dy) as tf.Tensor1D;
        const { dHidden, dItems } = impl.backward(hs, ws, targets, lseSaved, dLoss, o);
        return [dHidden, dItems];
      },
    };
  };
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    hidden: tf.Tensor2D,
    items: tf.Tensor2D,
  ) => tf.Scalar | tf.Tensor1D;
}

/** 1 where the target is not ignoreIndex, else 0, as float32 [N]. */
function validMask(targets: tf.Tensor1D, ignoreIndex: number): tf.Tensor1D {
  return tf.cast(tf.notEqual(targets, tf.scalar(ignoreIndex, 'int32')), 'float32') as tf.Tensor1D;
}

/** max(1, number of valid rows), so that an all-ignored batch has mean 0. */
function validCount(targets: tf.Tensor1D, ignoreIndex: number): tf.Scalar {
  return tf.maximum(tf.sum(validMask(targets, ignoreIndex)), 1);
}
