/** The WebGPU device tfjs runs on, when it does. */
import { currentSetup } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';

/** The GPUDevice of tfjs's active WebGPU backend (set up by @cutrec/tensor's setupTfjs), else undefined. */
export function tfjsDevice(): GPUDevice | undefined {
  const s = currentSetup();
  return s?.backend === 'webgpu' && tf.getBackend() === 'webgpu' ? s.device : undefined;
}
