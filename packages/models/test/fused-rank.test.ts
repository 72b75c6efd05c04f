/**
 * Fused evaluation over many chunks of B users (FusedTrainer.rankTargets / enqueueRankTargets /
 * evaluateFused), on the host references and on WebGPU (lavapipe in CI): seen lists of very
 * different lengths from chunk to chunk (a chunk with none, a chunk of long histories, a last
 * partial chunk), several calls queued before any is taken (the evaluation scratch reused and
 * grown between them), against the tfjs engine's ranks and metrics and the host's. Float64 (host)
 * against float32 (tfjs, WebGPU) may reorder a near tie: at most one user per call differs, by one.
 */
import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  evaluateModel,
  FusedTrainer,
  HostDevice,
  rankTargets,
  recommend,
  SASRec,
  WebGpuDevice,
} from '../src/index.js';
import { randomBatch } from './fused-cases.js';
import { B, C, cfg, examplesOf, expectSameRanks, expectSameTopK, L, loss, rankCase } from './rank-cases.js';

const { device, skipReason } = await webgpuForTests();

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

describe('fused evaluation over many chunks, on the host', () => {
  it('ranks of 23 users (6 chunks of 4, seen lists of 0 to 45 items) equal the tfjs ranks and one-user calls', async () => {
    const model = new SASRec(cfg);
    const host = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize: B });
    const { inputs, targets, seen } = rankCase(3, 23);
    for (const s of [undefined, seen]) {
      const got = host.rankTargets(inputs, targets, s);
      const want = await rankTargets(model, inputs, targets, s ? { seen: s } : {});
      expectSameRanks(got, want, s ? 'seen' : 'no seen');
      // Chunking does not change a user's rank: one user per call gives the same float64 ranks.
      for (let u = 0; u < 23; u++) {
        const one = host.rankTargets(
          inputs.subarray(u * L, (u + 1) * L),
          targets.subarray(u, u + 1),
          s && {
            offsets: Int32Array.of(0, s.offsets[u + 1]! - s.offsets[u]!),
            items: s.items.subarray(s.offsets[u]!, s.offsets[u + 1]!),
          },
        );
        expect(one[0], `user ${u}`).toBe(got[u]);
      }
    }
    host.dispose();
    model.dispose();
  });

  it('calls queued before any is taken (scratch grown in between) return what each returns alone', () => {
    const model = new SASRec(cfg);
    const host = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize: B });
    const calls = [rankCase(5, 9, 0.3), rankCase(6, 31, 1.2), rankCase(7, 2)];
    const alone = calls.map((c) => host.rankTargets(c.inputs, c.targets, c.seen));
    const queued = calls.map((c) => host.enqueueRankTargets(c.inputs, c.targets, c.seen));
    for (const [i, q] of queued.entries()) expect(q.take()).toEqual(alone[i]);
    host.dispose();
    model.dispose();
  });

  it('evaluate (removeSeen, 150 users: 3 batches of 16·B, histories of 1 to 60) = tfjs evaluateModel', async () => {
    const model = new SASRec(cfg);
    const host = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize: B });
    const examples = examplesOf(9, 150);
    for (const removeSeen of [true, false]) {
      const got = await host.evaluate(examples, { ks: [5, 10], removeSeen });
      const want = await evaluateModel(model, examples, { ks: [5, 10], removeSeen });
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const k of Object.keys(want)) expect(Math.abs(got[k]! - want[k]!), k).toBeLessThan(0.01);
    }
    host.dispose();
    model.dispose();
  });

  it('top-k of 23 users (6 chunks of 4, seen lists of 0 to 45 items) equals tfjs recommend and one-user calls', async () => {
    const model = new SASRec(cfg);
    const host = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize: B });
    const { inputs, seen } = rankCase(4, 23);
    for (const [s, k] of [
      [undefined, 10],
      [seen, 5],
      [seen, 20], // a user who has seen 45 of the 57 items has 12 candidates: −1 / −∞ after them
    ] as const) {
      const got = host.topK(inputs, k, s);
      const want = await recommend(model, inputs, k, s ? { seen: s } : {});
      expectSameTopK(got, want, `k ${k}${s ? ', seen' : ''}`);
      for (const u of [0, 5, 22]) {
        const one = host.topK(
          inputs.subarray(u * L, (u + 1) * L),
          k,
          s && {
            offsets: Int32Array.of(0, s.offsets[u + 1]! - s.offsets[u]!),
            items: s.items.subarray(s.offsets[u]!, s.offsets[u + 1]!),
          },
        );
        expect(Array.from(one.items), `user ${u} alone`).toEqual(
          Array.from(got.items.subarray(u * k, (u + 1) * k)),
        );
      }
    }
    expect(host.topK(inputs, 20, seen).items.includes(-1), 'a list shorter than k').toBe(true);
    expect(() => host.topK(inputs, 0)).toThrow(/k must be an integer in \[1, 1024\]/);
    expect(() => host.topK(inputs.subarray(1), 3)).toThrow(/not a multiple of L = 7/);
    host.dispose();
    model.dispose();
  });

  it('rejects targets outside the catalog and seen offsets of the wrong length', () => {
    const model = new SASRec(cfg);
    const host = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize: B });
    const { inputs, targets, seen } = rankCase(3, 5);
    expect(() => host.rankTargets(inputs, Int32Array.of(0, 1, C, 2, 3))).toThrow(/targets\[2\] = 57/);
    expect(() =>
      host.rankTargets(inputs, targets, { offsets: seen.offsets.subarray(0, 5), items: seen.items }),
    ).toThrow(/seen.offsets must have U \+ 1 = 6/);
    host.dispose();
    model.dispose();
  });
});

describe.skipIf(skipReason !== undefined)('fused evaluation over many chunks, on WebGPU', () => {
  it('ranks of 23 users in 6 chunks and queued calls equal the host references', async () => {
    const gpu = device as GPUDevice;
    gpu.pushErrorScope('validation');
    const model = new SASRec(cfg);
    const onGpu = new FusedTrainer(model, new WebGpuDevice(gpu), { loss, optimizer: {}, batchSize: B });
    const onHost = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize: B });
    const { inputs, targets, seen } = rankCase(3, 23);
    for (const s of [undefined, seen]) {
      expectSameRanks(
        await onGpu.rankTargetsAsync(inputs, targets, s),
        onHost.rankTargets(inputs, targets, s),
        s ? 'seen' : 'no seen',
      );
    }
    const calls = [rankCase(5, 9, 0.3), rankCase(6, 31, 1.2), rankCase(7, 2), rankCase(8, 23)];
    const queued = calls.map((c) => onGpu.enqueueRankTargets(c.inputs, c.targets, c.seen));
    for (const [i, q] of queued.entries()) {
      const c = calls[i]!;
      expectSameRanks(await q.take(), onHost.rankTargets(c.inputs, c.targets, c.seen), `call ${i}`);
    }
    expect(() => onGpu.rankTargets(inputs, targets)).toThrow(/use rankTargetsAsync/);
    onGpu.dispose();
    onHost.dispose();
    model.dispose();
    const err = await gpu.popErrorScope();
    expect(err?.message, 'no WebGPU validation error').toBeUndefined();
  });

  it('replays a chunk recorded once per kind of call: ranks after training steps follow the new parameters', async () => {
    const gpu = device as GPUDevice;
    gpu.pushErrorScope('validation');
    const model = new SASRec(cfg);
    const wd = new WebGpuDevice(gpu);
    const onGpu = new FusedTrainer(model, wd, { loss, optimizer: { lr: 0.05 }, batchSize: B });
    const onHost = new FusedTrainer(model, new HostDevice(), { loss, optimizer: { lr: 0.05 }, batchSize: B });
    const { inputs, targets, seen } = rankCase(4, 23);
    const before = await onGpu.rankTargetsAsync(inputs, targets, seen);
    await onGpu.rankTargetsAsync(inputs, targets);
    expect(wd.replayableCount, 'one recording with seen lists, one without').toBe(2);
    for (let s = 0; s < 3; s++) {
      const batch = randomBatch(40 + s, B, L, C);
      await onGpu.trainStepAsync(batch);
      onHost.trainStep(batch);
    }
    const after = await onGpu.rankTargetsAsync(inputs, targets, seen);
    expect(wd.replayableCount, 'replayed, not recorded again').toBe(2);
    expect(
      [...after].some((r, u) => r !== before[u]),
      'the steps changed some rank',
    ).toBe(true);
    expectSameRanks(after, onHost.rankTargets(inputs, targets, seen), 'after 3 steps');
    onGpu.dispose();
    onHost.dispose();
    model.dispose();
    const err = await gpu.popErrorScope();
    expect(err?.message, 'no WebGPU validation error').toBeUndefined();
  });

  it('top-k of 23 users in 6 chunks (k 10, 5, 20 with seen lists) equals the host reference, in fp32 and f16', async () => {
    const gpu = device as GPUDevice;
    gpu.pushErrorScope('validation');
    const model = new SASRec(cfg);
    const dtypes = gpu.features.has('shader-f16')
      ? (['float32', 'float16'] as const)
      : (['float32'] as const);
    const { inputs, seen } = rankCase(4, 23);
    for (const dtype of dtypes) {
      const wd = new WebGpuDevice(gpu, { dtype });
      const onGpu = new FusedTrainer(model, wd, { loss, optimizer: {}, batchSize: B });
      // The host rounds the f16 step's activations as the kernels store them.
      const onHost = new FusedTrainer(model, new HostDevice({ dtype }), {
        loss,
        optimizer: {},
        batchSize: B,
      });
      const tol = dtype === 'float16' ? 2e-3 : 1e-4;
      for (const [s, k] of [
        [undefined, 10],
        [seen, 5],
        [seen, 20], // a user with 12 candidates: −1 / −∞ after them
      ] as const) {
        const got = await onGpu.topKAsync(inputs, k, s);
        expectSameTopK(got, onHost.topK(inputs, k, s), `${dtype} k ${k}${s ? ', seen' : ''}`, tol);
      }
      expect(wd.replayableCount, 'one recording per (k, seen)').toBe(3);
      expect(() => onGpu.topK(inputs, 5)).toThrow(/use topKAsync/);
      await expect(onGpu.topKAsync(inputs, 513)).rejects.toThrow(
        /k = 513 exceeds the fused kernel's limit of 512/,
      );
      expect((await onGpu.topKAsync(inputs.subarray(0, 0), 3)).items.length).toBe(0);
      onGpu.dispose();
      onHost.dispose();
    }
    model.dispose();
    const err = await gpu.popErrorScope();
    expect(err?.message, 'no WebGPU validation error').toBeUndefined();
  });

  it('evaluate (removeSeen, 150 users: 3 batches of 16·B) = tfjs evaluateModel', async () => {
    const gpu = device as GPUDevice;
    gpu.pushErrorScope('validation');
    const model = new SASRec(cfg);
    const onGpu = new FusedTrainer(model, new WebGpuDevice(gpu), { loss, optimizer: {}, batchSize: B });
    const examples = examplesOf(9, 150);
    for (const removeSeen of [true, false]) {
      const got = await onGpu.evaluate(examples, { ks: [5, 10], removeSeen });
      const want = await evaluateModel(model, examples, { ks: [5, 10], removeSeen });
      for (const k of Object.keys(want)) expect(Math.abs(got[k]! - want[k]!), k).toBeLessThan(0.01);
    }
    onGpu.dispose();
    model.dispose();
    const err = await gpu.popErrorScope();
    expect(err?.message, 'no WebGPU validation error').toBeUndefined();
  });
});
