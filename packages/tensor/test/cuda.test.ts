import { mulberry32, testSeed } from '@cutrec/config/testing';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/cuda/native.js';
import {
  CudaContext,
  CudaEvent,
  CudaStream,
  cudaAvailable,
  cudaDevices,
  cudaMemoryMeter,
  cudaUnavailableReason,
  DeviceBuffer,
} from '../src/index.js';

// CI and this machine have no NVIDIA GPU: the GPU tests skip with the reason printed. On the GPU
// machine, `npm run test:gpu` sets CUTREC_REQUIRE_CUDA=1 so a missing driver fails instead.
const reason = cudaUnavailableReason();
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA device tests: ${reason}`);
}

describe('CUDA bridge without a GPU', () => {
  it('the addon is built and loads (it needs no CUDA at build time)', () => {
    const { addon, reason: why } = nativeAddon();
    expect(why).toBe('');
    expect(typeof addon?.probe).toBe('function');
  });

  it.skipIf(!reason)('reports "CUDA unavailable: <reason>" and throws it on use', () => {
    expect(cudaAvailable()).toBe(false);
    expect(reason).toMatch(/^CUDA unavailable: /);
    expect(cudaDevices()).toEqual([]);
    expect(() => CudaContext.get()).toThrow(/^CUDA unavailable: /);
    expect(() => new DeviceBuffer(16)).toThrow(/CUDA unavailable/);
    expect(cudaMemoryMeter().read()).toEqual({ current: 0, peak: 0 });
  });
});

describe.skipIf(!!reason)('CUDA bridge on a GPU', () => {
  it('lists devices with their properties', () => {
    const devs = cudaDevices();
    expect(devs.length).toBeGreaterThan(0);
    const d = devs[0]!;
    console.log(
      `[cutrec] CUDA device 0: ${d.name} cc ${d.computeCapability}, ${d.smCount} SMs, ` +
        `${(d.totalMemory / 2 ** 30).toFixed(1)} GiB, L2 ${(d.l2Bytes / 2 ** 20).toFixed(0)} MiB, driver ${d.driverVersion}`,
    );
    expect(d.smCount).toBeGreaterThan(0);
    expect(d.major).toBeGreaterThanOrEqual(5);
    expect(d.totalMemory).toBeGreaterThan(2 ** 30);
    expect(d.l2Bytes).toBeGreaterThan(0);
  });

  it('round-trips small and large (pinned, chunked) copies, fills and device copies', () => {
    const rand = mulberry32(testSeed('cuda copies'));
    for (const n of [1, 1000, 5_000_001]) {
      const src = new Float32Array(n).map(() => rand());
      const b = DeviceBuffer.from(src);
      const same = (x: Float32Array) => Buffer.from(x.buffer).equals(Buffer.from(src.buffer));
      expect(same(b.readFloat32())).toBe(true);
      const c = new DeviceBuffer(b.bytes);
      c.copyFrom(b);
      expect(same(c.readFloat32())).toBe(true);
      if (n > 1) {
        c.fill32(0x7fc00000, 4, 1);
        const back = c.readFloat32();
        expect(Number.isNaN(back[1]!)).toBe(true);
        expect(back[0]).toBe(src[0]);
      }
      b.free();
      c.free();
    }
  });

  it('meters current and peak bytes, frees explicitly and rejects use after free', () => {
    const meter = cudaMemoryMeter();
    const before = meter.read().current;
    meter.resetPeak();
    const a = new DeviceBuffer(1 << 20);
    const b = new DeviceBuffer(3 << 20);
    expect(meter.read().current - before).toBe(4 << 20);
    expect(() => b.write(new Float32Array(1), b.bytes)).toThrow(/outside the allocation/);
    a.free();
    b.free();
    a.free();
    expect(meter.read().current).toBe(before);
    expect(meter.read().peak - before).toBe(4 << 20);
    expect(() => a.readFloat32(1)).toThrow(/freed/);
  });

  it('turns a driver failure into an Error with the driver error name', () => {
    let err: (Error & { code?: string }) | undefined;
    try {
      new DeviceBuffer(2 ** 52);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toMatch(/^CUDA_ERROR_/);
    expect(err?.message).toMatch(/cuMemAlloc.*CUDA_ERROR_OUT_OF_MEMORY/);
  });

  it('times with events on a stream', () => {
    const s = new CudaStream();
    const e0 = new CudaEvent().record(s);
    const e1 = new CudaEvent().record(s);
    expect(e0.elapsedMs(e1)).toBeGreaterThanOrEqual(0);
    s.synchronize();
    s.destroy();
  });
});
