/**
 * The fused engine's precisions in `cutrec-bench grid` (chooseGridEngine) and `cutrec-bench train`
 * (runFusedTrainBench's rows), with the machine mocked: whether CUDA is usable, and a WebGPU device
 * with or without 'shader-f16'. f16 is the fused engine on WebGPU even where CUDA is usable, bf16
 * stays CUDA-only. No step is trained: the device is a mock that records what it was asked for.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const machine = vi.hoisted(() => ({ cuda: true }));

vi.mock('@cutrec/models', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@cutrec/models')>()),
  fusedDeviceKind: () =>
    machine.cuda ? { device: 'cuda' } : { device: 'webgpu', reason: 'no NVIDIA driver' },
  createFusedDevice: vi.fn(() => {
    throw new Error('mock device');
  }),
}));

const { createFusedDevice } = await import('@cutrec/models');
const { chooseGridEngine, fusedKindFirst } = await import('../src/grid/choose.js');
const { runFusedTrainBench } = await import('../src/train/fused.js');
const { fusedMarkdown } = await import('../src/report/markdown.js');

const gpu = (...features: string[]) => ({ features: new Set(features) }) as unknown as GPUDevice;
type Req = Parameters<typeof chooseGridEngine>[0];
const req = (r: Partial<Req>): Req => ({
  engine: 'auto',
  precision: 'auto',
  fusedDevice: 'auto',
  backend: 'auto',
  ...r,
});

beforeEach(() => {
  machine.cuda = true;
  vi.mocked(createFusedDevice).mockClear();
});

describe('cutrec-bench grid --precision', () => {
  it('auto is fp32; bf16 is CUDA only', () => {
    expect(chooseGridEngine(req({}), true, true)).toMatchObject({
      engine: 'fused',
      device: 'cuda',
      precision: 'fp32',
    });
    expect(chooseGridEngine(req({ precision: 'bf16' }), true, true)).toMatchObject({
      device: 'cuda',
      precision: 'bf16',
    });
    machine.cuda = false;
    expect(chooseGridEngine(req({}), true, true)).toMatchObject({ device: 'webgpu', precision: 'fp32' });
    expect(() => chooseGridEngine(req({ precision: 'bf16' }), true, true)).toThrow(
      /--precision bf16 needs CUDA/,
    );
  });

  it('f16 is the fused engine on WebGPU, even where CUDA is usable', () => {
    const f16 = { engine: 'fused', device: 'webgpu', precision: 'f16', backend: 'webgpu' };
    for (const cuda of [true, false]) {
      machine.cuda = cuda;
      expect(fusedKindFirst(req({ precision: 'f16' })).device).toBeUndefined();
      for (const engine of ['auto', 'fused'] as const)
        expect(chooseGridEngine(req({ engine, precision: 'f16' }), true, true)).toEqual(f16);
      expect(chooseGridEngine(req({ precision: 'f16', fusedDevice: 'webgpu' }), true, true)).toEqual(f16);
    }
  });

  it('f16 names what rules it out', () => {
    const f16 =
      (r: Partial<Req>, webgpu = true, shaderF16 = true) =>
      () =>
        chooseGridEngine(req({ precision: 'f16', ...r }), webgpu, shaderF16);
    expect(f16({ engine: 'tfjs' })).toThrow(/--precision f16 needs the fused engine on WebGPU/);
    expect(f16({ fusedDevice: 'cuda' })).toThrow(/not --fused-device cuda/);
    expect(f16({ backend: 'cpu' })).toThrow(/--backend cpu rules out/);
    expect(f16({}, false)).toThrow(/no WebGPU adapter/);
    expect(f16({}, true, false)).toThrow(
      /--precision f16 needs the WebGPU adapter's 'shader-f16' feature, which this one lacks: use --precision fp32/,
    );
  });
});

describe('cutrec-bench train --engine fused --precision f16', () => {
  const options = (g: GPUDevice, precisions: ('fp32' | 'bf16' | 'f16')[]) => ({
    model: { numItems: 50, maxLen: 4, hidden: 8, numBlocks: 1, numHeads: 1 },
    batchSize: 2,
    losses: [{ name: 'ce', spec: { kind: 'ce' as const } }],
    precisions,
    warmup: 0,
    steps: 1,
    seed: 1,
    gpu: g,
  });

  it('asks createFusedDevice for f16 on WebGPU (even where CUDA is usable), bf16 and fp32 on CUDA', async () => {
    const rows = await runFusedTrainBench(options(gpu('shader-f16'), ['fp32', 'bf16', 'f16']));
    expect(vi.mocked(createFusedDevice).mock.calls.map((c) => [c[0]?.device, c[0]?.precision])).toEqual([
      ['cuda', 'fp32'],
      ['cuda', 'bf16'],
      ['webgpu', 'f16'],
    ]);
    expect(rows.map((r) => `${r.device} ${r.precision} ${r.skipped}`)).toEqual([
      'cuda fp32 error: mock device',
      'cuda bf16 error: mock device',
      'webgpu f16 error: mock device',
    ]);
    // Rows on both devices: the precision column says which.
    const md = fusedMarkdown(rows, 'tiny');
    expect(md).toMatch(/^## fused engine \(CUDA, WebGPU\), tiny/);
    expect(md).toMatch(/\| f16 \(WebGPU\) +\| ce /);
    expect(md).toMatch(/\| bf16 \(CUDA\) +\| ce /);
  });

  it('skips f16 without shader-f16 and bf16 on WebGPU, naming why', async () => {
    machine.cuda = false;
    const rows = await runFusedTrainBench(options(gpu(), ['fp32', 'bf16', 'f16']));
    expect(vi.mocked(createFusedDevice).mock.calls.map((c) => c[0]?.precision)).toEqual(['fp32']);
    expect(rows.map((r) => `${r.device} ${r.precision}`)).toEqual([
      'webgpu fp32',
      'webgpu bf16',
      'webgpu f16',
    ]);
    expect(rows[1]!.skipped).toMatch(/bf16 needs CUDA/);
    expect(rows[2]!.skipped).toMatch(/f16 needs the WebGPU adapter's 'shader-f16' feature/);
    expect(fusedMarkdown(rows, 'tiny')).toMatch(/\| f16 +\| ce .*shader-f16/);
  });
});
