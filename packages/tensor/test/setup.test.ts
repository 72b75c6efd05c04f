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

  it('auto picks WebGPU where an adapter exists, else the CPU with a reason', async () => {
    const s = await setupTfjs({ backend: 'auto' });
    expect(['webgpu', 'cpu']).toContain(s.backend);
    if (s.backend === 'cpu') expect(s.fallbackReason).toBeTruthy();
    await setupTfjs({ backend: 'cpu' });
  });
});
