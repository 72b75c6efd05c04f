/**
 * Test support shared by cutrec packages: a WebGPU device for tests, or the reason there is none.
 * Under `CI=true` a missing adapter is an error (CI must run the WebGPU tests); elsewhere the
 * caller skips with the printed reason.
 */
import { createDevice } from './webgpu/device.js';

export interface TestDevice {
  device: GPUDevice | undefined;
  skipReason: string | undefined;
}

let cached: Promise<TestDevice> | undefined;

/** A shared WebGPU device for tests; throws under CI=true where none can be had. */
export function webgpuForTests(): Promise<TestDevice> {
  cached ??= (async () => {
    try {
      return { device: await createDevice(), skipReason: undefined };
    } catch (err) {
      const reason = (err as Error).message;
      if (process.env.CI === 'true') {
        throw new Error(`CI=true and no WebGPU adapter: WebGPU tests must run in CI.\n${reason}`);
      }
      console.warn(`[cutrec] skipping WebGPU tests: ${reason.split('\n')[0]}`);
      return { device: undefined, skipReason: reason };
    }
  })();
  return cached;
}

/** A deterministic xorshift32 generator of uniforms in [0, 1) for random test cases (seed 0 acts as 1). */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
