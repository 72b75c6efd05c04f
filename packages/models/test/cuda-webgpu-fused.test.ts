/**
 * The fused engine on CUDA and on WebGPU agree with each other where both run (`npm run test:gpu`
 * on the GPU machine, where Dawn drives the same card through Vulkan): from the same parameters,
 * batches, seed and steps, CudaDevice and WebGpuDevice (both float32) give the same loss at each
 * of three steps (the later two replay the recorded step), and after the first the same gradients,
 * parameters and Adam moments — within 1e-4 of the largest magnitude, by the rules of the tfjs
 * comparison (fused-cases.ts: gradients against 1 % of the step's largest at least, and updates
 * compared where the gradient is above float noise) — on the shared cases of fused-cases.ts. Each
 * engine is also held to the tfjs engine by its own test; this one catches a difference between
 * the two kernel sets that both contracts' tolerances would let through. Skipped, with the reason
 * printed, where either device is missing (CUTREC_REQUIRE_CUDA=1 fails without CUDA, as the
 * other CUDA tests do).
 */
import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CudaDevice,
  FusedTrainer,
  fusedCudaUnavailableReason,
  SASRec,
  WebGpuDevice,
  webGpuUnsupported,
} from '../src/index.js';
import { cases, randomBatch, rel } from './fused-cases.js';

const TOL = 1e-4;

const cudaReason = fusedCudaUnavailableReason();
if (cudaReason && process.env.CUTREC_REQUIRE_CUDA === '1')
  throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${cudaReason}`);
const { device: gpu, skipReason: gpuReason } = cudaReason
  ? { device: undefined, skipReason: 'no CUDA' }
  : await webgpuForTests();
const reason = cudaReason ?? gpuReason ?? (gpu ? webGpuUnsupported(gpu) : undefined);
if (reason) console.warn(`[cutrec] skipping the fused CUDA = fused WebGPU test: ${reason.split('\n')[0]}`);

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

type Named = Record<string, Float32Array>;

/** The largest |value| over every array of `x`. */
const largest = (x: Named) =>
  Math.max(...Object.values(x).map((a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));

/**
 * Every named array of `got` within TOL of `want`'s largest magnitude (at least `floor`), over the
 * elements `keep` selects (default all); the worst one printed.
 */
function expectClose(
  what: string,
  got: Named,
  want: Named,
  floor = 0,
  keep?: Record<string, boolean[]>,
): void {
  let worst = { name: '', err: 0 };
  for (const [name, w] of Object.entries(want)) {
    const k = keep?.[name];
    const sel = (a: Float32Array) => (k ? a.filter((_, i) => k[i]) : a);
    const err = rel(sel(got[name]!), sel(w), floor);
    if (err > worst.err) worst = { name, err };
    expect(err, `${what} of ${name}`).toBeLessThanOrEqual(TOL);
  }
  console.log(`[cuda = webgpu] ${what}: largest error ${worst.err.toPrecision(3)} (${worst.name})`);
}

describe.skipIf(reason !== undefined)('fused CUDA engine = fused WebGPU engine (float32)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const device = gpu as GPUDevice;
      const seed = Number(process.env.CUTREC_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
      console.log(`[seed] cuda = webgpu '${c.name}': ${seed} (replay with CUTREC_TEST_SEED=${seed})`);
      const cfg = { ...c.model, seed: seed % 1000 };
      const options = {
        loss: c.loss,
        optimizer: { lr: 1e-3, weightDecay: 0.01, clipNorm: c.clipNorm ?? 0 },
        batchSize: c.B,
      };
      const models = [new SASRec(cfg), new SASRec(cfg)];
      const cuda = new FusedTrainer(models[0]!, new CudaDevice({ dtype: 'float32' }), options);
      const webgpu = new FusedTrainer(models[1]!, new WebGpuDevice(device), options);
      device.pushErrorScope('validation');
      try {
        const { maxLen: L, numItems: C } = models[0]!.config;
        for (let step = 0; step < 3; step++) {
          const batch = randomBatch(seed + step, c.rows ?? c.B, L, C, step === 0 ? c.emptyRow : -1);
          const want = await cuda.trainStepAsync(batch);
          const got = await webgpu.trainStepAsync(batch);
          expect(Math.abs(got - want), `loss at step ${step}`).toBeLessThanOrEqual(
            TOL * Math.max(1, Math.abs(want)),
          );
          if (step > 0) continue;
          const grads = await cuda.gradientsAsync();
          expectClose('gradients', await webgpu.gradientsAsync(), grads, 1e-2 * largest(grads));
          // Where a gradient is float noise (the key bias: exactly 0 in exact arithmetic) Adam's
          // first step (≈ ±lr) is a coin flip on either device: those elements are not compared.
          const noise = 1e-5 * largest(grads);
          const keep = Object.fromEntries(
            Object.entries(grads).map(([n, g]) => [n, Array.from(g, (v) => Math.abs(v) >= noise)]),
          );
          const params = await webgpu.parametersAsync();
          expectClose('updated parameters', params, await cuda.parametersAsync(), 0, keep);
          const [m, w] = [await cuda.momentsAsync(), await webgpu.momentsAsync()];
          expectClose('first moments', w.m, m.m, 0, keep);
          expectClose('second moments', w.v, m.v, 0, keep);
        }
      } finally {
        const err = await device.popErrorScope();
        cuda.dispose();
        webgpu.dispose();
        for (const m of models) m.dispose();
        expect(err?.message, 'no WebGPU validation error').toBeUndefined();
      }
    });
  }
});
