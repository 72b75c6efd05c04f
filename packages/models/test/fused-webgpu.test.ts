/**
 * The engine contract (DESIGN.md) on WebGPU (lavapipe in CI): from the same parameters, batch,
 * seed and step, one step of the fused engine over the WGSL kernels (WebGpuDevice) equals one
 * step of the tfjs engine (CPU backend) — the loss, every gradient and every updated parameter
 * within 1e-4 of the largest magnitude — on the shared cases of fused-cases.ts, and three steps'
 * losses agree (steps 2 and 3 replay the recorded step); 200 synthetic steps track the tfjs loss
 * curve; evaluation ranks (full catalog, seen items removed) equal the host references'; no
 * WebGPU validation error; a training state taken on WebGPU resumes on the host references. Skipped with the reason where there is no WebGPU adapter (failed under CI=true).
 * With f16 storage (dtype 'float16', adapters with shader-f16; lavapipe has it): the few-row cases
 * within the half-precision wiring bound BF16_VS_TFJS of tfjs and within 2e-2 of the host's
 * f16-storage reference, the realistic bf16Cases within the contract's 2e-2 of tfjs, and 200
 * synthetic steps tracking the tfjs loss curve.
 */

import { Runner } from '@cutrec/kernels';
import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FUSED_WEBGPU_STORAGE_BUFFERS,
  FusedTrainer,
  HostDevice,
  SASRec,
  Trainer,
  WebGpuDevice,
  webGpuUnsupported,
} from '../src/index.js';
import {
  BF16_VS_TFJS,
  bf16Cases,
  cases,
  expectBf16Step,
  expectSameFusedSteps,
  expectSameSteps,
  randomBatch,
} from './fused-cases.js';

const { device, skipReason } = await webgpuForTests();
/** The storages to test: float16 too where the adapter has shader-f16. */
const DTYPES = device?.features.has('shader-f16')
  ? (['float32', 'float16'] as const)
  : (['float32'] as const);
const f16Skip = !device?.features.has('shader-f16');

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

  it(`every kernel the cases built binds at most FUSED_WEBGPU_STORAGE_BUFFERS (${FUSED_WEBGPU_STORAGE_BUFFERS}) storage buffers`, () => {
    const most = Runner.of(device as GPUDevice).maxStorageBindings;
    console.log(`[fused-webgpu] most storage buffers one kernel binds: ${most}`);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(FUSED_WEBGPU_STORAGE_BUFFERS);
    const few = { limits: { maxStorageBuffersPerShaderStage: most - 1 } } as unknown as GPUDevice;
    expect(webGpuUnsupported(few)).toBe(
      `the fused engine's kernels bind up to ${FUSED_WEBGPU_STORAGE_BUFFERS} storage buffers, and this WebGPU adapter allows ${most - 1} per shader stage (maxStorageBuffersPerShaderStage)`,
    );
    expect(webGpuUnsupported(device as GPUDevice)).toBeUndefined();
  });

  // The 200-step curve: the tfjs engine's losses are computed once for both storages.
  const curveCfg = { numItems: 60, maxLen: 10, hidden: 32, numBlocks: 2, numHeads: 2, dropout: 0.2, seed: 3 };
  const curveLoss = { kind: 'cce-' as const, negatives: 16, impl: 'reference' as const };
  const curveOptimizer = { lr: 3e-3 };
  /** Step s's batch: a learnable stream, item t+1 = (item t · 7 + 3) mod C. */
  const curveBatch = (s: number) => {
    const batch = randomBatch(1000 + s, 8, curveCfg.maxLen, curveCfg.numItems);
    for (let i = 0; i < batch.inputs.length; i++) {
      if (batch.targets[i]! >= 0) batch.targets[i] = (batch.inputs[i]! * 7 + 3) % curveCfg.numItems;
    }
    return batch;
  };
  let tfjsCurve: Promise<number[]> | undefined;
  const tfjsLosses = () => {
    tfjsCurve ??= (async () => {
      const a = new SASRec(curveCfg);
      const tfjs = new Trainer(a, { loss: curveLoss, optimizer: curveOptimizer });
      const losses: number[] = [];
      for (let s = 0; s < 200; s++) losses.push(await tfjs.trainStepAsync(curveBatch(s)));
      tfjs.dispose();
      a.dispose();
      return losses;
    })();
    return tfjsCurve;
  };
  for (const dtype of DTYPES) {
    it(`200 synthetic steps track the tfjs loss curve (dropout, cce- row, ${dtype}), replaying the recorded step`, {
      timeout: 300_000,
    }, async () => {
      const gpu = device as GPUDevice;
      gpu.pushErrorScope('validation');
      const want = await tfjsLosses();
      const b = new SASRec(curveCfg);
      const dev = new WebGpuDevice(gpu, { dtype });
      const fused = new FusedTrainer(b, dev, { loss: curveLoss, optimizer: curveOptimizer, batchSize: 8 });
      const got: number[] = [];
      for (let s = 0; s < 200; s++) {
        fused.enqueueStep(curveBatch(s));
        if (s % 20 === 19) got.push(...(await fused.takeLossesAsync()));
      }
      expect(dev.replaying, 'the step is replayed from its recording').toBe(true);
      const avg = (x: number[], i: number) => x.slice(i, i + 20).reduce((p, q) => p + q, 0) / 20;
      for (let i = 0; i < 200; i += 20)
        expect(Math.abs(avg(got, i) - avg(want, i))).toBeLessThan(0.02 * avg(want, i) + 1e-3);
      expect(avg(got, 180)).toBeLessThan(0.7 * avg(got, 0));
      fused.dispose();
      b.dispose();
      const err = await gpu.popErrorScope();
      expect(err?.message, 'no WebGPU validation error').toBeUndefined();
    });
  }

  it('evaluation ranks on WebGPU equal the host references (chunks of B users, seen lists)', async () => {
    const gpu = device as GPUDevice;
    gpu.pushErrorScope('validation');
    const cfg = { numItems: 50, maxLen: 6, hidden: 16, numBlocks: 1, numHeads: 2, dropout: 0.1, seed: 5 };
    const loss = { kind: 'cce-' as const, negatives: 8, impl: 'reference' as const };
    const model = new SASRec(cfg);
    const onGpu = new FusedTrainer(model, new WebGpuDevice(gpu), { loss, optimizer: {}, batchSize: 4 });
    const onHost = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize: 4 });
    const U = 11;
    const { inputs } = randomBatch(77, U, cfg.maxLen, cfg.numItems);
    const targets = Int32Array.from({ length: U }, (_, u) => (u * 13 + 5) % cfg.numItems);
    const offsets = new Int32Array(U + 1);
    const items: number[] = [];
    for (let u = 0; u < U; u++) {
      const h = new Set<number>();
      for (let t = 0; t < cfg.maxLen; t++)
        if (inputs[u * cfg.maxLen + t]! < cfg.numItems) h.add(inputs[u * cfg.maxLen + t]!);
      items.push(...[...h].sort((a, b) => a - b));
      offsets[u + 1] = items.length;
    }
    const seen = { offsets, items: Int32Array.from(items) };
    for (const s of [undefined, seen]) {
      const got = await onGpu.rankTargetsAsync(inputs, targets, s);
      const want = onHost.rankTargets(inputs, targets, s);
      const off = [...got].filter((r, u) => r !== want[u]).length;
      expect(off, `ranks differing (near ties only): ${[...got]} vs ${[...want]}`).toBeLessThanOrEqual(1);
      for (let u = 0; u < U; u++) expect(Math.abs(got[u]! - want[u]!)).toBeLessThanOrEqual(1);
    }
    onGpu.dispose();
    onHost.dispose();
    model.dispose();
    const err = await gpu.popErrorScope();
    expect(err?.message, 'no WebGPU validation error').toBeUndefined();
  });

  it('a training state taken on WebGPU after 2 steps resumes on the host: the next step agrees', async () => {
    const gpu = device as GPUDevice;
    const cfg = { numItems: 40, maxLen: 6, hidden: 16, numBlocks: 1, numHeads: 2, dropout: 0.2, seed: 9 };
    const loss = { kind: 'cce-' as const, negatives: 6, impl: 'reference' as const };
    const optimizer = { lr: 1e-3 };
    const model = new SASRec(cfg);
    const onGpu = new FusedTrainer(model, new WebGpuDevice(gpu), { loss, optimizer, batchSize: 3 });
    for (let s = 0; s < 2; s++) await onGpu.trainStepAsync(randomBatch(300 + s, 3, cfg.maxLen, cfg.numItems));
    const state = await onGpu.trainingState();
    expect(state.step).toBe(2);
    const onHost = new FusedTrainer(model, new HostDevice(), { loss, optimizer, batchSize: 3 });
    const data = (r: Record<string, { data: Float32Array }>) =>
      Object.fromEntries(Object.entries(r).map(([k, x]) => [k, x.data]));
    onHost.loadState(state.step, data(state.params), state.m, state.v);
    const next = randomBatch(302, 3, cfg.maxLen, cfg.numItems);
    const a = await onGpu.trainStepAsync(next);
    const b = onHost.trainStep(next);
    expect(Math.abs(a - b), `loss at step 3: ${a} vs ${b}`).toBeLessThanOrEqual(
      1e-4 * Math.max(1, Math.abs(b)),
    );
    onGpu.dispose();
    onHost.dispose();
    model.dispose();
  });
});

describe.skipIf(skipReason !== undefined || f16Skip)('fused engine on WebGPU with f16 storage', () => {
  const f16 = () => new WebGpuDevice(device as GPUDevice, { dtype: 'float16' });
  for (const c of cases) {
    it(`${c.name}: within BF16_VS_TFJS of tfjs and 2e-2 of the host's f16 reference`, async () => {
      const gpu = device as GPUDevice;
      gpu.pushErrorScope('validation');
      await expectSameSteps(c, 'fused-webgpu f16', f16, BF16_VS_TFJS);
      await expectSameFusedSteps(
        c,
        'webgpu f16 = host f16',
        () => new HostDevice({ dtype: 'float16' }),
        f16,
        2e-2,
        2e-2,
      );
      const err = await gpu.popErrorScope();
      expect(err?.message, 'no WebGPU validation error').toBeUndefined();
    });
  }
  for (const c of bf16Cases) {
    it(`contract: ${c.name}`, async () => {
      await expectBf16Step(c, 'webgpu f16 contract', f16);
    });
  }
  it("gemmMath 'f16' needs dtype 'float16'", () => {
    expect(() => new WebGpuDevice(device as GPUDevice, { gemmMath: 'f16' })).toThrow(/needs dtype 'float16'/);
  });
});
