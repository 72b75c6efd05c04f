/**
 * The engine contract on CUDA (`npm run test:gpu`; skipped with the reason printed elsewhere, failed
 * under CUTREC_REQUIRE_CUDA=1): one fused CUDA step equals one tfjs step (CPU backend, float64
 * CCE- reference) — loss, every gradient, every updated parameter — within 1e-4 of the largest
 * magnitude in float32 (bfloat16, with GELU: the loss within 2e-2, the values within 0.25, see
 * BF16_VS_TFJS), on the host test's cases plus D 64 and 256; bfloat16 within 0.1 of the host's
 * bf16-storage reference (HostDevice dtype 'bfloat16', GELU); bfloat16 within the contract's 2e-2
 * by the measure of `bf16StepErrors` on the realistic shapes of `bf16Cases` (GELU), where bf16
 * storage alone meets it (fused-host.test.ts, BENCHMARKS.md); the CUDA graph replays (steps 2
 * and 3 of each case run as a graph); 200 steps on the synthetic data track the tfjs loss curve.
 */
import { setupTfjs } from '@cutrec/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CudaDevice,
  FusedTrainer,
  fusedCudaUnavailableReason,
  HostDevice,
  SASRec,
  Trainer,
} from '../src/index.js';
import {
  BF16_VS_TFJS,
  bf16Cases,
  type Case,
  cases,
  expectBf16Step,
  expectSameFusedSteps,
  expectSameSteps,
  randomBatch,
} from './fused-cases.js';

const reason = fusedCudaUnavailableReason();
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping fused CUDA engine tests: ${reason}`);
}

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

const bigger: Case[] = [
  {
    name: 'D 64, 2 heads, L 13, cce- block 256 negatives',
    model: { numItems: 301, maxLen: 13, hidden: 64, numBlocks: 2, numHeads: 2, dropout: 0.2 },
    B: 5,
    loss: { kind: 'cce-', negatives: 256, share: 'block', blockRows: 16, impl: 'reference' },
  },
  {
    name: 'D 256, 4 heads, L 9, full CE, post-norm',
    model: { numItems: 97, maxLen: 9, hidden: 256, numBlocks: 1, numHeads: 4, norm: 'post', dropout: 0.1 },
    B: 3,
    loss: { kind: 'ce', impl: 'reference' },
  },
];

describe.skipIf(reason !== undefined)('fused CUDA engine = tfjs engine', () => {
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const tol = dtype === 'float32' ? 1e-4 : BF16_VS_TFJS;
    const within = typeof tol === 'number' ? `${tol}` : `loss ${tol.loss}, values ${tol.values}, GELU`;
    for (const c0 of [...cases, ...bigger]) {
      const c = dtype === 'bfloat16' ? { ...c0, model: { ...c0.model, activation: 'gelu' as const } } : c0;
      it(`${dtype}: ${c.name} (within ${within} of the largest magnitude)`, async () => {
        await expectSameSteps(c, `cuda-fused ${dtype}`, () => new CudaDevice({ dtype }), tol);
      });
    }
  }

  // bf16 against the reference that stores what the engine stores (the host's float64 ops with
  // 'act' values rounded to bf16): what is left is the kernels' own rounding — bf16 operands of
  // the tensor-core products (attention's p and dS, the loss's logit gradients). H200, 2026-12-03:
  // with GELU, two runs of the eight cases, at most 0.065 of the step's largest gradient (the key
  // bias, whose exact gradient is 0; other tensors ≤ 0.03); with the cases' own activations (ReLU)
  // up to 0.074 on item_emb and 0.15 on ffn.w1 after a kink flip. So the contract's 2e-2 is missed
  // by up to 3× even against this reference; held to 0.1 (the tfjs comparison above: 0.25).
  for (const c0 of [...cases, ...bigger]) {
    const c = { ...c0, model: { ...c0.model, activation: 'gelu' as const } };
    it(`bfloat16: ${c.name} (within 0.1 of the host's bf16-storage reference, GELU)`, async () => {
      await expectSameFusedSteps(
        c,
        'cuda bf16 = host bf16',
        () => new HostDevice({ dtype: 'bfloat16' }),
        () => new CudaDevice({ dtype: 'bfloat16' }),
        0.1,
        0.1,
      );
    });
  }

  // The contract's 2e-2 on the shapes where it measures the step (bf16Cases: 800–1,500 rows,
  // pre-norm, D 64 and 128, GELU; the key bias on its key weight's scale, bf16StepErrors): bf16
  // storage alone is at 0.008–0.017 there (the host test of the same cases), so what this
  // adds is the kernels' own rounding (bf16 operands of the tensor-core products).
  for (const c of bf16Cases) {
    it(`bfloat16: ${c.name} (within the contract's 2e-2 of the tfjs step, bf16StepErrors)`, async () => {
      await expectBf16Step(c, 'cuda bf16 contract', () => new CudaDevice({ dtype: 'bfloat16' }));
    });
  }

  it('200 synthetic steps track the tfjs loss curve (float32, dropout, cce- row)', async () => {
    const cfg = { numItems: 60, maxLen: 10, hidden: 32, numBlocks: 2, numHeads: 2, dropout: 0.2, seed: 3 };
    const loss = { kind: 'cce-' as const, negatives: 16, impl: 'reference' as const };
    const optimizer = { lr: 3e-3 };
    const a = new SASRec(cfg);
    const b = new SASRec(cfg);
    const tfjs = new Trainer(a, { loss, optimizer });
    const fused = new FusedTrainer(b, new CudaDevice(), { loss, optimizer, batchSize: 8 });
    const want: number[] = [];
    const got: number[] = [];
    for (let s = 0; s < 200; s++) {
      // A learnable stream: item t+1 = (item t · 7 + 3) mod C.
      const batch = randomBatch(1000 + s, 8, cfg.maxLen, cfg.numItems);
      for (let i = 0; i < batch.inputs.length; i++) {
        if (batch.targets[i]! >= 0) batch.targets[i] = (batch.inputs[i]! * 7 + 3) % cfg.numItems;
      }
      want.push(await tfjs.trainStepAsync(batch));
      fused.enqueueStep(batch);
      if (s % 20 === 19) got.push(...fused.takeLosses());
    }
    got.push(...fused.takeLosses());
    const avg = (x: number[], i: number) => x.slice(i, i + 20).reduce((p, q) => p + q, 0) / 20;
    for (let i = 0; i < 200; i += 20)
      expect(Math.abs(avg(got, i) - avg(want, i))).toBeLessThan(0.02 * avg(want, i) + 1e-3);
    expect(avg(got, 180)).toBeLessThan(0.7 * avg(got, 0));
    fused.dispose();
    tfjs.dispose();
    a.dispose();
    b.dispose();
  });
});
