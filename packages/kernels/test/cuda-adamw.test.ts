/**
 * AdamW's CUDA kernels against the reference (src/ops/adamw/reference.ts): random inputs of
 * awkward sizes, outputs poisoned with NaN, every schedule kind, clipping on and off, steps 0, 1
 * and 99, nDecay in the middle, a misaligned view (scalar path), the bf16 copy, the step counter.
 * Skipped with the reason where there is no GPU; failed under CUTREC_REQUIRE_CUDA=1.
 */
import { DeviceBuffer, unpackBf16 } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import {
  ADAMW_ARGS_BYTES,
  adamwUpdate,
  cudaAdamwUpdate,
  cudaGradNormSquared,
  cudaStepIncrement,
  gradNormSquared,
  type LrSchedule,
  packAdamwArgs,
} from '../src/ops/adamw/index.js';
import { opUnavailableReason } from '../src/ops/module.js';
import { deviceView } from '../src/ops/ptr.js';
import { relMaxDiff, testRng } from './ops/rng.js';

const reason = opUnavailableReason('adamw');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA adamw tests: ${reason}`);
}
const NAN = 0x7fc00000;

describe('adamw CUDA, host side', () => {
  it('packs AdamwArgs in the layout adamw.cu static_asserts', () => {
    const b = packAdamwArgs({
      lr: 1e-3,
      schedule: { kind: 'cosine', warmupSteps: 7, totalSteps: 1000, minRatio: 0.1 },
      beta1: 0.9,
      beta2: 0.98,
      eps: 1e-8,
      weightDecay: 0.01,
      clipNorm: 1,
    });
    const v = new DataView(b.buffer);
    expect(b.byteLength).toBe(ADAMW_ARGS_BYTES);
    expect(v.getFloat64(0, true)).toBe(1e-3);
    expect(v.getFloat64(8, true)).toBe(0.1);
    expect(v.getFloat64(24, true)).toBe(0.98);
    expect(v.getFloat64(32, true)).toBe(0.01);
    expect(v.getFloat32(40, true)).toBe(Math.fround(1e-8));
    expect(v.getFloat32(44, true)).toBe(1);
    expect([v.getUint32(48, true), v.getUint32(52, true), v.getUint32(56, true)]).toEqual([1, 7, 1000]);
    const c = new DataView(
      packAdamwArgs({
        lr: 1,
        schedule: { kind: 'constant' },
        beta1: 0,
        beta2: 0,
        eps: 1,
        weightDecay: 0,
        clipNorm: 0,
      }).buffer,
    );
    expect([c.getUint32(48, true), c.getUint32(56, true)]).toEqual([0, 0]);
  });
});

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

describe.skipIf(!!reason)('adamw CUDA on a GPU', () => {
  const rng = testRng('cuda adamw');

  function run(
    n: number,
    schedule: LrSchedule,
    step: number,
    clipNorm: number,
    misalign: boolean,
    bf16: boolean,
  ) {
    const params = rng.floats(n);
    const grads = rng.floats(n, 0.1);
    const m = rng.floats(n, 0.01);
    const v = Float32Array.from(rng.floats(n, 0.01), (x) => x * x);
    const off = misalign ? 4 : 0;
    const mk = (x: Float32Array) => {
      const b = new DeviceBuffer(off + x.byteLength);
      b.write(x, off);
      return { b, p: deviceView(b, off, x.byteLength) };
    };
    const P = mk(params);
    const G = mk(grads);
    const M = mk(m);
    const V = mk(v);
    const stepBuf = DeviceBuffer.from(new Uint32Array([step]));
    const normSq = new DeviceBuffer(4);
    normSq.fill32(NAN);
    const pb = bf16 ? new DeviceBuffer(Math.ceil(n / 2) * 4) : null;
    pb?.fill32(NAN);
    const nDecay = Math.floor(n / 2) + 1;
    const c = { lr: 3e-3, schedule, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.05, clipNorm };
    cudaGradNormSquared({ g: G.p, n, out: normSq });
    cudaAdamwUpdate({
      ...c,
      params: P.p,
      grads: G.p,
      m: M.p,
      v: V.p,
      n,
      nDecay,
      step: stepBuf,
      normSq,
      paramsBf16: pb,
    });
    const gotNorm = normSq.readFloat32(1)[0]!;
    const got = {
      params: P.b.readFloat32(n, off),
      m: M.b.readFloat32(n, off),
      v: V.b.readFloat32(n, off),
    };
    const want = { params: Float64Array.from(params), m: Float64Array.from(m), v: Float64Array.from(v) };
    const wantNorm = gradNormSquared(grads);
    adamwUpdate({ ...c, ...want, grads, n, nDecay, step, normSq: wantNorm });
    expect(relMaxDiff([gotNorm], [wantNorm]), 'normSq').toBeLessThanOrEqual(1e-5);
    expect(relMaxDiff(got.params, want.params), 'params').toBeLessThanOrEqual(1e-5);
    expect(relMaxDiff(got.m, want.m), 'm').toBeLessThanOrEqual(1e-5);
    expect(relMaxDiff(got.v, want.v), 'v').toBeLessThanOrEqual(1e-5);
    if (pb) {
      const bits = pb.read(new Uint16Array(n));
      expect(relMaxDiff(unpackBf16(bits), want.params), 'paramsBf16').toBeLessThanOrEqual(8e-3);
    }
    for (const b of [P.b, G.b, M.b, V.b, stepBuf, normSq, pb]) b?.free();
  }

  for (const [name, schedule] of SCHEDULES) {
    for (const step of [0, 1, 99]) {
      for (const clipNorm of [0, 0.5]) {
        it(`${name}, step ${step}, clipNorm ${clipNorm}, n = 10007`, () => {
          run(10007, schedule, step, clipNorm, false, step === 1);
        });
      }
    }
  }

  it('misaligned views (scalar path), clipping, bf16 copy, n = 4099', () => {
    run(4099, SCHEDULES[2]![1], 1, 0.5, true, true);
  });

  it('n = 9,999,999 (several grid-stride sweeps), n = 1, n = 3', () => {
    run(9_999_999, SCHEDULES[2]![1], 99, 1, false, true);
    run(1, SCHEDULES[0]![1], 0, 0.5, false, true);
    run(3, SCHEDULES[1]![1], 1, 0, true, false);
  });

  it('the step counter: two updates with an increment between them read steps 5 and 6', () => {
    const n = 1001;
    const params = rng.floats(n);
    const g1 = rng.floats(n);
    const g2 = rng.floats(n);
    const P = DeviceBuffer.from(params);
    const G = DeviceBuffer.from(g1);
    const M = DeviceBuffer.from(new Float32Array(n));
    const V = DeviceBuffer.from(new Float32Array(n));
    const stepBuf = DeviceBuffer.from(new Uint32Array([5]));
    const normSq = new DeviceBuffer(4);
    const c = {
      lr: 0.01,
      schedule: SCHEDULES[3]![1],
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.1,
      clipNorm: 1,
      n,
      nDecay: 500,
    };
    const want = { params: Float64Array.from(params), m: new Float64Array(n), v: new Float64Array(n) };
    for (const [k, g] of [g1, g2].entries()) {
      G.write(g);
      cudaGradNormSquared({ g: G, n, out: normSq });
      cudaAdamwUpdate({ ...c, params: P, grads: G, m: M, v: V, step: stepBuf, normSq });
      cudaStepIncrement({ step: stepBuf });
      adamwUpdate({ ...c, ...want, grads: g, step: 5 + k, normSq: gradNormSquared(g) });
    }
    expect(stepBuf.read(new Uint32Array(1))[0]).toBe(7);
    expect(relMaxDiff(P.readFloat32(n), want.params)).toBeLessThanOrEqual(1e-5);
    expect(relMaxDiff(M.readFloat32(n), want.m)).toBeLessThanOrEqual(1e-5);
    expect(relMaxDiff(V.readFloat32(n), want.v)).toBeLessThanOrEqual(1e-5);
    for (const b of [P, G, M, V, stepBuf, normSq]) b.free();
  });
});
