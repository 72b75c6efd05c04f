/**
 * The WebGPU dropout mask as a tfjs tensor: runs @cutrec/kernels' `DropoutMaskProgram` (its WGSL
 * runner, one pipeline per device) into a fresh tfjs-owned buffer, so training on WebGPU needs
 * no host random numbers; `dropoutMaskHost` computes the same mask on the host.
 */
import { type DropoutDraw, DropoutMaskProgram as MaskKernel, Runner } from '@cutrec/kernels';
import { allocTensor, flushTfjs } from '@cutrec/tensor';
import type * as tf from '@tensorflow/tfjs';

/** The dropout-mask kernel of one device, producing tfjs tensors. */
export class DropoutMaskProgram {
  private static readonly cache = new WeakMap<GPUDevice, DropoutMaskProgram>();
  readonly shaderKey = 'dropout/mask';

  /** The program of `device` (its pipeline is built once, on first use). */
  static get(device: GPUDevice): DropoutMaskProgram {
    let p = DropoutMaskProgram.cache.get(device);
    if (!p) {
      p = new DropoutMaskProgram(device);
      DropoutMaskProgram.cache.set(device, p);
    }
    return p;
  }

  private constructor(private readonly device: GPUDevice) {}

  /** A new tfjs tensor of `shape` holding the mask for (rate, draw). */
  run(shape: number[], rate: number, draw: DropoutDraw): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const { tensor, buffer } = allocTensor(shape, 'float32');
    if (n === 0) return tensor;
    const d = MaskKernel.dispatch(n, rate, draw);
    flushTfjs();
    Runner.of(this.device).submit([{ ...d, buffers: [buffer] }], this.shaderKey);
    return tensor;
  }
}
