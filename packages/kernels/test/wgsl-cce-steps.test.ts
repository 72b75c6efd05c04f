/**
 * The CCE- loss's WGSL steps on raw buffers (wgslCceForwardSteps / wgslCceBackwardSteps: what a
 * fused WebGPU engine records) against the float64 reference: row, block, batch and 'all', the
 * in-batch sampler, awkward sizes, vec4 and scalar rows, chunked bindings, outputs poisoned with
 * NaN, and dItems *accumulated* onto random starting values (EngineOps.lossBackward's contract)
 * while dHidden is written. Each case runs in every kernel layout the engine can meet: 'cpu' with
 * subgroups (the subgroup row and tile kernels, where the adapter has them), 'cpu' without
 * ($CUTREC_WGSL_SUBGROUPS=0) and 'gpu' (forced; block/batch gather dItems there), and for each
 * activation storage (ACTS): with act 'f16' hidden and items are f16 buffers holding the inputs
 * rounded to f16, and the reference runs on those same rounded values. Printed seed
 * (CUTREC_TEST_SEED replays). Tolerances (relErr): loss, lse 1e-4; dHidden, dItems 1e-4, in f16
 * too: every output is f32, computed in f32 from exactly the values the reference sees, so only
 * the f32 arithmetic differs.
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
  wgslCceForwardSteps,
} from '../src/index.js';
import { randomInputs } from './contract.js';
import { testRng } from './ops/rng.js';
import { ACTS, device, freeAll, gpuArray, relErr, roundAct, run, skipReason } from './ops/wgsl-util.js';

interface Case {
  name: string;
  N: number;
  C: number;
  D: number;
  options: CceOptions;
  /** Bytes per storage binding (forces row and item chunks). */
  maxBindingBytes?: number;
}

const cases: Case[] = [
  { name: 'share row, K = 20', N: 37, C: 53, D: 19, options: { negatives: 20 } },
  { name: 'share row, D = 16 (vec4)', N: 50, C: 41, D: 16, options: { negatives: 9 } },
  {
    name: 'share block of 10',
    N: 70,
    C: 90,
    D: 12,
    options: { negatives: 33, share: 'block', blockRows: 10 },
  },
  {
    name: 'share block of 16, D = 13 (scalar rows)',
    N: 61,
    C: 70,
    D: 13,
    options: { negatives: 21, share: 'block', blockRows: 16 },
  },
  { name: 'share batch', N: 45, C: 60, D: 8, options: { negatives: 65, share: 'batch' } },
  { name: "negatives 'all'", N: 33, C: 29, D: 7, options: { negatives: 'all' } },
  { name: "negatives 'all', D = 12 (vec4)", N: 30, C: 41, D: 12, options: { negatives: 'all' } },
  { name: 'inBatch, share row', N: 40, C: 50, D: 5, options: { negatives: 7, sampler: 'inBatch' } },
  {
    name: 'inBatch, share block of 8',
    N: 50,
    C: 40,
    D: 12,
    options: { negatives: 11, share: 'block', blockRows: 8, sampler: 'inBatch' },
  },
  // 128-row chunks of an odd D: f16 hidden/items chunks start at 128·7·2 = 3,584 bytes (256-aligned).
  {
    name: 'chunked bindings (128 rows), share block of 10, D = 7',
    N: 300,
    C: 260,
    D: 7,
    options: { negatives: 15, share: 'block', blockRows: 10 },
    maxBindingBytes: 128 * 7 * 4 + 100,
  },
  {
    name: 'chunked bindings (128 rows), share row, D = 7',
    N: 300,
    C: 260,
    D: 7,
    options: { negatives: 6 },
    maxBindingBytes: 128 * 7 * 4 + 100,
  },
];

const MODES = [
  { name: "'cpu' layout with subgroups", layout: 'cpu', subgroups: true },
  { name: "'cpu' layout without subgroups", layout: 'cpu', subgroups: false },
  { name: "'gpu' layout", layout: 'gpu', subgroups: true },
] as const;

async function check(c: Case, act: WgslAct): Promise<void> {
  const { N, C, D, options } = c;
  const rng = testRng(`wgsl cce steps ${c.name} ${act}`);
  const gpu = device as GPUDevice;
  const x = randomInputs(rng.int(0, 2 ** 30), N, C, D, { ignoredFraction: 0.2 });
  // What act storage holds (f16-rounded, exact in f32): the reference sees these same values.
  x.hidden = Float32Array.from(roundAct(x.hidden, act));
  x.items = Float32Array.from(roundAct(x.items, act));
  const full = { seed: rng.int(0, 2 ** 30), step: rng.int(0, 1000), ...options };
  const ro = resolveOptions({ ...full, impl: 'reference', checkInputs: false }, x, 'cpu');
  const o = resolveOptions({ ...full, impl: 'wgsl', checkInputs: false }, x, 'webgpu');
  const ref = referenceForward(x, ro);
  const dLoss = Float64Array.from(x.targets, (t) => (t === ro.ignoreIndex ? 0 : rng.uniform() * 2 - 1));
  const refG = referenceBackward(x, dLoss, ro);
  const hidden = gpuArray(N * D, x.hidden, { act }).view.buffer;
  const items = gpuArray(C * D, x.items, { act }).view.buffer;
  const targets = gpuArray(N, x.targets, { int: true }).view.buffer;
  const lse = gpuArray(N);
  const loss = gpuArray(N);
  const shape = { N, C, D };
  const f = wgslCceForwardSteps(
    gpu,
    shape,
    { hidden, items, targets, lse: lse.view.buffer, loss: loss.view.buffer },
    o,
    { act },
  );
  const fKeys = f.steps.flatMap((s) => ('program' in s ? [s.program.key] : []));
  run(f.steps);
  f.release();
  expect(relErr(await loss.read(), ref.loss), 'loss').toBeLessThanOrEqual(1e-4);
  const gotLse = await lse.read();
  const valid = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => x.targets[i] !== ro.ignoreIndex);
  expect(relErr(valid(gotLse), valid(ref.lse)), 'lse').toBeLessThanOrEqual(1e-4);

  const dItems0 = rng.floats(C * D);
  const dHidden = gpuArray(N * D);
  const dItems = gpuArray(C * D, dItems0);
  const b = wgslCceBackwardSteps(
    gpu,
    shape,
    {
      hidden,
      items,
      targets,
      lse: gpuArray(N, gotLse).view.buffer,
      dLoss: gpuArray(N, dLoss).view.buffer,
      dHidden: dHidden.view.buffer,
      dItems: dItems.view.buffer,
    },
    o,
    { act },
  );
  const bKeys = b.steps.flatMap((s) => ('program' in s ? [s.program.key] : []));
  // Every kernel that reads hidden or items was compiled for this act.
  for (const k of [...fKeys, ...bKeys].filter((k) => /^(row|tile|target)\//.test(k))) {
    expect(k.includes(`/${act}`), k).toBe(true);
  }
  run(b.steps);
  b.release();
  expect(relErr(await dHidden.read(), refG.dHidden), 'dHidden').toBeLessThanOrEqual(1e-4);
  const got = await dItems.read();
  const dW = Float64Array.from(got, (v, e) => v - dItems0[e]!);
  expect(relErr(dW, refG.dItems), 'dItems accumulated').toBeLessThanOrEqual(1e-4);
}

for (const mode of MODES) {
  describe.skipIf(skipReason !== undefined)(`cce steps on raw buffers (WGSL), ${mode.name}`, () => {
    afterEach(freeAll);
    let env: string | undefined;
    beforeAll(() => {
      env = process.env.CUTREC_WGSL_SUBGROUPS;
      if (!mode.subgroups) process.env.CUTREC_WGSL_SUBGROUPS = '0';
    });
    afterAll(() => {
      if (env === undefined) delete process.env.CUTREC_WGSL_SUBGROUPS;
      else process.env.CUTREC_WGSL_SUBGROUPS = env;
    });
    for (const act of ACTS) {
      for (const c of cases) {
        it(`${c.name}, act ${act}`, async () => {
          const t: WgslTuning = {
            layout: mode.layout,
            poison: true,
            ...(c.maxBindingBytes ? { maxBindingBytes: c.maxBindingBytes } : {}),
          };
          const prev = setWgslTuning(t);
          try {
            await check(c, act);
          } finally {
            setWgslTuning(prev);
          }
        });
      }
    }
  });
}
