import { webgpuForTests } from '@cutrec/tensor/testing';
import { describeContract } from './contract.js';

// The portable 'tfjs' implementation on tfjs's WebGPU backend (lavapipe in CI). The inBatch
// sampler needs the targets on the host, which 'webgpu' cannot read synchronously in Node.
const { device } = await webgpuForTests();
describeContract('tfjs', {
  backend: 'webgpu',
  device,
  unsupported: (c) =>
    c.options.sampler === 'inBatch'
      ? "inBatch needs a synchronous read of targets, which 'webgpu' lacks"
      : undefined,
});
