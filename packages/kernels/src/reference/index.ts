import * as tf from '@tensorflow/tfjs';
import type { CceImplementation } from '../options.js';
import { referenceBackward } from './backward.js';
import { referenceForward } from './forward.js';
import type { HostCceInputs } from './terms.js';

export { type ReferenceGradients, referenceBackward } from './backward.js';
export { logSumExp, type ReferenceForward, referenceForward } from './forward.js';
export { type HostCceInputs, referenceNegatives } from './terms.js';

function hostInputs(hidden: tf.Tensor2D, items: tf.Tensor2D, targets: tf.Tensor1D): HostCceInputs {
  if (tf.getBackend() === 'webgpu') {
    throw new Error(
      "cceLoss: impl 'reference' reads tensors synchronously, which the 'webgpu' backend cannot do in Node; " +
        "use the 'cpu' backend, or referenceForward/referenceBackward on host arrays",
    );
  }
  const [N, D] = hidden.shape;
  return {
    hidden: hidden.dataSync(),
    items: items.dataSync(),
    targets: targets.dataSync(),
    N,
    C: items.shape[0],
    D,
  };
}

/** The float64 oracle as a `CceImplementation` (reads tensors to the host; slow; for tests). */
export const referenceImplementation: CceImplementation = {
  name: 'reference',
  forward(hidden, items, targets, o) {
    const { loss, lse } = referenceForward(hostInputs(hidden, items, targets), o);
    return { loss: tf.tensor1d(Float32Array.from(loss)), lse: tf.tensor1d(Float32Array.from(lse)) };
  },
  backward(hidden, items, targets, _lse, dLoss, o) {
    const x = hostInputs(hidden, items, targets);
    const { dHidden, dItems } = referenceBackward(x, dLoss.dataSync(), o);
    return {
      dHidden: tf.tensor2d(Float32Array.from(dHidden), [x.N, x.D]),
      dItems: tf.tensor2d(Float32Array.from(dItems), [x.C, x.D]),
    };
  },
};
