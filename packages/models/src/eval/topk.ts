/** Full-catalog top-k scoring (the public door): the fused WGSL kernel on WebGPU (@cutrec/kernels' top-k op), the chunked tfjs path elsewhere. */
import { TopKProgram, topKWgslUnsupported } from '@cutrec/kernels';
import type * as tf from '@tensorflow/tfjs';
import { tfjsDevice } from '../device.js';
import { checkSeen } from './seen.js';
import { topKTfjs } from './topk-tfjs.js';
import type { TopK, TopKOptions } from './topk-types.js';

/**
 * The top k items [U, k] per row of hidden [U, D] against items [C, D] by score h·w (best first,
 * ties to the lower item id), skipping `options.seen`; never holds a U × C score matrix.
 */
export async function topKItems(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  k: number,
  options: TopKOptions = {},
): Promise<TopK> {
  if (hidden.rank !== 2 || items.rank !== 2 || hidden.shape[1] !== items.shape[1]) {
    throw new RangeError(
      `topKItems: hidden [U, D] and items [C, D] must share D, got [${hidden.shape}] and [${items.shape}]`,
    );
  }
  if (hidden.dtype !== 'float32' || items.dtype !== 'float32') {
    throw new TypeError('topKItems: hidden and items must be float32');
  }
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`topKItems: k must be an integer ≥ 1, got ${k}`);
  const [U, D] = hidden.shape;
  const C = items.shape[0];
  if (options.seen) checkSeen(options.seen, U, C);
  const impl = options.impl ?? 'auto';
  if (impl !== 'auto' && impl !== 'tfjs' && impl !== 'wgsl') {
    throw new RangeError(
      `topKItems: options.impl must be 'auto', 'tfjs' or 'wgsl', got ${JSON.stringify(impl)}`,
    );
  }
  if (U === 0) return { items: new Int32Array(0), scores: new Float32Array(0), users: 0, k };
  const device = tfjsDevice();
  if (impl === 'wgsl' || (impl === 'auto' && device)) {
    if (!device)
      throw new Error("topKItems: impl 'wgsl' needs the WebGPU backend (setupTfjs({ backend: 'webgpu' }))");
    const why = topKWgslUnsupported(device, k, D);
    if (!why)
      return (await TopKProgram.get(device, k, D)).run(
        hidden,
        items,
        options.seen,
        options.poisonOutputs ?? false,
      );
    if (impl === 'wgsl') throw new RangeError(`topKItems: ${why}`);
  }
  return topKTfjs(hidden, items, k, options);
}
