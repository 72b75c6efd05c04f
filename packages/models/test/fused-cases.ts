/** Shared cases of the engine-contract tests (fused engine vs the tfjs engine). */
import { expect } from 'vitest';
import {
  type Batch,
  type FusedDevice,
  FusedTrainer,
  type LossSpec,
  SASRec,
  type SASRecConfig,
  Trainer,
} from '../src/index.js';

/** Random left-padded sequences; sequence `emptyRow` (if any) is all padding. Seeded, printed. */
export function randomBatch(seed: number, B: number, L: number, C: number, emptyRow = -1): Batch {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const inputs = new Int32Array(B * L).fill(C);
  const targets = new Int32Array(B * L).fill(-1);
  for (let b = 0; b < B; b++) {
    if (b === emptyRow) continue;
    const start = Math.floor(rnd() * L);
    for (let t = start; t < L; t++) {
      inputs[b * L + t] = Math.floor(rnd() * C);
      targets[b * L + t] = Math.floor(rnd() * C);
    }
  }
  return { inputs, targets };
}

/**
 * max |a − b| / max(max |b|, floor) (NaN anywhere or a length mismatch → Infinity). The floor
 * lets a gradient that is zero in exact arithmetic (the key bias: softmax ignores a constant
 * shift of a query's scores) be compared on the scale of the step's other gradients.
 */
export function rel(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let d = 0;
  let m = floor;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(a[i]!) || Number.isNaN(b[i]!)) return Number.POSITIVE_INFINITY;
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return m === 0 ? d : d / m;
}

/** How a step is compared: one bound for everything, or the loss and the values apart. */
export type StepTolerance =
  | number
  | {
      loss: number;
      values: number;
      paramFloor?: number;
      /**
       * Updated parameters are compared where |gradient| ≥ this fraction of the step's largest
       * (default 1e-5: float noise); below it Adam's first step (≈ lr·sign g) is a coin flip.
       */
      updateNoise?: number;
    };

/**
 * How far a bfloat16 step may be from the tfjs (float32) step. bf16 storage alone misses the
 * contract's 2e-2 of the largest magnitude: the host's float64 engine with every 'act' value
 * rounded to bf16 (HostDevice dtype 'bfloat16', no kernel of ours involved) is as far from tfjs as
 * the CUDA engine is (fused-host.test.ts). With ReLU, one pre-activation that rounding moves
 * across the kink switches a whole row's contribution to the feed-forward's first weight (0.2–1.0
 * of that gradient's largest entry on these few-row models), so these comparisons run with GELU;
 * with GELU the largest errors (0.1 of a tensor's largest entry over six seeds × eight cases) are
 * the attention's query and key weights, whose gradients pass through near-uniform softmaxes of
 * bf16 scores, and the key bias, whose exact gradient is 0. Hence 0.25: a wrong buffer, mask,
 * dtype or transpose still gives O(1) or NaN. Adam's first step moves each element by about ±lr
 * whatever the size of its gradient, so updated parameters are compared where the gradient is
 * above that same 0.25 of the step's largest, against at least 1e-2 per element. The bf16 kernels
 * themselves are held to 0.1 against that host reference (cuda-fused.test.ts).
 */
export const BF16_VS_TFJS = { loss: 2e-2, values: 0.25, paramFloor: 1e-2, updateNoise: 0.25 };

/** The largest |value| of any of `arrays`. */
function largest(arrays: Iterable<ArrayLike<number>>): number {
  let m = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export interface Case {
  name: string;
  model: SASRecConfig;
  B: number;
  /** Sequences in the batch (≤ B: the fused engine pads the rest). */
  rows?: number;
  loss: LossSpec;
  emptyRow?: number;
  clipNorm?: number;
}

export const cases: Case[] = [
  {
    name: 'pre-norm, 2 blocks, 2 heads, D 48, L 7, dropout, cce- row',
    model: { numItems: 29, maxLen: 7, hidden: 48, numBlocks: 2, numHeads: 2, dropout: 0.2 },
    B: 3,
    loss: { kind: 'cce-', negatives: 5, impl: 'reference' },
  },
  {
    name: 'pre-norm, 1 block, 4 heads, D 16, an all-padding row, cce- block, clipping',
    model: { numItems: 13, maxLen: 5, hidden: 16, numBlocks: 1, numHeads: 4, dropout: 0.1, ffnHidden: 24 },
    B: 4,
    emptyRow: 2,
    clipNorm: 0.5,
    loss: { kind: 'cce-', negatives: 3, share: 'block', blockRows: 6, impl: 'reference' },
  },
  {
    name: 'post-norm, gelu, 2 blocks, 1 head, full CE',
    model: {
      numItems: 11,
      maxLen: 6,
      hidden: 8,
      numBlocks: 2,
      numHeads: 1,
      norm: 'post',
      activation: 'gelu',
      dropout: 0.25,
    },
    B: 2,
    loss: { kind: 'ce', impl: 'reference' },
  },
  {
    name: 'cce- batch K = 1, a padded batch (2 of 3 sequences)',
    model: { numItems: 17, maxLen: 4, hidden: 12, numBlocks: 1, numHeads: 3, dropout: 0 },
    B: 3,
    rows: 2,
    loss: { kind: 'cce-', negatives: 1, share: 'batch', impl: 'reference' },
  },
  {
    name: 'a catalog of one item, bce',
    model: { numItems: 1, maxLen: 3, hidden: 8, numBlocks: 1, numHeads: 2, dropout: 0.2 },
    B: 2,
    loss: { kind: 'bce' },
  },
  {
    name: 'gbce K 4, no blocks',
    model: { numItems: 23, maxLen: 5, hidden: 8, numBlocks: 0, dropout: 0.2 },
    B: 3,
    loss: { kind: 'gbce', negatives: 4, t: 0.75 },
  },
];

/**
 * Runs 3 steps of case `c` on the tfjs engine (CPU backend) and on the fused engine over the device
 * `makeDevice(seed)` makes, from the same parameters, batches, seed and steps: the losses of every
 * step, and after the first step every gradient and updated parameter, agree within `tolerance` of
 * the largest magnitude (one number, or the loss's and the values' own, with an absolute floor
 * under the updated parameters' magnitude). The seed is printed (CUTREC_TEST_SEED replays it).
 */
export async function expectSameSteps<B>(
  c: Case,
  label: string,
  makeDevice: () => FusedDevice<B>,
  tolerance: StepTolerance,
): Promise<void> {
  const tolLoss = typeof tolerance === 'number' ? tolerance : tolerance.loss;
  const tol = typeof tolerance === 'number' ? tolerance : tolerance.values;
  const paramFloor = typeof tolerance === 'number' ? undefined : tolerance.paramFloor;
  const seed = Number(process.env.CUTREC_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`[seed] ${label} '${c.name}': ${seed} (replay with CUTREC_TEST_SEED=${seed})`);
  const cfg = { ...c.model, seed: seed % 1000 };
  const optimizer = { lr: 1e-3, weightDecay: 0.01, clipNorm: c.clipNorm ?? 0 };
  const tfjsModel = new SASRec(cfg);
  const fusedModel = new SASRec(cfg);
  const tfjs = new Trainer(tfjsModel, { loss: c.loss, optimizer });
  const fused = new FusedTrainer(fusedModel, makeDevice(), { loss: c.loss, optimizer, batchSize: c.B });
  try {
    const { maxLen: L, numItems: C } = tfjsModel.config;
    for (let step = 0; step < 3; step++) {
      const batch = randomBatch(seed + step, c.rows ?? c.B, L, C, step === 0 ? c.emptyRow : -1);
      const want = await tfjs.trainStepWithGradients(batch);
      const got = await fused.trainStepAsync(batch);
      expect(Math.abs(got - want.loss), `loss at step ${step}`).toBeLessThanOrEqual(
        tolLoss * Math.max(1, Math.abs(want.loss)),
      );
      if (step > 0) continue;
      const grads = await fused.gradientsAsync();
      // Each gradient within tol of its own largest entry, or of 1 % of the step's largest one.
      const floor = 1e-2 * largest(Object.values(want.grads));
      let worst = { name: '', max: 0 };
      for (const p of tfjsModel.parameters) {
        const max = rel(grads[p.name]!, want.grads[p.name]!, floor);
        if (max > worst.max) worst = { name: p.name, max };
        expect(rel(grads[p.name]!, want.grads[p.name]!, floor), `gradient of ${p.name}`).toBeLessThanOrEqual(
          tol,
        );
      }
      if (typeof tolerance !== 'number')
        console.log(
          `[${label}] largest element error: ${worst.max.toPrecision(3)} of the largest magnitude (${worst.name})`,
        );
      // Updated parameters: Adam's first step moves each element by ≈ lr·sign(g), so where the
      // gradient is float noise (|g| < 1e-5 of the step's largest, e.g. the key bias) the update is
      // a coin flip on either engine: those elements are left out (and counted).
      const params = await fused.parametersAsync();
      const noise =
        (typeof tolerance === 'number' ? 1e-5 : (tolerance.updateNoise ?? 1e-5)) *
        largest(Object.values(want.grads));
      let skipped = 0;
      for (const p of tfjsModel.parameters) {
        const g = want.grads[p.name]!;
        const keep = (i: number) => Math.abs(g[i]!) >= noise;
        const got = params[p.name]!.filter((_, i) => keep(i));
        const exp = (p.variable.dataSync() as Float32Array).filter((_, i) => keep(i));
        skipped += g.length - got.length;
        expect(rel(got, exp, paramFloor), `updated ${p.name}`).toBeLessThanOrEqual(tol);
      }
      if (skipped > 0)
        console.log(
          `[${label}] ${skipped} parameter elements with noise-level gradients not compared after the update`,
        );
    }
  } finally {
    fused.dispose();
    tfjs.dispose();
    tfjsModel.dispose();
    fusedModel.dispose();
  }
}

type Named = Record<string, Float32Array>;

/** The largest |value| over every array of `x`. */
const largestOf = (x: Named) => largest(Object.values(x));

/**
 * Every named array of `got` within `tol` of `want`'s largest magnitude (at least `floor`), over
 * the elements `keep` selects (default all); the worst one printed.
 */
function expectClose(
  what: string,
  got: Named,
  want: Named,
  tol: number,
  floor = 0,
  keep?: Record<string, boolean[]>,
): void {
  let worst = { name: '', err: 0 };
  for (const [name, w] of Object.entries(want)) {
    const k = keep?.[name];
    const sel = (a: Float32Array) => (k ? a.filter((_, i) => k[i]) : a);
    const err = rel(sel(got[name]!), sel(w), floor);
    if (err > worst.err) worst = { name, err };
    expect(err, `${what} of ${name}`).toBeLessThanOrEqual(tol);
  }
  console.log(`${what}: largest error ${worst.err.toPrecision(3)} (${worst.name})`);
}

/**
 * Two fused engines (`want`'s device the reference) from the same parameters, batches, seed and
 * steps: the loss of each of three steps (the later two replay the recorded step), and after the
 * first the gradients, updated parameters and both Adam moments within `tol` of the largest
 * magnitude, by the rules of the tfjs comparison: gradients against 1 % of the step's largest at
 * least, and updates (and moments) compared where the gradient is at least `updateNoise` of the
 * step's largest (default 1e-5, float noise; bf16 passes its gradient tolerance, below which
 * the two gradients' signs are not fixed): below it Adam's first step, ≈ ±lr, is a coin flip on
 * either device. The seed is printed (CUTREC_TEST_SEED replays it).
 */
export async function expectSameFusedSteps<A, B>(
  c: Case,
  label: string,
  makeWant: () => FusedDevice<A>,
  makeGot: () => FusedDevice<B>,
  tol: number,
  updateNoise = 1e-5,
): Promise<void> {
  const seed = Number(process.env.CUTREC_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`[seed] ${label} '${c.name}': ${seed} (replay with CUTREC_TEST_SEED=${seed})`);
  const cfg = { ...c.model, seed: seed % 1000 };
  const options = {
    loss: c.loss,
    optimizer: { lr: 1e-3, weightDecay: 0.01, clipNorm: c.clipNorm ?? 0 },
    batchSize: c.B,
  };
  const models = [new SASRec(cfg), new SASRec(cfg)];
  const want = new FusedTrainer(models[0]!, makeWant(), options);
  const got = new FusedTrainer(models[1]!, makeGot(), options);
  try {
    const { maxLen: L, numItems: C } = models[0]!.config;
    for (let step = 0; step < 3; step++) {
      const batch = randomBatch(seed + step, c.rows ?? c.B, L, C, step === 0 ? c.emptyRow : -1);
      const a = await want.trainStepAsync(batch);
      const b = await got.trainStepAsync(batch);
      expect(Math.abs(b - a), `loss at step ${step}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(a)));
      if (step > 0) continue;
      const grads = await want.gradientsAsync();
      expectClose(`[${label}] gradients`, await got.gradientsAsync(), grads, tol, 1e-2 * largestOf(grads));
      const noise = updateNoise * largestOf(grads);
      const keep = Object.fromEntries(
        Object.entries(grads).map(([n, g]) => [n, Array.from(g, (v) => Math.abs(v) >= noise)]),
      );
      const params = await got.parametersAsync();
      expectClose(`[${label}] updated parameters`, params, await want.parametersAsync(), tol, 0, keep);
      const [m, v] = [await want.momentsAsync(), await got.momentsAsync()];
      expectClose(`[${label}] first moments`, v.m, m.m, tol, 0, keep);
      expectClose(`[${label}] second moments`, v.v, m.v, tol, 0, keep);
    }
  } finally {
    want.dispose();
    got.dispose();
    for (const m of models) m.dispose();
  }
}
