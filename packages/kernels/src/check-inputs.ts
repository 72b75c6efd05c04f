/**
 * Input checks of `cceLoss`: shapes and dtypes (metadata only, always), and values — NaN/±Infinity
 * in hidden and items, target ids outside [0, C) other than ignoreIndex — which need a read.
 */
import * as tf from '@tensorflow/tfjs';
import type { CceOptions } from './options.js';
import { type CceShapes, resolveOptions } from './resolve.js';

/** Checks ranks, dtypes and matching sizes; returns N, C, D. Throws naming the argument. */
export function checkShapes(hidden: tf.Tensor, items: tf.Tensor, targets: tf.Tensor): CceShapes {
  const is = (t: unknown) => t instanceof tf.Tensor;
  if (!is(hidden)) throw new TypeError('cceLoss: hidden must be a tf.Tensor [N, D] float32');
  if (!is(items)) throw new TypeError('cceLoss: items must be a tf.Tensor [C, D] float32');
  if (!is(targets)) throw new TypeError('cceLoss: targets must be a tf.Tensor [N] int32');
  if (hidden.rank !== 2)
    throw new RangeError(`cceLoss: hidden must have rank 2 [N, D], got shape [${hidden.shape}]`);
  if (items.rank !== 2)
    throw new RangeError(`cceLoss: items must have rank 2 [C, D], got shape [${items.shape}]`);
  if (targets.rank !== 1)
    throw new RangeError(`cceLoss: targets must have rank 1 [N], got shape [${targets.shape}]`);
  if (hidden.dtype !== 'float32') throw new TypeError(`cceLoss: hidden must be float32, got ${hidden.dtype}`);
  if (items.dtype !== 'float32') throw new TypeError(`cceLoss: items must be float32, got ${items.dtype}`);
  if (targets.dtype !== 'int32') throw new TypeError(`cceLoss: targets must be int32, got ${targets.dtype}`);
  const [N, D] = hidden.shape as [number, number];
  const [C, Di] = items.shape as [number, number];
  if (Di !== D)
    throw new RangeError(`cceLoss: items has D = ${Di} columns but hidden has D = ${D}; they must match`);
  if (targets.shape[0] !== N) {
    throw new RangeError(
      `cceLoss: targets has length ${targets.shape[0]} but hidden has N = ${N} rows; they must match`,
    );
  }
  if (C < 1) throw new RangeError('cceLoss: items must have at least one row (C ≥ 1), got C = 0');
  if (D < 1) throw new RangeError('cceLoss: hidden and items must have D ≥ 1 columns, got D = 0');
  return { N, C, D };
}

function nonFiniteMessage(name: string): string {
  return `cceLoss: ${name} contains NaN or ±Infinity`;
}

function badTargetMessage(i: number, t: number, C: number, ignoreIndex: number): string {
  return `cceLoss: targets[${i}] = ${t} is outside [0, C = ${C}) and is not ignoreIndex (${ignoreIndex})`;
}

function firstBadTarget(values: ArrayLike<number>, C: number, ignoreIndex: number): number {
  for (let i = 0; i < values.length; i++) {
    const t = values[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= C)) return i;
  }
  return -1;
}

function nonFinite(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(x))) as tf.Scalar);
}

/** The value checks with synchronous reads (any backend but 'webgpu' in Node). */
export function checkValuesSync(
  hidden: tf.Tensor,
  items: tf.Tensor,
  targets: tf.Tensor,
  C: number,
  ignoreIndex: number,
): void {
  for (const [name, x] of [
    ['hidden', hidden],
    ['items', items],
  ] as const) {
    const bad = nonFinite(x);
    const flag = bad.dataSync()[0];
    bad.dispose();
    if (flag) throw new RangeError(nonFiniteMessage(name));
  }
  const values = targets.dataSync();
  const i = firstBadTarget(values, C, ignoreIndex);
  if (i >= 0) throw new RangeError(badTargetMessage(i, values[i]!, C, ignoreIndex));
}

/**
 * Checks `cceLoss`'s inputs and options on any backend with asynchronous reads (the way to check
 * on 'webgpu', where `cceLoss` cannot read synchronously). Resolves when they are valid; rejects
 * with an error naming the argument and the limit.
 */
export async function checkCceInputs(
  hidden: tf.Tensor,
  items: tf.Tensor,
  targets: tf.Tensor,
  options?: CceOptions,
): Promise<void> {
  const shapes = checkShapes(hidden, items, targets);
  const o = resolveOptions({ ...options, checkInputs: false }, shapes, tf.getBackend());
  for (const [name, x] of [
    ['hidden', hidden],
    ['items', items],
  ] as const) {
    const bad = nonFinite(x);
    const flag = (await bad.data())[0];
    bad.dispose();
    if (flag) throw new RangeError(nonFiniteMessage(name));
  }
  const values = await targets.data();
  const i = firstBadTarget(values, shapes.C, o.ignoreIndex);
  if (i >= 0) throw new RangeError(badTargetMessage(i, values[i]!, shapes.C, o.ignoreIndex));
}
