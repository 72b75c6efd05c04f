/**
 * Which engine and precision a run gets (`chooseEngine`, then `onBackend` once tfjs is set up),
 * with the machine mocked: whether the fused engine runs on CUDA here, the GPU's compute
 * capability, and the WebGPU device (injected; with or without 'shader-f16'). `--precision f16`
 * is the fused engine on WebGPU even where CUDA is usable; bf16 stays CUDA-only.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const machine = vi.hoisted(() => ({
  cudaReason: undefined as string | undefined,
  major: 9,
  webGpuReason: undefined as string | undefined,
}));

vi.mock('@cutrec/models', () => ({
  createFusedDevice: vi.fn(() => ({ kind: 'webgpu', device: { dispose() {} } })),
  FusedTrainer: vi.fn(),
  fusedDeviceKind: () =>
    machine.cudaReason === undefined ? { device: 'cuda' } : { device: 'webgpu', reason: machine.cudaReason },
  fusedWebGpuUnavailableReason: () => machine.webGpuReason,
  loadCheckpoint: vi.fn(),
  loadFusedCheckpoint: vi.fn(),
  SASRec: vi.fn(),
  Trainer: vi.fn(),
  tfjsDevice: () => undefined,
}));
vi.mock('@cutrec/tensor', () => ({ cudaDevices: () => [{ major: machine.major }] }));

const { createFusedDevice } = await import('@cutrec/models');
const { chooseEngine, createEngine, onBackend } = await import('../src/engine.js');
const { ConfigError, mergeFlags, resolveTrainConfig, validateConfig } = await import('../src/config/load.js');

/** A WebGPU device with the given features (all `onBackend` reads of it). */
const gpu = (...features: string[]) => ({ features: new Set(features) }) as unknown as GPUDevice;
const f16Gpu = gpu('shader-f16', 'subgroups');

/** The config of these flags (as `cutrec train` merges them). */
const config = (flags: Record<string, unknown>) => validateConfig(mergeFlags({}, flags), flags);

/** chooseEngine, then onBackend on `backend` with `device`. */
function choose(flags: Record<string, unknown>, backend: 'webgpu' | 'cpu' = 'webgpu', device = f16Gpu) {
  const c = config(flags);
  return onBackend(c, chooseEngine(c), backend, device);
}

beforeEach(() => {
  machine.cudaReason = undefined;
  machine.major = 9;
  machine.webGpuReason = undefined;
  vi.mocked(createFusedDevice).mockClear();
});

describe('--precision in the config', () => {
  it('accepts auto (the default), fp32, bf16 and f16, and names the flag otherwise', () => {
    expect(validateConfig({}).precision).toBe('auto');
    for (const p of ['auto', 'fp32', 'bf16', 'f16'])
      expect(resolveTrainConfig(undefined, { precision: p }).precision).toBe(p);
    expect(validateConfig({ precision: 'f16' }).precision).toBe('f16');
    const flags = { precision: 'fp16' };
    expect(() => validateConfig(mergeFlags({}, flags), flags)).toThrow(ConfigError);
    expect(() => validateConfig(mergeFlags({}, flags), flags)).toThrow(
      /--precision: must be one of "auto", "fp32", "bf16", "f16", got "fp16"/,
    );
  });
});

describe('chooseEngine and onBackend', () => {
  it("'auto' precision is fp32 on CUDA and on WebGPU", () => {
    expect(choose({})).toEqual({ engine: 'fused', precision: 'fp32', device: 'cuda' });
    machine.cudaReason = 'no NVIDIA driver';
    expect(choose({})).toEqual({ engine: 'fused', precision: 'fp32', device: 'webgpu' });
    expect(choose({ engine: 'fused' })).toEqual({ engine: 'fused', precision: 'fp32', device: 'webgpu' });
    // Without shader-f16 'auto' stays fp32 and does not complain.
    expect(choose({}, 'webgpu', gpu())).toEqual({ engine: 'fused', precision: 'fp32', device: 'webgpu' });
  });

  it('--precision f16 is the fused engine on WebGPU, even where CUDA is usable', () => {
    const f16 = { engine: 'fused', precision: 'f16', device: 'webgpu' };
    for (const engine of ['auto', 'fused']) {
      machine.cudaReason = undefined;
      expect(chooseEngine(config({ engine, precision: 'f16' }))).toEqual(f16);
      expect(choose({ engine, precision: 'f16' })).toEqual(f16);
      expect(choose({ engine, precision: 'f16', backend: 'webgpu' })).toEqual(f16);
      machine.cudaReason = 'no NVIDIA driver';
      expect(choose({ engine, precision: 'f16' })).toEqual(f16);
    }
  });

  it('--precision f16 with --backend cpu names both flags', () => {
    for (const engine of ['auto', 'fused'])
      expect(() => chooseEngine(config({ engine, precision: 'f16', backend: 'cpu' }))).toThrow(
        /--precision f16 runs the fused engine on WebGPU, which --backend cpu rules out/,
      );
  });

  it('--precision f16 with a loss the fused engine does not run says so', () => {
    for (const engine of ['auto', 'fused'])
      expect(() => chooseEngine(config({ engine, precision: 'f16', sampler: 'inBatch' }))).toThrow(
        /the fused engine does not run --sampler inBatch/,
      );
  });

  it('--precision f16 without shader-f16 names the flag and the feature, and says to use fp32', () => {
    const c = config({ precision: 'f16' });
    expect(() => onBackend(c, chooseEngine(c), 'webgpu', gpu('subgroups'))).toThrow(
      /--precision f16 needs the WebGPU adapter's 'shader-f16' feature, which this one lacks: use --precision fp32/,
    );
    expect(() => onBackend(c, chooseEngine(c), 'webgpu', undefined)).toThrow(/--precision f16 .*WebGPU/);
    expect(() => onBackend(c, chooseEngine(c), 'cpu', f16Gpu)).toThrow(/--precision f16 .*WebGPU/);
  });

  it('--precision bf16 stays CUDA-only, and its error on WebGPU points to f16', () => {
    expect(choose({ precision: 'bf16' })).toEqual({ engine: 'fused', precision: 'bf16', device: 'cuda' });
    machine.major = 7;
    expect(() => chooseEngine(config({ precision: 'bf16' }))).toThrow(/compute capability 8\.0/);
    machine.cudaReason = 'no NVIDIA driver';
    expect(() => chooseEngine(config({ engine: 'fused', precision: 'bf16' }))).toThrow(
      /--engine fused --precision bf16 needs CUDA: no NVIDIA driver \(on WebGPU use --precision f16 or fp32\)/,
    );
    // auto: bf16 is not quietly dropped for the tfjs engine's fp32.
    expect(() => chooseEngine(config({ precision: 'bf16' }))).toThrow(
      /--precision bf16 needs the fused engine on CUDA: no NVIDIA driver \(on WebGPU use --precision f16 or fp32\)/,
    );
  });

  it('--engine tfjs with a fused precision names both flags; fp32 and auto are fine', () => {
    for (const precision of ['bf16', 'f16'])
      expect(() => chooseEngine(config({ engine: 'tfjs', precision }))).toThrow(
        new RegExp(
          `--precision ${precision} is the fused engine's; the tfjs engine trains in fp32: drop --precision or use --engine fused`,
        ),
      );
    for (const precision of ['auto', 'fp32'])
      expect(choose({ engine: 'tfjs', precision })).toEqual({ engine: 'tfjs', precision: null });
  });

  it('the fused engine gets its precision: f16 on WebGPU, bf16 on CUDA, fp32 by default', () => {
    const options = { loss: { kind: 'ce' as const }, optimizer: { lr: 1e-3 }, seed: 0, batchSize: 4 };
    const model = { numItems: 10, maxLen: 4 };
    createEngine({ engine: 'fused', precision: 'f16', device: 'webgpu' }, model, options);
    createEngine({ engine: 'fused', precision: 'bf16', device: 'cuda' }, model, options);
    createEngine({ engine: 'fused', precision: 'fp32', device: 'cuda' }, model, options);
    expect(vi.mocked(createFusedDevice).mock.calls.map((c) => c[0])).toEqual([
      { device: 'webgpu', precision: 'f16' },
      { device: 'cuda', precision: 'bf16' },
      { device: 'cuda', precision: 'fp32' },
    ]);
  });
});
