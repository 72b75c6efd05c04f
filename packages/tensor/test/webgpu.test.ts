import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allocTensor,
  createBufferFrom,
  deviceInfo,
  measurePeak,
  memoryMeter,
  readBuffer,
  setupTfjs,
  tensorBuffer,
  tensorFromBuffer,
  writeBuffer,
} from '../src/index.js';
import { webgpuForTests } from '../src/testing.js';

const { device } = await webgpuForTests();

describe.skipIf(!device)('WebGPU device', () => {
  it('reports adapter, limits and features as data', () => {
    const info = deviceInfo(device!);
    console.log(`[cutrec] WebGPU adapter: ${info.vendor} ${info.architecture} ${info.description}`);
    expect(info.api).toBe('webgpu');
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(info.limits.maxBufferSize).toBeGreaterThanOrEqual(info.limits.maxStorageBufferBindingSize!);
    expect(Array.isArray(info.features)).toBe(true);
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
  });

  it('round-trips typed arrays through device buffers, at offsets and odd lengths', async () => {
    const data = new Float32Array(1003).map((_, i) => Math.sin(i) * 1e3);
    const buf = createBufferFrom(device!, data);
    expect(Array.from(await readBuffer(device!, buf, Float32Array, 0, data.byteLength))).toEqual(
      Array.from(data),
    );
    writeBuffer(device!, buf, new Int32Array([7, -8]), 8);
    const back = await readBuffer(device!, buf, Int32Array, 8, 8);
    expect(Array.from(back)).toEqual([7, -8]);
    const odd = createBufferFrom(device!, new Uint8Array([1, 2, 3]));
    expect(Array.from(await readBuffer(device!, odd, Uint8Array, 0, 3))).toEqual([1, 2, 3]);
    expect(() => writeBuffer(device!, buf, new Float32Array(2000))).toThrow(/overrun/);
    buf.destroy();
    odd.destroy();
  });
});

describe.skipIf(!device)('tfjs on our WebGPU device', () => {
  beforeAll(async () => {
    const setup = await setupTfjs({ backend: 'webgpu', device: device! });
    expect(setup.backend).toBe('webgpu');
  });
  afterAll(async () => {
    await setupTfjs({ backend: 'cpu' });
  });

  it('runs tfjs ops and gradients on our device', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    expect((tf.backend() as unknown as { device: GPUDevice }).device).toBe(device);
    const g = tf.grad((x: tf.Tensor) => x.square().sum())(tf.tensor1d([1, 2, 3]));
    expect(Array.from(await g.data())).toEqual([2, 4, 6]);
  });

  it('tensorBuffer gives tfjs’s own buffer: a write through it is seen by the tensor (no copy)', async () => {
    const t = tf.tensor1d([1, 2, 3, 4]).add(0); // computed on the GPU
    const buf = tensorBuffer(t);
    writeBuffer(device!, buf, new Float32Array([9]), 4);
    expect(Array.from(await t.data())).toEqual([1, 9, 3, 4]);
    t.dispose();
  });

  it('tensorFromBuffer wraps a buffer: writes on either side are seen on the other (no copy)', async () => {
    const buf = createBufferFrom(device!, new Float32Array([5, 6, 7]));
    const t = tensorFromBuffer(buf, [3]);
    writeBuffer(device!, buf, new Float32Array([50]), 0);
    expect(Array.from(await t.data())).toEqual([50, 6, 7]);
    expect(tensorBuffer(t)).toBe(buf);
    const copied = tensorFromBuffer(buf, [3], 'float32', { copy: true });
    writeBuffer(device!, buf, new Float32Array([0]), 0);
    expect(Array.from(await copied.data())).toEqual([50, 6, 7]);
    t.dispose();
    copied.dispose();
    buf.destroy();
  });

  it('allocTensor hands out a tfjs-owned buffer that a kernel of ours fills', async () => {
    const { tensor, buffer } = allocTensor<tf.Rank.R2>([2, 3], 'int32');
    writeBuffer(device!, buffer, new Int32Array([1, 2, 3, 4, 5, 6]));
    expect(tensor.shape).toEqual([2, 3]);
    expect(Array.from(await tensor.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await tensor.sum().data())).toEqual([21]);
    tensor.dispose();
  });

  it('meters tfjs tensors and our own buffers, with a resettable peak', async () => {
    const meter = memoryMeter();
    const base = meter.read().current;
    const { peakExtraBytes, retainedBytes } = await measurePeak(async () => {
      const own = meter.createBuffer(device!, { size: 1 << 20, usage: GPUBufferUsage.STORAGE });
      const a = tf.ones([256, 1024]); // 1 MiB
      const b = a.mul(2); // another 1 MiB
      await b.data();
      a.dispose();
      meter.destroy(own);
      return b;
    });
    expect(peakExtraBytes).toBeGreaterThanOrEqual(3 * 2 ** 20);
    expect(retainedBytes).toBeGreaterThanOrEqual(2 ** 20);
    expect(retainedBytes).toBeLessThan(2 * 2 ** 20);
    meter.resetPeak();
    expect(meter.read().peak).toBe(meter.read().current);
    expect(meter.read().current - base).toBe(retainedBytes);
  });
});
