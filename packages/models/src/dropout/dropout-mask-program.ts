/**
 * The WebGPU dropout-mask program: writes a [shape] float32 mask (0 or 1/(1 − rate)) from Philox
 * on the device, so training on WebGPU needs no host random numbers; @cutrec/kernels'
 * `dropoutMaskHost` computes the same mask on the host (the reference its test compares with).
 */
import { type DropoutDraw, keepThreshold } from '@cutrec/kernels';
import { seedKey } from '@cutrec/sampler';
import { allocTensor, createBufferFrom, flushTfjs } from '@cutrec/tensor';
import type * as tf from '@tensorflow/tfjs';
import { DROPOUT_WORKGROUP_SIZE, dropoutMaskWGSL } from './dropout-mask.wgsl.js';

/** The compiled dropout-mask kernel of one device. */
export class DropoutMaskProgram {
  private static readonly cache = new WeakMap<GPUDevice, DropoutMaskProgram>();
  readonly shaderKey = 'dropout_mask';
  private readonly pipeline: GPUComputePipeline;

  /** The program of `device`, compiled once. */
  static get(device: GPUDevice): DropoutMaskProgram {
    let p = DropoutMaskProgram.cache.get(device);
    if (!p) {
      p = new DropoutMaskProgram(device);
      DropoutMaskProgram.cache.set(device, p);
    }
    return p;
  }

  private constructor(private readonly device: GPUDevice) {
    const module = device.createShaderModule({ code: dropoutMaskWGSL(), label: this.shaderKey });
    this.pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: this.shaderKey,
    });
  }

  /** A new tfjs tensor of `shape` holding the mask for (rate, draw). */
  run(shape: number[], rate: number, draw: DropoutDraw): tf.Tensor {
    const device = this.device;
    const n = shape.reduce((a, b) => a * b, 1);
    const { tensor, buffer } = allocTensor(shape, 'float32');
    if (n === 0) return tensor;
    const [k0, k1] = seedKey(draw.seed);
    const params = new ArrayBuffer(32);
    const u = new Uint32Array(params);
    u.set([n, draw.site >>> 0, draw.stream >>> 0, keepThreshold(rate), k0, k1]);
    new Float32Array(params)[6] = 1 / (1 - rate);
    const uniforms = createBufferFrom(device, new Uint8Array(params), GPUBufferUsage.UNIFORM);
    flushTfjs();
    const groups = Math.ceil(n / 4 / DROPOUT_WORKGROUP_SIZE);
    const maxX = device.limits.maxComputeWorkgroupsPerDimension;
    const x = Math.min(groups, maxX);
    const y = Math.ceil(groups / x);
    const enc = device.createCommandEncoder({ label: this.shaderKey });
    const pass = enc.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: this.pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer } },
          { binding: 1, resource: { buffer: uniforms } },
        ],
      }),
    );
    pass.dispatchWorkgroups(x, y);
    pass.end();
    device.queue.submit([enc.finish()]);
    uniforms.destroy();
    return tensor;
  }
}
