/**
 * AdamW WGSL kernels against the float64 reference on lavapipe (or any adapter): Σg², the update
 * with every schedule kind at steps 0, 1 and 99, clipping on and off, weight decay on a prefix,
 * the 'act' copy, n from 1 to more than one grid-stride sweep, unaligned views, outputs poisoned
 * with NaN; and a Recording of norm → update → step increment replayed three times against the
 * reference stepped three times (the step counter and the schedule live on the device). Printed
 * seed (CUTREC_TEST_SEED replays). The 'act' copy also as f16 (where the device has shader-f16):
 * the f32 update rounded once to f16. Loss scaling (gradScale, a device scalar s): Σ (s·g)² and
 * the update on s·g against the reference, and a run on g·count with s = 1/count against a run
 * on g without a scale. Tolerances (relErr): Σg² 1e-5, params, m, v 1e-5 (also with a scale,
 * and between the scaled and the unscaled run); the f16 'act' copy 1e-3 (half an f16 ulp is 4.9e-4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  adamwUpdate,
  gradNormSquared,
  type LrSchedule,
  Runner,
  type WgslAct,
  wgslAdamwUpdate,
  wgslGradNormSquared,
  wgslStepIncrement,
} from '../src/index.js';
import { testRng } from './ops/rng.js';
import { ACTS, device, freeAll, gpuArray, relErr, run, skipReason } from './ops/wgsl-util.js';

const SCHEDULES: [string, LrSchedule][] = [
  ['constant', { kind: 'constant' }],
  ['constant, warmup 3', { kind: 'constant', warmupSteps: 3 }],
  [
    'cosine, warmup 10, total 150, floor 0.1',
    { kind: 'cosine', warmupSteps: 10, totalSteps: 150, minRatio: 0.1 },
  ],
  [
    'linear, warmup 10, total 50 (step 99 past the end)',
    { kind: 'linear', warmupSteps: 10, totalSteps: 50, minRatio: 0.2 },
  ],
];

describe.skipIf(skipReason !== undefined)('adamw (WGSL)', () => {
  afterEach(freeAll);
  const c0 = { lr: 3e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.05 };

  async function check(
    n: number,
    schedule: LrSchedule,
    step: number,
    clipNorm: number,
    pad: number,
    label: string,
    act: WgslAct = 'f32',
    gradScale?: number,
  ) {
    const rng = testRng(`wgsl adamw ${label}`);
    const gpu = device as GPUDevice;
    const params = rng.floats(n);
    const grads = rng.floats(n, 0.1);
    const m = rng.floats(n, 0.01);
    const v = Float32Array.from(rng.floats(n, 0.01), (x) => x * x);
    const P = gpuArray(n, params, { pad });
    const G = gpuArray(n, grads, { pad });
    const M = gpuArray(n, m, { pad });
    const V = gpuArray(n, v, { pad });
    const A = gpuArray(n, undefined, { pad, act });
    const normSq = gpuArray(1, undefined, { pad });
    const S = gradScale === undefined ? undefined : gpuArray(1, [gradScale], { pad: 1 }).view;
    const scale = S ? { gradScale: S } : {};
    const stepBuf = gpuArray(1, new Int32Array([step]), { int: true });
    const nDecay = Math.floor(n / 2) + 1;
    const c = { ...c0, schedule, clipNorm };
    run([
      ...wgslGradNormSquared(gpu, { g: G.view, n, out: normSq.view, ...scale }),
      ...wgslAdamwUpdate(gpu, {
        ...c,
        params: P.view,
        grads: G.view,
        m: M.view,
        v: V.view,
        n,
        nDecay,
        step: stepBuf.view,
        normSq: normSq.view,
        paramsAct: A.view,
        act,
        ...scale,
      }),
    ]);
    const want = { params: Float64Array.from(params), m: Float64Array.from(m), v: Float64Array.from(v) };
    const gs = gradScale === undefined ? 1 : Math.fround(gradScale);
    const wantNorm = gradNormSquared(grads, n, gs);
    adamwUpdate({ ...c, ...want, grads, n, nDecay, step, normSq: wantNorm, gradScale: gs });
    expect(relErr(await normSq.read(), [wantNorm]), `normSq ${label}`).toBeLessThanOrEqual(1e-5);
    expect(relErr(await P.read(), want.params), `params ${label}`).toBeLessThanOrEqual(1e-5);
    const actTol = act === 'f16' ? 1e-3 : 1e-5;
    expect(relErr(await A.read(), want.params, act), `act (${act}) ${label}`).toBeLessThanOrEqual(actTol);
    expect(relErr(await M.read(), want.m), `m ${label}`).toBeLessThanOrEqual(1e-5);
    expect(relErr(await V.read(), want.v), `v ${label}`).toBeLessThanOrEqual(1e-5);
    freeAll();
  }

  for (const [name, schedule] of SCHEDULES) {
    it(`${name}: steps 0, 1, 99, clipNorm 0 and 0.5, n = 10007`, async () => {
      for (const step of [0, 1, 99]) {
        for (const clipNorm of [0, 0.5])
          await check(10007, schedule, step, clipNorm, 0, `${name} step ${step} clip ${clipNorm}`);
      }
    });
  }

  it('n = 1, 3, 4099 at unaligned offsets and n = 300,007 (grid-stride sweeps)', async () => {
    await check(1, SCHEDULES[0]![1], 0, 0.5, 1, 'n=1');
    await check(3, SCHEDULES[1]![1], 1, 0, 3, 'n=3');
    await check(4099, SCHEDULES[2]![1], 1, 0.5, 5, 'n=4099');
    await check(300007, SCHEDULES[2]![1], 99, 1, 0, 'n=300007');
  });

  for (const act of ACTS) {
    it(`the 'act' copy as ${act}, with and without a gradient scale, at unaligned offsets`, async () => {
      for (const [n, pad, clip, gs] of [
        [1, 1, 0.5, undefined],
        [7, 3, 0, 0.125],
        [4099, 5, 0.5, 1 / 3000],
        [10007, 0, 0.05, 1 / 7],
        [300007, 2, 1, 3e-5],
      ] as const) {
        await check(n, SCHEDULES[2]![1], 1, clip, pad, `act ${act} n=${n} scale ${gs}`, act, gs);
      }
    });
  }

  it('loss scaling: g·count with gradScale 1/count equals g without it (norm, clipped update)', async () => {
    const rng = testRng('wgsl adamw grad scale');
    const gpu = device as GPUDevice;
    for (const [n, count, clipNorm] of [
      [5, 3, 0],
      [3001, 99991, 0.5],
      [70001, 131072, 0.05],
    ] as const) {
      const params = rng.floats(n);
      const grads = rng.floats(n, 0.1);
      const m = rng.floats(n, 0.01);
      const v = Float32Array.from(rng.floats(n, 0.01), (x) => x * x);
      const c = { ...c0, schedule: SCHEDULES[2]![1], clipNorm };
      const one = async (g: Float32Array, gradScale?: number) => {
        const P = gpuArray(n, params, { pad: 1 });
        const M = gpuArray(n, m, { pad: 2 });
        const V = gpuArray(n, v);
        const G = gpuArray(n, g, { pad: 3 });
        const normSq = gpuArray(1);
        const S = gradScale === undefined ? {} : { gradScale: gpuArray(1, [gradScale], { pad: 2 }).view };
        run([
          ...wgslGradNormSquared(gpu, { g: G.view, n, out: normSq.view, ...S }),
          ...wgslAdamwUpdate(gpu, {
            ...c,
            params: P.view,
            grads: G.view,
            m: M.view,
            v: V.view,
            n,
            nDecay: n >> 1,
            step: gpuArray(1, new Int32Array([4]), { int: true }).view,
            normSq: normSq.view,
            ...S,
          }),
        ]);
        return { norm: await normSq.read(), params: await P.read(), m: await M.read(), v: await V.read() };
      };
      const plain = await one(grads);
      const summed = await one(
        Float32Array.from(grads, (x) => x * count),
        1 / count,
      );
      const label = `n=${n} count=${count} clip=${clipNorm}`;
      // The reference agrees with itself the same way (float64: to rounding).
      const host = (g: ArrayLike<number>, gradScale?: number) => {
        const st = { params: Float64Array.from(params), m: Float64Array.from(m), v: Float64Array.from(v) };
        const normSq = gradNormSquared(g, n, gradScale);
        adamwUpdate({ ...c, ...st, grads: g, n, nDecay: n >> 1, step: 4, normSq, gradScale });
        return { normSq, ...st };
      };
      const hp = host(grads);
      const hs = host(
        Float64Array.from(grads, (x) => x * count),
        1 / count,
      );
      expect(relErr([hs.normSq], [hp.normSq]), `host normSq ${label}`).toBeLessThanOrEqual(1e-12);
      expect(relErr(hs.params, hp.params), `host params ${label}`).toBeLessThanOrEqual(1e-12);
      expect(relErr(hs.v, hp.v), `host v ${label}`).toBeLessThanOrEqual(1e-12);
      expect(relErr(plain.params, hp.params), `params vs host ${label}`).toBeLessThanOrEqual(1e-5);
      expect(relErr(summed.norm, plain.norm), `normSq ${label}`).toBeLessThanOrEqual(1e-5);
      expect(relErr(summed.params, plain.params), `params ${label}`).toBeLessThanOrEqual(1e-5);
      expect(relErr(summed.m, plain.m), `m ${label}`).toBeLessThanOrEqual(1e-5);
      expect(relErr(summed.v, plain.v), `v ${label}`).toBeLessThanOrEqual(1e-5);
      freeAll();
    }
  });

  it('a recording of norm → update → step increment replays three steps', async () => {
    const rng = testRng('wgsl adamw replay');
    const gpu = device as GPUDevice;
    const n = 2053;
    const schedule = SCHEDULES[2]![1];
    const c = { ...c0, schedule, clipNorm: 0.5 };
    const params = rng.floats(n);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const grads = [0, 1, 2].map(() => rng.floats(n, 0.1));
    const P = gpuArray(n, params);
    const G = gpuArray(n, grads[0]);
    const M = gpuArray(n, m);
    const V = gpuArray(n, v);
    const normSq = gpuArray(1);
    const stepBuf = gpuArray(1, new Int32Array([8]), { int: true });
    const rec = Runner.of(gpu).record([
      ...wgslGradNormSquared(gpu, { g: G.view, n, out: normSq.view }),
      ...wgslAdamwUpdate(gpu, {
        ...c,
        params: P.view,
        grads: G.view,
        m: M.view,
        v: V.view,
        n,
        nDecay: n,
        step: stepBuf.view,
        normSq: normSq.view,
      }),
      ...wgslStepIncrement(gpu, { step: stepBuf.view }),
    ]);
    const want = { params: Float64Array.from(params), m: Float64Array.from(m), v: Float64Array.from(v) };
    for (let k = 0; k < 3; k++) {
      gpu.queue.writeBuffer(G.view.buffer, 0, new Float32Array(grads[k]!));
      rec.submit();
      adamwUpdate({
        ...c,
        ...want,
        grads: grads[k]!,
        n,
        nDecay: n,
        step: 8 + k,
        normSq: gradNormSquared(grads[k]!),
      });
    }
    expect(Array.from(await stepBuf.readU32())).toEqual([11]);
    expect(relErr(await P.read(), want.params), 'params').toBeLessThanOrEqual(1e-5);
    expect(relErr(await M.read(), want.m), 'm').toBeLessThanOrEqual(1e-5);
    expect(relErr(await V.read(), want.v), 'v').toBeLessThanOrEqual(1e-5);
    rec.destroy();
  });
});
