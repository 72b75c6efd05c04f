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
 * bf16 scores, and the key bias, whose exact gradient is 0. Those tails reach 0.31 (seed
 * 1648999658, post-norm GELU, blocks.0.attn.wk: a fresh-clone CI run on 2026-12-04; the bf16 table
 * in BENCHMARKS.md has 0.12 with GELU and 0.37 with ReLU on these cases). Hence 0.5: a wrong buffer,
 * mask, dtype or transpose still gives O(1) or NaN. Adam's first step moves each element by about ±lr
 * whatever the size of its gradient, so updated parameters are compared where the gradient is
 * above that same 0.25 of the step's largest, against at least 1e-2 per element. The bf16 kernels
 * themselves are held to 0.1 against that host reference (cuda-fused.test.ts). This is a wiring
 * bound for the few-row `cases`; the contract's 2e-2 is checked where it measures the step, on
 * `bf16Cases` by `bf16StepErrors` (BENCHMARKS.md, "bf16 against fp32: what the 2e-2 bound measures").
 */
export const BF16_VS_TFJS = { loss: 2e-2, values: 0.5, paramFloor: 1e-2, updateNoise: 0.25 };

/**
 * The gradient whose scale a tensor is measured on, where its own largest entry is no scale at all:
 * the attention key bias's exact gradient is identically 0 (a constant added to every key's logit
 * of a query row leaves that row's softmax unchanged, so Σ_j ∂L/∂s_ij = 0 and ∂L/∂b_k =
 * Σ_i Σ_j ∂L/∂s_ij · q_i / √d_h = 0), so both engines' values are rounding noise of the sum of the
 * rows of ∂L/∂K, and is measured against the key weight's gradient of the same block, Σ_r x_r ⊗
 * ∂L/∂K_r: the same rows weighted by the block's normed input x (entries O(1)).
 */
export function scaleTensorOf(name: string): string {
  return name.replace(/attn\.bk$/, 'attn.wk');
}

/** What {@link bf16StepErrors} found: the worst gradient and updated-parameter errors and where. */
export interface StepErrors {
  gradient: number;
  gradientName: string;
  update: number;
  updateName: string;
  /** Updated-parameter elements left out (a gradient within `tol` of 0: a sign bf16 does not fix). */
  skipped: number;
}

/**
 * The engine contract's measure for a bf16 step against the float32 tfjs step, per parameter
 * tensor: max |got − want| over the largest |want| of that tensor (of {@link scaleTensorOf}'s
 * tensor for the key bias, whose exact gradient is 0); updated parameters over the largest
 * |updated want| of the tensor, at the elements whose reference gradient is above `tol` of the
 * gradient's scale. Below that a gradient within `tol` may have either sign, and Adam's first step
 * (≈ −lr·sign g) then moves the element by ±lr on either engine: a discontinuity of the optimiser
 * at g = 0, not an error of the step.
 */
export function bf16StepErrors(
  wantGrads: Record<string, Float32Array>,
  gotGrads: Record<string, Float32Array>,
  wantParams: Record<string, Float32Array>,
  gotParams: Record<string, Float32Array>,
  tol = 2e-2,
): StepErrors {
  const out: StepErrors = { gradient: 0, gradientName: '', update: 0, updateName: '', skipped: 0 };
  for (const [name, want] of Object.entries(wantGrads)) {
    const scale = largest([wantGrads[scaleTensorOf(name)]!]);
    const got = gotGrads[name]!;
    let d = got.length === want.length ? 0 : Number.POSITIVE_INFINITY;
    for (let i = 0; i < want.length && d < Number.POSITIVE_INFINITY; i++) {
      const e = Math.abs(got[i]! - want[i]!);
      d = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(d, e);
    }
    const g = scale === 0 ? d : d / scale;
    if (g > out.gradient || Number.isNaN(g)) Object.assign(out, { gradient: g, gradientName: name });
    const w = wantParams[name]!;
    const p = gotParams[name]!;
    let u = p.length === w.length ? 0 : Number.POSITIVE_INFINITY;
    for (let i = 0; i < w.length && u < Number.POSITIVE_INFINITY; i++) {
      if (!(Math.abs(want[i]!) > tol * scale)) {
        out.skipped++;
        continue;
      }
      const e = Math.abs(p[i]! - w[i]!);
      u = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(u, e);
    }
    const pw = largest([w]);
    const up = pw === 0 ? u : u / pw;
    if (up > out.update) Object.assign(out, { update: up, updateName: name });
  }
  return out;
}

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

/**
 * Realistic shapes on which the contract's bf16 bound (2e-2 of the largest magnitude, by
 * {@link bf16StepErrors}) is met by bf16 storage alone (the host's float64 engine with bf16
 * 'act' buffers): GELU, pre-norm, D 64 and 128, 800–1,500 rows, default initialisation — measured
 * 0.008–0.017 over 32 seeds each (BENCHMARKS.md, "bf16 against fp32: what the 2e-2 bound
 * measures"). Not here, because bf16 storage alone misses 2e-2 or meets it with no margin: ReLU
 * (0.06–0.23: pre-activations moved across the kink), the few-row `cases` (up to 0.12), D ≤ 48 and
 * post-norm with 4 heads (tails at 0.020–0.025 with random batches), larger attention logits.
 */
export const bf16Cases: Case[] = [
  {
    name: 'pre-norm, 2 blocks, 2 heads, D 128, L 50, B 16, 300 items, dropout, full CE',
    model: {
      numItems: 300,
      maxLen: 50,
      hidden: 128,
      numBlocks: 2,
      numHeads: 2,
      dropout: 0.2,
      activation: 'gelu',
    },
    B: 16,
    loss: { kind: 'ce', impl: 'reference' },
  },
  {
    name: 'pre-norm, 2 blocks, 4 heads, D 64, L 37, 40 of 41 sequences, 211 items, cce- row 64',
    model: {
      numItems: 211,
      maxLen: 37,
      hidden: 64,
      numBlocks: 2,
      numHeads: 4,
      dropout: 0.1,
      activation: 'gelu',
    },
    B: 41,
    rows: 40,
    loss: { kind: 'cce-', negatives: 64, impl: 'reference' },
  },
  {
    name: 'pre-norm, 1 block, 1 head, D 128, L 45, B 24, an all-padding row, cce- block 128, clipping',
    model: {
      numItems: 257,
      maxLen: 45,
      hidden: 128,
      numBlocks: 1,
      numHeads: 1,
      dropout: 0.2,
      activation: 'gelu',
    },
    B: 24,
    emptyRow: 5,
    clipNorm: 1,
    loss: { kind: 'cce-', negatives: 128, share: 'block', blockRows: 64, impl: 'reference' },
  },
  {
    name: 'pre-norm, 2 blocks, 2 heads, D 256, L 33, B 24, 500 items, cce- batch 100',
    model: {
      numItems: 500,
      maxLen: 33,
      hidden: 256,
      numBlocks: 2,
      numHeads: 2,
      dropout: 0.1,
      activation: 'gelu',
    },
    B: 24,
    loss: { kind: 'cce-', negatives: 100, share: 'batch', impl: 'reference' },
  },
  {
    name: 'pre-norm, 2 blocks, 2 heads, D 64, L 40, B 24, 300 items, bce 16 negatives',
    model: {
      numItems: 300,
      maxLen: 40,
      hidden: 64,
      numBlocks: 2,
      numHeads: 2,
      dropout: 0.2,
      activation: 'gelu',
    },
    B: 24,
    loss: { kind: 'bce', negatives: 16 },
  },
  {
    name: 'pre-norm, 1 block, 2 heads, D 48, L 40, B 30, 300 items, gbce 16 negatives',
    model: {
      numItems: 300,
      maxLen: 40,
      hidden: 48,
      numBlocks: 1,
      numHeads: 2,
      dropout: 0.2,
      activation: 'gelu',
    },
    B: 30,
    loss: { kind: 'gbce', negatives: 16, t: 0.75 },
  },
];

/**
 * One step of case `c` on the tfjs engine (float32, CPU backend) and on the fused engine over
 * `makeDevice()` (a bf16 device), from the same parameters, batch, seed and step: the loss within
 * `tol` (relative, at least 1 absolute), and the gradients and updated parameters within `tol` by
 * {@link bf16StepErrors}. The seed is printed (CUTREC_TEST_SEED replays it).
 */
export async function expectBf16Step<B>(
  c: Case,
  label: string,
  makeDevice: () => FusedDevice<B>,
  tol = 2e-2,
): Promise<StepErrors> {
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
    const batch = randomBatch(seed, c.rows ?? c.B, L, C, c.emptyRow);
    const want = await tfjs.trainStepWithGradients(batch);
    const got = await fused.trainStepAsync(batch);
    expect(Math.abs(got - want.loss), 'loss').toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want.loss)));
    const wantParams = Object.fromEntries(
      tfjsModel.parameters.map((p) => [p.name, p.variable.dataSync() as Float32Array]),
    );
    const e = bf16StepErrors(
      want.grads,
      await fused.gradientsAsync(),
      wantParams,
      await fused.parametersAsync(),
      tol,
    );
    console.log(
      `[${label}] loss ${want.loss.toFixed(4)} (error ${Math.abs(got - want.loss).toExponential(1)}); gradients ${e.gradient.toPrecision(3)} (${e.gradientName}); updated parameters ${e.update.toPrecision(3)} (${e.updateName}; ${e.skipped} elements with a gradient within ${tol} of 0 left out)`,
    );
    expect(e.gradient, `gradient of ${e.gradientName}`).toBeLessThanOrEqual(tol);
    expect(e.update, `updated ${e.updateName}`).toBeLessThanOrEqual(tol);
    return e;
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
