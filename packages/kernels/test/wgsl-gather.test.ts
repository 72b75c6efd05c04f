/**
 * The tile kernels' dItems gather (src/wgsl/gather.ts: grad-items writes partial sums into a
 * scratch, counted, sorted and summed per item; share 'block'/'batch' in layout 'gpu') against
 * the float64 reference, on the backward steps on raw buffers (wgslCceBackwardSteps), with the
 * 'gpu' layout forced so it runs on a software adapter too: awkward sizes (N not a multiple of the
 * group, K not a multiple of the tile), a catalog of 5 items and of one item (items repeat
 * hundreds of times per chunk, past the sum kernel's workgroup-memory sort), all rows ignored,
 * the in-batch sampler with no valid target (every draw the sentinel), small scratch budgets
 * (many chunks of groups), split row sweeps, chunked bindings, a caller's NaN-poisoned scratch.
 * dItems is accumulated onto random values; dHidden is NaN-poisoned. Every case runs for each
 * activation storage (ACTS): with act 'f16' hidden and items are f16 buffers of the inputs rounded
 * to f16 and the reference runs on those rounded values (dHidden, dItems, the scratch stay f32).
 * And determinism: the gather gives the same dItems bits run after run (the CAS path does not
 * promise that). Printed seed (CUTREC_TEST_SEED replays). Tolerance, f32 and f16 alike (the
 * kernels compute in f32 from exactly the values the reference sees): max |got − ref| ≤
 * 1e-4 · max(max |ref|, 1e-3) (expectGradClose; NaN anywhere fails) for dHidden and dItems (5e-4
 * for dItems where ~2,500 terms add into each element).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CceOptions,
  referenceBackward,
  referenceForward,
  resolveOptions,
  setWgslTuning,
  type WgslAct,
  type WgslTuning,
  wgslCceBackwardSteps,
} from '../src/index.js';
import { GATHER_SORT_CAP } from '../src/wgsl/gather.wgsl.js';
import { expectGradClose, randomInputs, skewedTable } from './contract.js';
import { testRng } from './ops/rng.js';
import { ACTS, device, freeAll, gpuArray, roundAct, run, skipReason } from './ops/wgsl-util.js';

interface Case {
  name: string;
  N: number;
  C: number;
  D: number;
  options: CceOptions;
  /** Scratch budget in bytes (default: the implementation's). */
  budget?: number;
  ignoredFraction?: number;
  /** Pass the scratch as the caller's buffer (NaN-filled). */
  callerScratch?: boolean;
  /**
   * Rows per storage binding (forces row and item chunks): bindings of that many rows of D f32,
   * at least 128 with act 'f16' (whose chunks start at multiples of 128 rows).
   */
  chunkRows?: number;
  /** The gradients' tolerance floor (expectGradClose; default 1e-3). */
  floor?: number;
  /** dItems' relative tolerance (default 1e-4). */
  rel?: number;
}

const groupBytes = (K: number, D: number) => K * D * 4;

const CASES: Case[] = [
  {
    name: 'block of 10, K = 37, 3 groups a chunk',
    N: 150,
    C: 140,
    D: 19,
    options: { negatives: 37, share: 'block', blockRows: 10 },
    budget: 3 * groupBytes(37, 19) + 8,
  },
  {
    name: 'block of 64, K = 70, C = 5',
    N: 200,
    C: 5,
    D: 33,
    options: { negatives: 70, share: 'block', blockRows: 64 },
  },
  // A catalog of one item: the loss is constant (every logit is the target's), so the gradients
  // are 0 up to fp32 rounding (the target's 1 − p, dItems accumulated onto values ~ 1, terms of
  // |dLoss·h| ~ 0.5): floors 0.1 and 1. With hit removal every slot the gather reads is a zero
  // the tile kernel wrote over the NaN poison.
  {
    name: 'block of 16, K = 9, a catalog of one item',
    N: 77,
    C: 1,
    D: 20,
    options: { negatives: 9, share: 'block', blockRows: 16 },
    floor: 0.1,
  },
  {
    name: 'block of 16, K = 9, one item, hits kept',
    N: 77,
    C: 1,
    D: 20,
    options: { negatives: 9, share: 'block', blockRows: 16, removeAccidentalHits: false },
    floor: 1,
  },
  {
    name: 'block of 100, K = 129, C = 2, no hit removal',
    N: 250,
    C: 2,
    D: 8,
    options: { negatives: 129, share: 'block', blockRows: 100, removeAccidentalHits: false },
  },
  {
    name: 'batch, K = 65, split row sweeps',
    N: 300,
    C: 50,
    D: 24,
    options: { negatives: 65, share: 'batch' },
  },
  {
    name: `batch, K = 2500, C = 2: > ${GATHER_SORT_CAP} an item (sorted in place), 2 splits`,
    N: 70,
    C: 2,
    D: 5,
    options: { negatives: 2500, share: 'batch', logQ: false },
    budget: 2 * groupBytes(2500, 5),
    // ~2,500 fp32 adds into each element (by either path): n·ε ≈ 1.5e-4 of the largest.
    rel: 5e-4,
  },
  // More items than one scan tile (2,048 counts): the scan carries across tiles; most items unseen.
  {
    name: 'block of 64, K = 600, C = 5,000 (3 scan tiles), 2 groups a chunk',
    N: 190,
    C: 5000,
    D: 4,
    options: { negatives: 600, share: 'block', blockRows: 64 },
    budget: 2 * groupBytes(600, 4),
  },
  {
    name: 'block of 10, all rows ignored',
    N: 45,
    C: 30,
    D: 12,
    options: { negatives: 20, share: 'block', blockRows: 10 },
    ignoredFraction: 1,
  },
  {
    name: 'popularity, block of 16, caller scratch',
    N: 130,
    C: 140,
    D: 16,
    options: {
      negatives: 12,
      share: 'block',
      blockRows: 16,
      sampler: { kind: 'popularity', table: skewedTable(140) },
    },
    budget: 2 * groupBytes(12, 16),
    callerScratch: true,
  },
  {
    name: 'inBatch, block of 8',
    N: 90,
    C: 60,
    D: 10,
    options: { negatives: 11, share: 'block', blockRows: 8, sampler: 'inBatch' },
  },
  {
    name: 'inBatch, no valid target (sentinel draws)',
    N: 40,
    C: 60,
    D: 10,
    options: { negatives: 11, share: 'block', blockRows: 8, sampler: 'inBatch' },
    ignoredFraction: 1,
  },
  {
    name: 'chunked bindings (64 rows; 128 in f16), block of 10',
    N: 300,
    C: 280,
    D: 19,
    options: { negatives: 33, share: 'block', blockRows: 10 },
    chunkRows: 64,
  },
];

type Inputs = ReturnType<typeof randomInputs>;

/**
 * Runs forward (reference lse) and the WGSL backward steps with hidden and items stored as `act`
 * (x's values rounded to it first); returns dHidden, dItems − dItems0, the reference's, and the programs run.
 */
async function backward(
  c: Case,
  x0: Inputs,
  seed: number,
  dItems0: Float32Array,
  u: Float32Array,
  act: WgslAct = 'f32',
) {
  const gpu = device as GPUDevice;
  const x = {
    ...x0,
    hidden: Float32Array.from(roundAct(x0.hidden, act)),
    items: Float32Array.from(roundAct(x0.items, act)),
  };
  const full = { seed, step: 17, ...c.options };
  const ro = resolveOptions({ ...full, impl: 'reference', checkInputs: false }, x, 'cpu');
  const o = resolveOptions({ ...full, impl: 'wgsl', checkInputs: false }, x, 'webgpu');
  const ref = referenceForward(x, ro);
  const dLoss = Float64Array.from(x.targets, (t, i) => (t === ro.ignoreIndex ? 0 : u[i]!));
  const refG = referenceBackward(x, dLoss, ro);
  const { N, C, D } = c;
  const dHidden = gpuArray(N * D);
  const dItems = gpuArray(C * D, dItems0);
  const scratch = c.callerScratch && c.budget ? gpuArray(c.budget / 4 + 64) : undefined;
  const b = wgslCceBackwardSteps(
    gpu,
    { N, C, D },
    {
      hidden: gpuArray(N * D, x.hidden, { act }).view.buffer,
      items: gpuArray(C * D, x.items, { act }).view.buffer,
      targets: gpuArray(N, x.targets, { int: true }).view.buffer,
      lse: gpuArray(
        N,
        ref.lse.map((v, i) => (x.targets[i] === ro.ignoreIndex ? 0 : v)),
      ).view.buffer,
      dLoss: gpuArray(N, dLoss).view.buffer,
      dHidden: dHidden.view.buffer,
      dItems: dItems.view.buffer,
      ...(scratch ? { itemsScratch: { buffer: scratch.view.buffer, offset: 256, size: c.budget } } : {}),
    },
    o,
    { act },
  );
  const keys = b.steps.flatMap((s) => ('program' in s ? [s.program.key] : []));
  run(b.steps);
  b.release();
  const got = await dItems.read();
  return {
    dHidden: await dHidden.read(),
    dW: Float64Array.from(got, (v, e) => v - dItems0[e]!),
    bits: new Uint32Array(got.buffer.slice(0)),
    ref: refG,
    keys,
  };
}

function withTuning(t: WgslTuning) {
  let prev: WgslTuning;
  beforeAll(() => {
    prev = setWgslTuning(t);
  });
  afterAll(() => {
    setWgslTuning(prev);
  });
}

// Each case by the gather and, as the baseline it replaces, by the CAS adds (tuning.gradItems),
// for each activation storage.
for (const mode of ['gather', 'cas'] as const) {
  for (const act of ACTS) {
    describe.skipIf(skipReason !== undefined)(
      `grad-items by ${mode} (layout 'gpu' forced), act ${act}`,
      () => {
        afterEach(freeAll);
        for (const c of CASES) {
          describe(c.name, () => {
            const chunk = c.chunkRows && Math.max(c.chunkRows, act === 'f16' ? 128 : 64);
            withTuning({
              layout: 'gpu',
              poison: true,
              gradItems: mode,
              ...(c.budget ? { gatherScratchBytes: c.budget } : {}),
              ...(chunk ? { maxBindingBytes: chunk * c.D * 4 + 100 } : {}),
            });
            it('matches the float64 reference', async () => {
              const rng = testRng(`wgsl gather ${mode} ${c.name} ${act}`);
              const x = randomInputs(rng.int(0, 2 ** 30), c.N, c.C, c.D, {
                ignoredFraction: c.ignoredFraction ?? 0.2,
              });
              const r = await backward(
                c,
                x,
                rng.int(0, 2 ** 30),
                rng.floats(c.C * c.D),
                rng.floats(c.N),
                act,
              );
              const keys = r.keys.join(' ');
              expect(
                r.keys.filter((k) => k.startsWith('tile/')).every((k) => k.includes(`/${act}`)),
                keys,
              ).toBe(true);
              expect(
                r.keys.some((k) => k.startsWith('gather/sum')),
                keys,
              ).toBe(mode === 'gather');
              expect(
                r.keys.some((k) => k.includes('grad-items') && k.includes('/atomic')),
                keys,
              ).toBe(mode === 'cas');
              expectGradClose(r.dHidden, r.ref.dHidden, 1e-4, 'dHidden', c.floor);
              expectGradClose(r.dW, r.ref.dItems, c.rel ?? 1e-4, 'dItems accumulated', c.floor);
            });
          });
        }
      },
    );
  }
}

describe.skipIf(skipReason !== undefined)('dItems gather: determinism', () => {
  afterEach(freeAll);
  // Distinct targets, so that the target kernel's CAS adds (one per item) cannot reorder either.
  const c: Case = {
    name: 'determinism',
    N: 150,
    C: 160,
    D: 21,
    options: { negatives: 200, share: 'block', blockRows: 10 },
  };
  const inputs = (seed: number) => {
    const x = randomInputs(seed, c.N, c.C, c.D, { ignoredFraction: 0 });
    const perm = Array.from({ length: c.C }, (_, i) => i).sort(
      (a, b) => ((a * 7919 + seed) % 163) - ((b * 7919 + seed) % 163),
    );
    for (let i = 0; i < c.N; i++) x.targets[i] = perm[i]!;
    return x;
  };
  for (const mode of ['gather', 'cas'] as const) {
    describe(mode, () => {
      withTuning({ layout: 'gpu', gradItems: mode, gatherScratchBytes: 4 * groupBytes(200, 21) });
      it(
        mode === 'gather'
          ? 'gives the same dItems bits in 3 runs'
          : 'runs the CAS path (no promise of equal bits)',
        async () => {
          const rng = testRng(`wgsl gather determinism ${mode}`);
          const x = inputs(rng.int(0, 2 ** 20));
          const seed = rng.int(0, 2 ** 30);
          const d0 = rng.floats(c.C * c.D);
          const u = rng.floats(c.N);
          const runs = [];
          for (let i = 0; i < 3; i++) runs.push(await backward(c, x, seed, d0, u));
          const r = runs[0]!;
          expect(
            r.keys.some((k) => k.startsWith('gather/')),
            r.keys.join(' '),
          ).toBe(mode === 'gather');
          expectGradClose(r.dW, r.ref.dItems, 1e-4, 'dItems accumulated');
          const differing = runs.slice(1).map((q) => q.bits.filter((v, e) => v !== r.bits[e]).length);
          console.log(`[gather determinism] ${mode}: elements differing from run 1: ${differing.join(', ')}`);
          if (mode === 'gather') expect(differing).toEqual([0, 0]);
        },
      );
    });
  }
});

describe.skipIf(skipReason !== undefined)('dItems gather: where it is chosen', () => {
  afterEach(freeAll);
  const c: Case = {
    name: 'choice',
    N: 40,
    C: 30,
    D: 8,
    options: { negatives: 20, share: 'block', blockRows: 10 },
  };
  const cases = [
    { layout: 'gpu', budget: undefined, gathers: true },
    { layout: 'cpu', budget: undefined, gathers: false },
    // One group's partial sums (20 × 8 floats) do not fit: the CAS path.
    { layout: 'gpu', budget: 20 * 8 * 4 - 4, gathers: false },
  ] as const;
  for (const k of cases) {
    describe(`layout '${k.layout}', budget ${k.budget ?? 'default'}`, () => {
      withTuning({ layout: k.layout, ...(k.budget ? { gatherScratchBytes: k.budget } : {}) });
      it(k.gathers ? 'gathers' : 'adds by CAS', async () => {
        const rng = testRng(`wgsl gather choice ${k.layout} ${k.budget}`);
        const x = randomInputs(rng.int(0, 2 ** 30), c.N, c.C, c.D);
        const r = await backward(c, x, rng.int(0, 2 ** 30), rng.floats(c.C * c.D), rng.floats(c.N));
        expect(
          r.keys.some((key) => key.startsWith('gather/')),
          r.keys.join(' '),
        ).toBe(k.gathers);
        expectGradClose(r.dW, r.ref.dItems, 1e-4, 'dItems accumulated');
      });
    });
  }
});
