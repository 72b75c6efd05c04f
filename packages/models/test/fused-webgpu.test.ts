/**
 * The engine contract (DESIGN.md) on WebGPU (lavapipe in CI): from the same parameters, batch,
 * seed and step, one step of the fused engine over the WGSL kernels (WebGpuDevice) equals one
 * step of the tfjs engine (CPU backend) — the loss, every gradient and every updated parameter
 * within 1e-4 of the largest magnitude — on the shared cases of fused-cases.ts, and three steps'
 * losses agree; no WebGPU validation error. Skipped with the reason where there is no WebGPU adapter (failed under CI=true).
 */
import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebGpuDevice } from '../src/index.js';
import { cases, expectSameSteps } from './fused-cases.js';

const { device, skipReason } = await webgpuForTests();

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

describe.skipIf(skipReason !== undefined)('fused engine on WebGPU = tfjs engine', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = device as GPUDevice;
      gpu.pushErrorScope('validation');
      await expectSameSteps(c, 'fused-webgpu', () => new WebGpuDevice(gpu), 1e-4);
      const err = await gpu.popErrorScope();
      expect(err?.message, 'no WebGPU validation error').toBeUndefined();
    });
  }
});
