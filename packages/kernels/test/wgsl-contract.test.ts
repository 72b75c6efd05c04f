import { webgpuForTests } from '@cutrec/tensor/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { describeContract } from './contract.js';

// The fused WebGPU implementation against the float64 reference, on the suite's awkward sizes.
const { device } = await webgpuForTests();
// On a software adapter with subgroups ('cpu' layout) this runs the subgroup tile kernels; the
// second run keeps the workgroup-memory tile kernels ($CUTREC_WGSL_SUBGROUPS=0, as on a GPU).
describeContract('wgsl', { backend: 'webgpu', device });
describe('without subgroups (CUTREC_WGSL_SUBGROUPS=0)', () => {
  let prev: string | undefined;
  beforeAll(() => {
    prev = process.env.CUTREC_WGSL_SUBGROUPS;
    process.env.CUTREC_WGSL_SUBGROUPS = '0';
  });
  afterAll(() => {
    if (prev === undefined) delete process.env.CUTREC_WGSL_SUBGROUPS;
    else process.env.CUTREC_WGSL_SUBGROUPS = prev;
  });
  describeContract('wgsl', { backend: 'webgpu', device });
});
