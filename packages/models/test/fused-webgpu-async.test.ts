/**
 * The fused engine's asynchronous forms on WebGPU (lavapipe in CI), where the synchronous
 * read-backs throw: `syncModelAsync` writes the trained parameters into a tfjs model (which then
 * scores like the engine), `fromModel` starts from a tfjs model read asynchronously, and
 * `enqueueStepAsync` queues past the loss ring. Skipped with the reason where there is no WebGPU
 * adapter (failed under CI=true).
 */
import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { FusedTrainer, SASRec, WebGpuDevice } from '../src/index.js';
import { randomBatch } from './fused-cases.js';

const { device, skipReason } = await webgpuForTests();

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

const cfg = { numItems: 30, maxLen: 5, hidden: 8, numBlocks: 1, numHeads: 2, dropout: 0.1, seed: 4 };
const loss = { kind: 'cce-' as const, negatives: 5, impl: 'reference' as const };

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe.skipIf(skipReason !== undefined)('fused engine on WebGPU: asynchronous read-backs', () => {
  it('syncModel throws naming the async form; syncModelAsync writes the trained parameters', async () => {
    const gpu = device as GPUDevice;
    const model = new SASRec(cfg);
    const before = model.parameters.map((p) => p.variable.dataSync().slice());
    const t = await FusedTrainer.fromModel(model, new WebGpuDevice(gpu), {
      loss,
      optimizer: { lr: 1e-2 },
      batchSize: 3,
    });
    // fromModel uploaded the model's values.
    const start = await t.parametersAsync();
    for (const [i, p] of model.parameters.entries())
      expect(maxAbsDiff(start[p.name]!, before[i]!), p.name).toBe(0);
    for (let s = 0; s < 3; s++) await t.trainStepAsync(randomBatch(50 + s, 3, cfg.maxLen, cfg.numItems));
    expect(() => t.syncModel()).toThrow(/asynchronous.*syncModelAsync/);
    await t.syncModelAsync();
    const trained = await t.parametersAsync();
    let moved = 0;
    for (const [i, p] of model.parameters.entries()) {
      const now = p.variable.dataSync();
      expect(maxAbsDiff(now, trained[p.name]!), p.name).toBe(0);
      moved = Math.max(moved, maxAbsDiff(now, before[i]!));
    }
    expect(moved, 'three steps moved the parameters').toBeGreaterThan(0);
    t.dispose();
    model.dispose();
  });

  it('enqueueStepAsync queues more steps than the loss ring holds', async () => {
    const gpu = device as GPUDevice;
    const t = new FusedTrainer(cfg, new WebGpuDevice(gpu, { lossRing: 2 }), {
      loss,
      optimizer: {},
      batchSize: 2,
    });
    expect(() => {
      for (let s = 0; s < 3; s++) t.enqueueStep(randomBatch(s, 2, cfg.maxLen, cfg.numItems));
    }).toThrow(/asynchronous/);
    await t.takeLossesAsync();
    for (let s = 0; s < 5; s++) await t.enqueueStepAsync(randomBatch(10 + s, 2, cfg.maxLen, cfg.numItems));
    const losses = await t.takeLossesAsync();
    expect(losses.length).toBeGreaterThanOrEqual(1);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    t.dispose();
  });
});
