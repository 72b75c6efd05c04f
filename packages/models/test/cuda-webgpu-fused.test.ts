/**
 * The fused engine on CUDA and on WebGPU agree with each other where both run (`npm run test:gpu`
 * on the GPU machine, where Dawn drives the same card through Vulkan): from the same parameters,
 * batches, seed and steps, CudaDevice and WebGpuDevice (both float32) give the same loss at each
 * of three steps (the later two replay the recorded step), and after the first the same gradients,
 * parameters and Adam moments — within 1e-4 of the largest magnitude, by the rules of the tfjs
 * comparison (fused-cases.ts: gradients against 1 % of the step's largest at least, and updates
 * compared where the gradient is above float noise) — on the shared cases of fused-cases.ts. Each
 * engine is also held to the tfjs engine by its own test; this one catches a difference between
 * the two kernel sets that both contracts' tolerances would let through. Skipped, with the reason
 * printed, where either device is missing (CUTREC_REQUIRE_CUDA=1 fails without CUDA, as the
 * other CUDA tests do).
 */
import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { CudaDevice, fusedCudaUnavailableReason, WebGpuDevice, webGpuUnsupported } from '../src/index.js';
import { cases, expectSameFusedSteps } from './fused-cases.js';

const TOL = 1e-4;

const cudaReason = fusedCudaUnavailableReason();
if (cudaReason && process.env.CUTREC_REQUIRE_CUDA === '1')
  throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${cudaReason}`);
const { device: gpu, skipReason: gpuReason } = cudaReason
  ? { device: undefined, skipReason: 'no CUDA' }
  : await webgpuForTests();
const reason = cudaReason ?? gpuReason ?? (gpu ? webGpuUnsupported(gpu) : undefined);
if (reason) console.warn(`[cutrec] skipping the fused CUDA = fused WebGPU test: ${reason.split('\n')[0]}`);

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

describe.skipIf(reason !== undefined)('fused CUDA engine = fused WebGPU engine (float32)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const device = gpu as GPUDevice;
      device.pushErrorScope('validation');
      try {
        await expectSameFusedSteps(
          c,
          'cuda = webgpu',
          () => new CudaDevice({ dtype: 'float32' }),
          () => new WebGpuDevice(device),
          TOL,
        );
      } finally {
        const err = await device.popErrorScope();
        expect(err?.message, 'no WebGPU validation error').toBeUndefined();
      }
    });
  }
});
