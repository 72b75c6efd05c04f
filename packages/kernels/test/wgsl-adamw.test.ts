/**
 * AdamW WGSL kernels against the float64 reference on lavapipe (or any adapter): Σg², the update
 * with every schedule kind at steps 0, 1 and 99, clipping on and off, weight decay on a prefix,
 * the 'act' copy, n from 1 to more than one grid-stride sweep, unaligned views, outputs poisoned
 * with NaN; and a Recording of norm → update → step increment replayed three times against the
 * reference stepped three times (the step counter and the schedule live on the device). Printed
 * seed (CUTREC_TEST_SEED replays). Tolerances (relErr): Σg² 1e-5, params, m, v 1e-5.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  adamwUpdate,
  gradNormSquared,
  type LrSchedule,
  Runner,
  wgslAdamwUpdate,
  wgslGradNormSquared,
  wgslStepIncrement,
} from '../src/index.js';
import { testRng } from './ops/rng.js';
import { device, freeAll, gpuArray, relErr, run, skipReason } from './ops/wgsl-util.js';

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
    const act = gpuArray(n, undefined, { pad });
    const normSq = gpuArray(1, undefined, { pad });
    const stepBuf = gpuArray(1, new Int32Array([step]), { int: true });
    const nDecay = Math.floor(n / 2) + 1;
    const c = { ...c0, schedule, clipNorm };
    run([
      ...wgslGradNormSquared(gpu, { g: G.view, n, out: normSq.view }),
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
        paramsAct: act.view,
      }),
    ]);
    const want = { params: Float64Array.from(params), m: Float64Array.from(m), v: Float64Array.from(v) };
    const wantNorm = gradNormSquared(grads);
    adamwUpdate({ ...c, ...want, grads, n, nDecay, step, normSq: wantNorm });
    expect(relErr(await normSq.read(), [wantNorm]), `normSq ${label}`).toBeLessThanOrEqual(1e-5);
    expect(relErr(await P.read(), want.params), `params ${label}`).toBeLessThanOrEqual(1e-5);
    expect(relErr(await act.read(), want.params), `act ${label}`).toBeLessThanOrEqual(1e-5);
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
