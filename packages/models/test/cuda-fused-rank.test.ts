/**
 * Fused evaluation on CUDA (`npm run test:gpu`; skipped with the reason printed, failed under
 * CUTREC_REQUIRE_CUDA=1) over many chunks of B users: seen lists of very different lengths from
 * chunk to chunk (none, long histories, a last partial chunk), several calls queued before any is
 * taken (the scratch reused and grown between them, stream-ordered uploads through the pinned ring,
 * one read-back per call, the chunk's forward pass and rank kernels replayed as one CUDA graph),
 * against the host references' ranks, the eager kernels' ranks (graphs off) and tfjs
 * evaluateModel's metrics; float32 only (near ties: at most one user per call differs, by one).
 */
import { setupTfjs } from '@cutrec/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CudaDevice,
  evaluateModel,
  FusedTrainer,
  fusedCudaUnavailableReason,
  HostDevice,
  SASRec,
} from '../src/index.js';
import { B, cfg, examplesOf, expectSameRanks, expectSameTopK, loss, rankCase } from './rank-cases.js';

const reason = fusedCudaUnavailableReason();
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping fused CUDA evaluation tests: ${reason}`);
}

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

describe.skipIf(reason !== undefined)('fused evaluation over many chunks, on CUDA', () => {
  for (const batchSize of [B, 64]) {
    it(`B ${batchSize}: ranks over many chunks and queued calls equal the host references`, () => {
      const model = new SASRec(cfg);
      const onGpu = new FusedTrainer(model, new CudaDevice(), { loss, optimizer: {}, batchSize });
      const onHost = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize });
      const U = 5 * batchSize + 3;
      const { inputs, targets, seen } = rankCase(3, U, 1, batchSize);
      for (const s of [undefined, seen]) {
        expectSameRanks(
          onGpu.rankTargets(inputs, targets, s),
          onHost.rankTargets(inputs, targets, s),
          s ? 'seen' : 'no seen',
        );
      }
      const calls = [
        rankCase(5, 2 * batchSize + 1, 0.3, batchSize),
        rankCase(6, 7 * batchSize + 2, 1.2, batchSize),
        rankCase(7, 2, 1, batchSize),
        rankCase(8, U, 1, batchSize),
      ];
      const queued = calls.map((c) => onGpu.enqueueRankTargets(c.inputs, c.targets, c.seen));
      for (const [i, q] of queued.entries()) {
        const c = calls[i]!;
        expectSameRanks(q.take() as Int32Array, onHost.rankTargets(c.inputs, c.targets, c.seen), `call ${i}`);
      }
      // From each key's second chunk on the chunk is a graph replay; eager kernels give the same ranks.
      expect((onGpu.device as CudaDevice).replayError, 'the chunk graph was captured').toBeUndefined();
      const eager = new FusedTrainer(model, new CudaDevice({ graph: false }), {
        loss,
        optimizer: {},
        batchSize,
      });
      expectSameRanks(
        onGpu.rankTargets(inputs, targets, seen),
        eager.rankTargets(inputs, targets, seen),
        'graph against eager',
      );
      eager.dispose();
      onGpu.dispose();
      onHost.dispose();
      model.dispose();
    });
  }

  for (const batchSize of [B, 64]) {
    it(`B ${batchSize}: top-k over many chunks (seen lists, k above the candidates, k = 1) = the host references and eager kernels`, () => {
      const model = new SASRec(cfg);
      const onGpu = new FusedTrainer(model, new CudaDevice(), { loss, optimizer: {}, batchSize });
      const onHost = new FusedTrainer(model, new HostDevice(), { loss, optimizer: {}, batchSize });
      const eager = new FusedTrainer(model, new CudaDevice({ graph: false }), {
        loss,
        optimizer: {},
        batchSize,
      });
      const { inputs, seen } = rankCase(4, 5 * batchSize + 3, 1, batchSize);
      for (const [s, k] of [
        [undefined, 10],
        [seen, 20],
        [seen, 1],
      ] as const) {
        const what = `k ${k}${s ? ', seen' : ''}`;
        const got = onGpu.topK(inputs, k, s);
        expectSameTopK(got, onHost.topK(inputs, k, s), what);
        expectSameTopK(onGpu.topK(inputs, k, s), got, `${what}, replayed`, 0);
        expectSameTopK(eager.topK(inputs, k, s), got, `${what}, graph against eager`, 0);
      }
      expect((onGpu.device as CudaDevice).replayError, 'the chunk graph was captured').toBeUndefined();
      for (const t of [eager, onGpu, onHost]) t.dispose();
      model.dispose();
    });
  }

  it('evaluate (removeSeen, 150 users: 3 batches of 16·B) = tfjs evaluateModel', async () => {
    const model = new SASRec(cfg);
    const onGpu = new FusedTrainer(model, new CudaDevice(), { loss, optimizer: {}, batchSize: B });
    const examples = examplesOf(9, 150);
    for (const removeSeen of [true, false]) {
      const got = await onGpu.evaluate(examples, { ks: [5, 10], removeSeen });
      const want = await evaluateModel(model, examples, { ks: [5, 10], removeSeen });
      for (const k of Object.keys(want)) expect(Math.abs(got[k]! - want[k]!), k).toBeLessThan(0.01);
    }
    onGpu.dispose();
    model.dispose();
  });
});
