/**
 * The fused step's buffer plan (src/fused/buffers.ts): how many [R, D] activation buffers it
 * allocates for pre- and post-norm (so that a buffer added back shows here), that the memory
 * prediction is the bytes allocation asks for, and that the step's aliasing keeps WebGPU's binding
 * rule on every op call (no buffer read through one view and written through another, no two
 * written views overlapping; in-place is only the same view), checked on the host references;
 * and the engine contract on the host at the feed-forward widths fused-cases.ts leaves out (each
 * places f and dF, pre and the recomputed layer norms differently).
 */
import { setupTfjs } from '@cutrec/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allocateStepBuffers,
  bufferSpecs,
  FusedTrainer,
  fusedBytes,
  HostDevice,
  paramLayout,
  resolveConfig,
  type SASRecConfig,
  stepBufferBytes,
  stepShapes,
} from '../src/index.js';
import { type Case, expectSameSteps, randomBatch } from './fused-cases.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

const small = (norm: 'pre' | 'post', ffnHidden: number, numBlocks = 2): SASRecConfig => ({
  numItems: 30,
  maxLen: 8,
  hidden: 16,
  ffnHidden,
  numBlocks,
  numHeads: 2,
  dropout: 0.2,
  norm,
});

/** 'act' elements of the plan in units of R·D. */
function actBuffers(config: SASRecConfig, B: number): number {
  const cfg = resolveConfig(config);
  const sh = stepShapes(cfg, B);
  const act = bufferSpecs(sh, cfg.norm)
    .filter(([, , kind]) => kind === 'act')
    .reduce((s, [, n]) => s + n, 0);
  return act / (sh.R * sh.D);
}

describe('fused step buffer plan', () => {
  it('holds 14 (pre-norm) and 18 (post-norm) R·D activation buffers at 2 blocks, F = D', () => {
    // pre: per block q, k, v, ctx (+ inp after the first); qkvGrad (2), work1, work2, dRes
    expect(actBuffers(small('pre', 16), 3)).toBe(14);
    // post: per block q, k, v, ctx, mid, sum2; qkvGrad (3), work1, work2, dRes
    expect(actBuffers(small('post', 16), 3)).toBe(18);
    expect(actBuffers(small('pre', 16, 1), 3)).toBe(9);
    expect(actBuffers(small('post', 16, 1), 3)).toBe(12);
  });

  it('F > D widens the buffers of f and dF (pre-norm work1, post-norm dRes) and pre-norm pre (qkvGrad); F < D changes nothing', () => {
    // pre-norm: work1 and qkvGrad's part after its first R·D grow by R·(F − D) each
    expect(actBuffers(small('pre', 32), 3)).toBe(16);
    expect(actBuffers(small('post', 32), 3)).toBe(19);
    expect(actBuffers(small('pre', 8), 3)).toBe(14);
    expect(actBuffers(small('post', 8), 3)).toBe(18);
    // F > 3·D: pre [R, F] kept per block; pre-norm qkvGrad back to 2·R·D
    expect(actBuffers(small('pre', 64), 3)).toBe(14 + 3 + 2 * 4);
    expect(actBuffers(small('post', 64), 3)).toBe(18 + 3 + 2 * 4);
    // no blocks: the scratch only
    expect(actBuffers(small('pre', 16, 0), 3)).toBe(5);
  });

  it('predicts the bytes that allocation asks the device for (float32, bfloat16 and float16)', () => {
    for (const norm of ['pre', 'post'] as const) {
      const cfg = resolveConfig(small(norm, 16));
      const sh = stepShapes(cfg, 3);
      for (const [dtype, bytes] of [
        ['float32', 4],
        ['bfloat16', 2],
        ['float16', 2],
      ] as const) {
        const specs = bufferSpecs(sh, norm, dtype);
        const act = specs.reduce((s, [, n, k]) => s + (k === 'act' ? n : 0), 0);
        const other = specs.reduce((s, [, n, k]) => s + (k === 'act' ? 0 : n), 0);
        expect(stepBufferBytes(sh, norm, dtype)).toBe(bytes * act + 4 * other);
        // what allocation asks a device of this dtype for
        let asked = 0;
        const device = new (class extends HostDevice {
          override alloc(n: number, kind?: 'act' | 'f32' | 'i32') {
            asked += n * (kind === 'act' ? bytes : 4);
            return super.alloc(n);
          }
        })({ dtype });
        allocateStepBuffers(device, sh, norm);
        expect(asked).toBe(stepBufferBytes(sh, norm, dtype));
      }
    }
  });

  it('at the ML-20M shape (B 256 × L 512 = R 131,072, D = F = 256, 2 blocks, 2 heads, C 15,405)', () => {
    const model: SASRecConfig = { numItems: 15_405, maxLen: 512, hidden: 256, numBlocks: 2, numHeads: 2 };
    const bytes = (norm: 'pre' | 'post', dtype: 'float32' | 'bfloat16' | 'float16') => {
      const cfg = resolveConfig({ ...model, norm });
      const sh = stepShapes(cfg, 256);
      return [stepBufferBytes(sh, norm, dtype), fusedBytes(paramLayout(cfg), sh, norm, dtype).total];
    };
    expect(actBuffers({ ...model, norm: 'pre' }, 256)).toBe(14);
    expect(actBuffers({ ...model, norm: 'post' }, 256)).toBe(18);
    // R·D buffers of 128 MiB (float32) or 64 MiB (bfloat16), the 10.5 MiB of float32 row buffers
    // (statistics, lse, loss terms, ids, delta) and, pre-norm bfloat16, the 16 MiB keep mask
    expect(bytes('pre', 'float32')).toEqual([1_890_058_244, 2_035_040_260]); // 1802.5 and 1940.8 MiB
    expect(bytes('pre', 'bfloat16')).toEqual([967_311_364, 1_122_027_524]); // 922.5 and 1070.0 MiB
    expect(bytes('post', 'float32')).toEqual([2_425_880_580, 2_570_854_404]); // 2313.5 and 2451.8 MiB
    expect(bytes('post', 'bfloat16')).toEqual([1_217_921_028, 1_372_627_972]); // 1161.5 and 1309.0 MiB
    // float16 (WebGPU): bfloat16's buffers without the keep mask (the WGSL attention draws its
    // dropout), plus the 4-byte gradient scale
    expect(bytes('pre', 'float16')).toEqual([
      967_311_364 - 16 * 2 ** 20 + 4,
      1_122_027_524 - 16 * 2 ** 20 + 4,
    ]);
    expect(bytes('post', 'float16')).toEqual([1_217_921_028 + 4, 1_372_627_972 + 4]);
    expect(bytes('pre', 'float32')[1]! / 2 ** 20).toBeLessThan(2048);
  });
});

/** Per op, the argument paths it writes (everything else of type Float64Array is read). */
const WRITES: Record<string, string[]> = {
  embeddingForward: ['out'],
  embeddingBackward: ['dTable', 'dPos'],
  layerNormForward: ['sum', 'y', 'mean', 'rstd'],
  layerNormBackward: ['dx', 'dGamma', 'dBeta', 'residualGrad.da'],
  matmul: ['c'],
  biasGrad: ['db'],
  activationForward: ['out'],
  activationBackward: ['dPre'],
  attentionForward: ['out', 'lse', 'keep'],
  attentionBackward: ['dq', 'dk', 'dv', 'delta', 'keep'],
  lossForward: ['rowLoss', 'lse'],
  lossBackward: ['dHidden', 'dItems', 'scratch'],
  meanLoss: ['dRow', 'gradScale'],
};

function views(a: unknown, path = ''): [string, Float64Array][] {
  if (a instanceof Float64Array) return [[path, a]];
  if (a === null || typeof a !== 'object') return [];
  return Object.entries(a).flatMap(([k, v]) => views(v, path ? `${path}.${k}` : k));
}

const sameView = (x: Float64Array, y: Float64Array) =>
  x.buffer === y.buffer && x.byteOffset === y.byteOffset && x.length === y.length;
const overlap = (x: Float64Array, y: Float64Array) =>
  x.buffer === y.buffer &&
  x.byteOffset < y.byteOffset + y.byteLength &&
  y.byteOffset < x.byteOffset + x.byteLength;

/** A host device that records every op call breaking WebGPU's binding rule. */
class BindingCheck extends HostDevice {
  readonly broken: string[] = [];
  constructor(dtype: 'float32' | 'bfloat16' | 'float16' = 'float32') {
    super({ dtype });
    const self = this as unknown as Record<string, (a: unknown) => void>;
    for (const [op, writes] of Object.entries(WRITES)) {
      const run = self[op]!.bind(this);
      self[op] = (a: unknown) => {
        const all = views(a);
        const out = all.filter(([p]) => writes.includes(p));
        const inp = all.filter(([p]) => !writes.includes(p));
        for (const [wp, w] of out) {
          for (const [rp, r] of inp) {
            if (w.buffer === r.buffer && !sameView(w, r))
              this.broken.push(`${op}: reads ${rp}, writes ${wp}`);
          }
          for (const [wq, w2] of out) {
            if (wq < wp && overlap(w, w2)) this.broken.push(`${op}: writes ${wq} over ${wp}`);
          }
        }
        run(a);
      };
    }
  }
}

describe("the fused step's aliasing keeps WebGPU's binding rule", () => {
  const cases: [string, SASRecConfig][] = [
    ['pre-norm, F = D', small('pre', 16)],
    ['post-norm, F = D', small('post', 16)],
    ['pre-norm, F = 2D', small('pre', 32)],
    ['post-norm, F = 2D', small('post', 32)],
    ['pre-norm, F < D', small('pre', 8)],
    ['post-norm, F < D', small('post', 8)],
    ['pre-norm, F = 4D (pre kept)', small('pre', 64)],
    ['post-norm, F = 4D (pre kept)', small('post', 64)],
    ['pre-norm, no blocks', small('pre', 16, 0)],
  ];
  for (const [name, cfg] of cases) {
    for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
      it(`${name}, ${dtype}`, () => {
        const device = new BindingCheck(dtype);
        const t = new FusedTrainer(cfg, device, { loss: { kind: 'ce' }, batchSize: 3 });
        const loss = t.trainStep(randomBatch(7, 3, 8, 30));
        expect(Number.isFinite(loss)).toBe(true);
        expect(device.broken).toEqual([]);
      });
    }
  }
});

describe('fused engine on the host = tfjs engine at other feed-forward widths', () => {
  const model = { numItems: 19, maxLen: 6, hidden: 8, numBlocks: 2, numHeads: 2, dropout: 0.2 };
  const wide: Case[] = [
    {
      name: 'post-norm, F = 2D',
      model: { ...model, norm: 'post', ffnHidden: 16 },
      B: 3,
      loss: { kind: 'ce' },
    },
    {
      name: 'pre-norm, F < D, gelu',
      model: { ...model, ffnHidden: 5, activation: 'gelu' },
      B: 3,
      loss: { kind: 'ce' },
    },
    { name: 'post-norm, F < D', model: { ...model, norm: 'post', ffnHidden: 4 }, B: 2, loss: { kind: 'ce' } },
    {
      name: 'post-norm, F = 4D (pre kept)',
      model: { ...model, norm: 'post', ffnHidden: 32 },
      B: 2,
      loss: { kind: 'ce' },
    },
  ];
  for (const c of wide) {
    it(c.name, async () => {
      await expectSameSteps(c, 'fused-host', () => new HostDevice(), 1e-4);
    });
  }
});
