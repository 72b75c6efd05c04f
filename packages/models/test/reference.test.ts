/**
 * The tfjs engine's BCE / gBCE loss and its AdamW against the float64 references that live beside
 * the CUDA kernels (@cutrec/kernels: ops/bce/reference.ts `bceForward`/`bceBackward`,
 * ops/adamw/reference.ts `adamwUpdate`, ops/adamw/schedule.ts `learningRate`), on the CPU backend
 * and, where an adapter exists, on WebGPU. Inputs come from a printed seed (CUTREC_TEST_SEED
 * replays it).
 *
 * Tolerances (fp32 against float64):
 * - loss: |got − ref| ≤ 1e-5 · max(|ref|, 1);
 * - gradients: max |got − ref| ≤ 1e-4 · max(max |ref|, 1e-3), NaN anywhere fails;
 * - AdamW: after every step, parameters and both moments within 1e-5 · max(max |ref|, 1e-3) of the
 *   reference run in float64 from the same float32 gradients (so the comparison isolates the
 *   update, not the gradient).
 */
import { assertClose, maxAbs, mulberry32, testSeed } from '@cutrec/config/testing';
import { adamwUpdate, bceBackward, bceForward, gradNormSquared, type LrSchedule } from '@cutrec/kernels';
import { setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AdamW, type AdamWConfig, computeLoss, gbceBeta, type LossSpec } from '../src/index.js';

const SEED = testSeed('models reference');
const { device } = await webgpuForTests();
const backends: ('cpu' | 'webgpu')[] = device ? ['cpu', 'webgpu'] : ['cpu'];
if (!device) console.warn('[models] reference tests on WebGPU skipped: no adapter');

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
}

describe('gBCE β (gSASRec, Petrov & Macdonald 2023)', () => {
  it('is 1 at t = 0 (plain BCE), α = K/(C − 1) at t = 1, and linear in t between them', () => {
    for (const [K, C] of [
      [256, 12102],
      [4, 31],
      [1, 2],
    ] as const) {
      const b0 = gbceBeta(K, C, 0);
      const b1 = gbceBeta(K, C, 1);
      expect(b0).toBe(1);
      expect(b1).toBeCloseTo(K / (C - 1), 14);
      for (const t of [0.25, 0.5, 0.75]) expect(gbceBeta(K, C, t)).toBeCloseTo((1 - t) * b0 + t * b1, 14);
    }
    expect(() => gbceBeta(4, 1, 0.5)).toThrow(/at least 2 items/);
  });
});

interface BceCase {
  name: string;
  N: number;
  C: number;
  D: number;
  spec: LossSpec;
  ignored?: number;
}

const BCE_CASES: BceCase[] = [
  { name: 'bce, K = 1', N: 23, C: 41, D: 7, spec: { kind: 'bce' } },
  {
    name: 'bce, K = 6, hits kept',
    N: 23,
    C: 5,
    D: 7,
    spec: { kind: 'bce', negatives: 6, removeAccidentalHits: false },
  },
  { name: 'bce, K = 6, hits removed (C = 5)', N: 23, C: 5, D: 7, spec: { kind: 'bce', negatives: 6 } },
  { name: 'gbce, K = 4, t = 0.75', N: 31, C: 29, D: 9, spec: { kind: 'gbce', negatives: 4, t: 0.75 } },
  { name: 'gbce, K = 9, t = 1, C = 2', N: 17, C: 2, D: 3, spec: { kind: 'gbce', negatives: 9, t: 1 } },
  {
    name: 'gbce, all rows ignored',
    N: 8,
    C: 12,
    D: 4,
    spec: { kind: 'gbce', negatives: 3, t: 0.5 },
    ignored: 1,
  },
];

describe.each(backends)(
  'BCE and gBCE through computeLoss (tfjs %s) against bceForward/bceBackward',
  (backend) => {
    BCE_CASES.forEach((c, index) => {
      it(c.name, async () => {
        await setupTfjs({ backend, ...(backend === 'webgpu' ? { device } : {}) });
        const seed = (SEED + 104729 * index) >>> 0;
        const where = `[${c.name}; tfjs ${backend}; CUTREC_TEST_SEED=${SEED}]`;
        const rand = mulberry32(seed);
        const hidden = Float32Array.from({ length: c.N * c.D }, () => normal(rand));
        const items = Float32Array.from({ length: c.C * c.D }, () => normal(rand));
        const targets = Int32Array.from({ length: c.N }, () =>
          rand() < (c.ignored ?? 0.2) ? -1 : Math.floor(rand() * c.C),
        );
        const lossSeed = Math.floor(rand() * 2 ** 40);
        const step = Math.floor(rand() * 1000);
        const K = (c.spec as { negatives?: number }).negatives ?? 1;
        const beta = c.spec.kind === 'gbce' ? gbceBeta(K, c.C, c.spec.t) : 1;
        const ref = {
          hidden,
          items,
          targets,
          N: c.N,
          C: c.C,
          D: c.D,
          K,
          beta,
          seed: lossSeed,
          step,
          removeAccidentalHits: (c.spec as { removeAccidentalHits?: boolean }).removeAccidentalHits ?? true,
          ignoreIndex: -1,
        };
        const rowLoss = new Float64Array(c.N);
        bceForward({ ...ref, rowLoss });
        const valid = targets.filter((t) => t !== -1).length;
        const want = valid ? rowLoss.reduce((a, b) => a + b, 0) / valid : 0;
        const dRow = Float64Array.from(targets, (t) => (t !== -1 ? 1 / valid : 0));
        const dHidden = new Float64Array(c.N * c.D);
        const dItems = new Float64Array(c.C * c.D);
        bceBackward({ ...ref, dRow, dHidden, dItems });

        const h = tf.tensor2d(hidden, [c.N, c.D]);
        const w = tf.tensor2d(items, [c.C, c.D]);
        const t = tf.tensor1d(targets, 'int32');
        const { value, grads } = tf.valueAndGrads((hh: tf.Tensor, ww: tf.Tensor) =>
          computeLoss(hh as tf.Tensor2D, ww as tf.Tensor2D, t, c.spec, {
            seed: lossSeed,
            step,
            hostTargets: targets,
          }),
        )([h, w]);
        const [got, gH, gW] = await Promise.all([value.data(), grads[0]!.data(), grads[1]!.data()]);
        tf.dispose([h, w, t, value, ...grads]);

        expect(got.length).toBe(1);
        expect(Math.abs(got[0]! - want), `${where} loss ${got[0]} vs reference ${want}`).toBeLessThanOrEqual(
          1e-5 * Math.max(Math.abs(want), 1),
        );
        assertClose(gH, dHidden, 1e-4 * Math.max(maxAbs(dHidden), 1e-3), `${where} dHidden`);
        assertClose(gW, dItems, 1e-4 * Math.max(maxAbs(dItems), 1e-3), `${where} dItems`);
      });
    });
  },
);

interface AdamCase {
  name: string;
  config: AdamWConfig;
  steps: number;
  /** Gradient scale (large values make clipping act). */
  gradScale: number;
}

const SCHEDULES: [string, LrSchedule][] = [
  ['constant', { kind: 'constant' }],
  ['constant, warmup 3', { kind: 'constant', warmupSteps: 3 }],
  [
    'cosine, warmup 2, total 7, minRatio 0.1 (runs past the end)',
    { kind: 'cosine', warmupSteps: 2, totalSteps: 7, minRatio: 0.1 },
  ],
  ['linear, total 6 (runs past the end)', { kind: 'linear', totalSteps: 6 }],
  [
    'linear, warmup 4, total 9, minRatio 0.5',
    { kind: 'linear', warmupSteps: 4, totalSteps: 9, minRatio: 0.5 },
  ],
];

const ADAM_CASES: AdamCase[] = [
  ...SCHEDULES.map(([name, schedule]) => ({
    name: `schedule ${name}`,
    config: { lr: 0.05, schedule, betas: [0.9, 0.98] as [number, number] },
    steps: 10,
    gradScale: 1,
  })),
  {
    name: 'weight decay 0.1 (matrices only), betas (0.8, 0.9), eps 1e-6',
    config: { lr: 0.02, weightDecay: 0.1, betas: [0.8, 0.9], eps: 1e-6 },
    steps: 6,
    gradScale: 1,
  },
  {
    name: 'global-norm clipping that acts (norm ≫ clipNorm 0.5), weight decay, cosine',
    config: {
      lr: 0.03,
      clipNorm: 0.5,
      weightDecay: 0.01,
      schedule: { kind: 'cosine', warmupSteps: 1, totalSteps: 5 },
    },
    steps: 6,
    gradScale: 20,
  },
  {
    name: 'global-norm clipping that does not act (norm < clipNorm 1e3)',
    config: { lr: 0.03, clipNorm: 1e3 },
    steps: 4,
    gradScale: 0.1,
  },
];

describe.each(backends)(
  'AdamW (tfjs %s) against adamwUpdate, every schedule, clipping, weight decay',
  (backend) => {
    ADAM_CASES.forEach((c, index) => {
      it(c.name, async () => {
        await setupTfjs({ backend, ...(backend === 'webgpu' ? { device } : {}) });
        const where = `[${c.name}; tfjs ${backend}; CUTREC_TEST_SEED=${SEED}]`;
        const rand = mulberry32((SEED + 7919 * (index + 1)) >>> 0);
        // A matrix (decayed), a vector (not decayed) and a scalar-like [1] (not decayed).
        const shapes: [string, number[]][] = [
          ['w', [3, 5]],
          ['b', [5]],
          ['s', [1]],
        ];
        const init = shapes.map(([, s]) =>
          Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => normal(rand)),
        );
        const params = shapes.map(([name, s], k) => ({
          name,
          variable: tf.variable(tf.tensor(init[k]!, s), true, `${name}-${index}-${backend}`),
        }));
        const opt = new AdamW(params, c.config);
        const cfg = opt.config;
        // The reference: one flat float64 buffer [w | b | s], decayed part first.
        const n = init.reduce((a, x) => a + x.length, 0);
        const nDecay = init[0]!.length;
        const p = Float64Array.from(init.flatMap((x) => Array.from(x)));
        const m = new Float64Array(n);
        const v = new Float64Array(n);
        let clipped = 0;
        for (let step = 0; step < c.steps; step++) {
          const g = init.map((x) => Float32Array.from(x, () => c.gradScale * normal(rand)));
          const flat = Float64Array.from(g.flatMap((x) => Array.from(x)));
          expect(opt.currentLr(), `${where} lr at step ${step}`).toBe(
            adamwUpdate({
              params: p,
              grads: flat,
              m,
              v,
              n,
              nDecay,
              step,
              lr: cfg.lr,
              schedule: cfg.schedule,
              beta1: cfg.betas[0],
              beta2: cfg.betas[1],
              eps: cfg.eps,
              weightDecay: cfg.weightDecay,
              clipNorm: cfg.clipNorm,
              normSq: gradNormSquared(flat),
            }).lr,
          );
          if (cfg.clipNorm > 0 && Math.sqrt(gradNormSquared(flat)) > cfg.clipNorm) clipped++;
          const grads = Object.fromEntries(shapes.map(([name, s], k) => [name, tf.tensor(g[k]!, s)]));
          opt.apply(grads);
          tf.dispose(Object.values(grads));
          expect(opt.step).toBe(step + 1);
          const gotP = (await Promise.all(params.map((q) => q.variable.data()))).flatMap((x) =>
            Array.from(x),
          );
          const st = opt.state();
          const gotM = (await Promise.all(st.map((s) => s.m.data()))).flatMap((x) => Array.from(x));
          const gotV = (await Promise.all(st.map((s) => s.v.data()))).flatMap((x) => Array.from(x));
          assertClose(gotP, p, 1e-5 * Math.max(maxAbs(p), 1e-3), `${where} params after step ${step + 1}`);
          assertClose(gotM, m, 1e-5 * Math.max(maxAbs(m), 1e-3), `${where} m after step ${step + 1}`);
          assertClose(gotV, v, 1e-5 * Math.max(maxAbs(v), 1e-3), `${where} v after step ${step + 1}`);
        }
        if (c.gradScale > 1) expect(clipped, `${where} clipping acted`).toBe(c.steps);
        opt.dispose();
        for (const q of params) q.variable.dispose();
      });
    });
  },
);
