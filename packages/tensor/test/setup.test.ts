import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createDevice, NoAdapterError, setupTfjs } from '../src/index.js';

describe('setupTfjs', () => {
  it('sets up the CPU backend', async () => {
    const s = await setupTfjs({ backend: 'cpu' });
    expect(s.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an unknown backend by name', async () => {
    await expect(setupTfjs({ backend: 'gl' as never })).rejects.toThrow(/options\.backend/);
  });

  it('explains how to get an adapter when there is none', async () => {
    const gpu = { requestAdapter: async () => null } as unknown as GPU;
    const err = await createDevice({ gpu }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoAdapterError);
    expect((err as Error).message).toMatch(/mesa-vulkan-drivers/);
    expect((err as Error).message).toMatch(/bookworm-backports/);
  });

  // Under CI (.ci/run installs lavapipe) or CUTREC_REQUIRE_WEBGPU=1, WebGPU is required: a CPU
  // fallback there means the WebGPU tests silently skipped, so it fails.
  const requireWebgpu = process.env.CI === 'true' || process.env.CUTREC_REQUIRE_WEBGPU === '1';
  it(`auto picks WebGPU${requireWebgpu ? ' (required: CI=true or CUTREC_REQUIRE_WEBGPU=1)' : ' where an adapter exists, else the CPU with a reason'}`, async () => {
    const s = await setupTfjs({ backend: 'auto' });
    if (requireWebgpu) {
      expect(s.backend, `fell back to the CPU: ${s.fallbackReason}`).toBe('webgpu');
      expect(tf.getBackend()).toBe('webgpu');
    } else {
      expect(['webgpu', 'cpu']).toContain(s.backend);
      if (s.backend === 'cpu') expect(s.fallbackReason).toBeTruthy();
    }
    await setupTfjs({ backend: 'cpu' });
  });
});
