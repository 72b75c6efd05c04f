import { webgpuForTests } from '@cutrec/tensor/testing';
import { describeContract } from './contract.js';

// The fused WebGPU implementation against the float64 reference, on the suite's awkward sizes.
const { device } = await webgpuForTests();
describeContract('wgsl', { backend: 'webgpu', device });
