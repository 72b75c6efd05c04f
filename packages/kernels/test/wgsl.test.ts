/**
 * The 'wgsl' implementation called directly (forward, backward) against the float64 reference,
 * with outputs poisoned (NaN) before each run, on sizes that force the chunked paths: bindings
 * of 64 rows (so hidden, items and the gradients are cut into several chunks whose block groups
 * straddle chunk edges) and 11 workgroups per dispatch dimension (so dispatches go 2-D). And the
 * memory contract: peak extra memory of forward + backward does not grow with K.
 *
 * Tolerances (fp32 against float64): loss and lse |got − ref| ≤ 1e-4 · max(|ref|, 1); gradients
 * max |got − ref| ≤ 1e-4 · max(max |ref|, 1e-3).
 */
import { testSeed } from '@cutrec/config/testing';
import { measurePeak, setupTfjs } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CceOptions,
  referenceBackward,
  referenceForward,
  resolveOptions,
  setWgslTuning,
  type WgslTuning,
  wgslImplementation,
  wgslLayoutOf,
} from '../src/index.js';
import { gemmCpuSubgroupSize } from '../src/ops/linear/wgsl.js';
import { RowProgram, rowSubgroup } from '../src/wgsl/row.js';
import { targetCpu } from '../src/wgsl/target.js';
import { tileVariant } from '../src/wgsl/tile.js';
import { expectGradClose, randomInputs, rng, skewedTable } from './contract.js';

const { device } = await webgpuForTests();
const SEED = testSeed('wgsl');

/** Runs forward and backward (dLoss random on valid rows) and compares all outputs with the reference. */
async function checkAgainstReference(N: number, C: number, D: number, options: CceOptions, seed: number) {
  const where = `[N=${N} C=${C} D=${D} ${JSON.stringify(options, (k, v) => (k === 'sampler' && typeof v === 'object' ? 'popularity' : v))}; CUTREC_TEST_SEED=${SEED}]`;
  const x = randomInputs(seed, N, C, D, { ignoredFraction: 0.2 });
  const rand = rng(seed ^ 0x1234567);
  const full = { seed: Math.floor(rand() * 2 ** 40), step: Math.floor(rand() * 1000), ...options };
  const ro = resolveOptions({ ...full, impl: 'reference', checkInputs: false }, x, 'cpu');
  const o = {
    ...resolveOptions({ ...full, impl: 'wgsl', checkInputs: false }, x, 'webgpu'),
    impl: 'wgsl' as const,
  };
  const ref = referenceForward(x, ro);
  const dLoss = Float64Array.from(x.targets, (t) => (t === ro.ignoreIndex ? 0 : rand() * 2 - 1));
  const refG = referenceBackward(x, dLoss, ro);

  const h = tf.tensor2d(x.hidden, [N, D]);
  const w = tf.tensor2d(x.items, [C, D]);
  const t = tf.tensor1d(x.targets, 'int32');
  const dl = tf.tensor1d(Float32Array.from(dLoss));
  const f = wgslImplementation.forward(h, w, t, o);
  const g = wgslImplementation.backward(h, w, t, f.lse, dl, o);
  const [loss, lse, dH, dW] = await Promise.all([
    f.loss.data(),
    f.lse.data(),
    g.dHidden.data(),
    g.dItems.data(),
  ]);
  tf.dispose([h, w, t, dl, f.loss, f.lse, g.dHidden, g.dItems]);

  expect(loss.length, `${where} loss length`).toBe(N);
  expect(lse.length, `${where} lse length`).toBe(N);
  for (let i = 0; i < N; i++) {
    const tol = 1e-4 * Math.max(Math.abs(ref.loss[i]!), 1);
    expect(
      Math.abs(loss[i]! - ref.loss[i]!),
      `${where} loss[${i}] ${loss[i]} vs ${ref.loss[i]}`,
    ).toBeLessThanOrEqual(tol);
    if (x.targets[i] !== ro.ignoreIndex) {
      const tl = 1e-4 * Math.max(Math.abs(ref.lse[i]!), 1);
      expect(
        Math.abs(lse[i]! - ref.lse[i]!),
        `${where} lse[${i}] ${lse[i]} vs ${ref.lse[i]}`,
      ).toBeLessThanOrEqual(tl);
    }
  }
  expectGradClose(dH, refG.dHidden, 1e-4, `${where} dHidden`);
  expectGradClose(dW, refG.dItems, 1e-4, `${where} dItems`);
}

describe.skipIf(!device)(`wgsl: chunked bindings and 2-D dispatch, poisoned outputs (seed ${SEED})`, () => {
  let prev: WgslTuning;
  const D = 19;
  beforeAll(async () => {
    await setupTfjs({ backend: 'webgpu', device });
    // 64 rows per binding: N = 150 → 3 row chunks, C = 140 → 3 item chunks.
    prev = setWgslTuning({ maxBindingBytes: 64 * D * 4 + 100, maxWorkgroupsPerDim: 11, poison: true });
  });
  afterAll(() => {
    setWgslTuning(prev);
  });
  const cases: [string, CceOptions][] = [
    ['share row, K = 20', { negatives: 20 }],
    ['share row, K > C', { negatives: 150, logQ: false }],
    ['share block of 10 (groups straddle chunks)', { negatives: 33, share: 'block', blockRows: 10 }],
    ['share block of 64', { negatives: 70, share: 'block', blockRows: 64 }],
    ['share block of 100', { negatives: 9, share: 'block', blockRows: 100, removeAccidentalHits: false }],
    ['share batch', { negatives: 65, share: 'batch' }],
    ["negatives 'all'", { negatives: 'all' }],
    [
      'popularity, block of 16',
      {
        negatives: 12,
        share: 'block',
        blockRows: 16,
        sampler: { kind: 'popularity', table: skewedTable(140) },
      },
    ],
    ['inBatch, share row', { negatives: 7, sampler: 'inBatch' }],
  ];
  cases.forEach(([name, options], i) => {
    it(name, async () => {
      await checkAgainstReference(150, 140, D, options, (SEED + 104729 * i) >>> 0);
    });
  });
  // D % 4 = 0: the row kernels read hidden and items as vec4 (chunked as well).
  it('share row, D = 16 (vec4 loads), chunked', async () => {
    await checkAgainstReference(150, 140, 16, { negatives: 21 }, (SEED + 7) >>> 0);
  });
  it('share row, D = 12 (vec4 loads), popularity', async () => {
    const options: CceOptions = { negatives: 9, sampler: { kind: 'popularity', table: skewedTable(140) } };
    await checkAgainstReference(150, 140, 12, options, (SEED + 11) >>> 0);
  });
});

// The tile kernels (share block/batch, 'all') at the edges of their shapes: rows per tile (16 for
// blocks of ≤ 16, else 64: lanes of the 'cpu' subgroup kernel), negatives per subgroup block (8 on
// lavapipe) and per k tile (64), D columns per register chunk (64) and vec4 (D % 4 = 0) or not; with
// the subgroup kernels where the device has them ('cpu' layout) and without ($CUTREC_WGSL_SUBGROUPS=0).
const TILE_EDGES: [string, number, number, CceOptions][] = [
  ['block of 15, K = 7, D = 4', 15, 4, { negatives: 7, share: 'block', blockRows: 15 }],
  ['block of 16, K = 8, D = 3', 16, 3, { negatives: 8, share: 'block', blockRows: 16 }],
  ['block of 17, K = 9, D = 64', 17, 64, { negatives: 9, share: 'block', blockRows: 17 }],
  ['block of 63, K = 63, D = 63', 63, 63, { negatives: 63, share: 'block', blockRows: 63 }],
  ['block of 64, K = 64, D = 65', 64, 65, { negatives: 64, share: 'block', blockRows: 64 }],
  ['block of 65, K = 65, D = 68', 65, 68, { negatives: 65, share: 'block', blockRows: 65, logQ: false }],
  [
    'batch, K = 129, D = 16, popularity',
    150,
    16,
    { negatives: 129, share: 'batch', sampler: { kind: 'popularity', table: skewedTable(140) } },
  ],
  ["negatives 'all', D = 12", 150, 12, { negatives: 'all' }],
];
for (const off of [false, true]) {
  describe.skipIf(!device)(
    `wgsl: tile kernels at their edges, ${off ? 'without' : 'with'} subgroups (seed ${SEED})`,
    () => {
      let prev: WgslTuning;
      let env: string | undefined;
      beforeAll(async () => {
        await setupTfjs({ backend: 'webgpu', device });
        prev = setWgslTuning({ poison: true });
        env = process.env.CUTREC_WGSL_SUBGROUPS;
        if (off) process.env.CUTREC_WGSL_SUBGROUPS = '0';
      });
      afterAll(() => {
        setWgslTuning(prev);
        if (env === undefined) delete process.env.CUTREC_WGSL_SUBGROUPS;
        else process.env.CUTREC_WGSL_SUBGROUPS = env;
      });
      it('picks the kernel it says it tests', () => {
        const v = tileVariant(device!, 64);
        const sg = !off && wgslLayoutOf(device!) === 'cpu' && gemmCpuSubgroupSize(device!) > 0;
        expect(v.subgroup ?? 0, JSON.stringify(v)).toBe(sg ? gemmCpuSubgroupSize(device!) : 0);
        if (sg) expect(tileVariant(device!, 63).vec4).toBe(false);
      });
      TILE_EDGES.forEach(([name, N, D, options], i) => {
        it(name, async () => {
          await checkAgainstReference(N, 140, D, options, (SEED + 7727 * i) >>> 0);
        });
      });
    },
  );
}

// The share 'row' kernels at the edges of the 'cpu' subgroup kernels (row-cpu.wgsl.ts): K below,
// at and past a subgroup's negatives (8 on lavapipe), D below 4, not a multiple of 4 (scalar
// loads), and past one sweep of the subgroup's 4·S columns; with the 'cpu' row and target kernels
// (subgroups), the 'cpu' target kernel with the workgroup-memory row kernel ($CUTREC_WGSL_SUBGROUPS=0),
// and the 'gpu' layout's kernels (forced), so every variant runs on a software adapter.
const ROW_EDGES: [string, number, CceOptions][] = [
  ['K = 1, D = 3', 3, { negatives: 1 }],
  ['K = 7, D = 4', 4, { negatives: 7 }],
  ['K = 8, D = 31', 31, { negatives: 8, logQ: false }],
  ['K = 9, D = 32', 32, { negatives: 9 }],
  ['K = 150 > C, D = 33, no hit removal', 33, { negatives: 150, removeAccidentalHits: false }],
  [
    'K = 17, D = 68, popularity',
    68,
    { negatives: 17, sampler: { kind: 'popularity', table: skewedTable(140) } },
  ],
  ['K = 5, D = 36, inBatch', 36, { negatives: 5, sampler: 'inBatch' }],
];
const ROW_MODES = [
  { name: "'cpu' layout with subgroups", layout: undefined, subgroups: true },
  { name: "'cpu' layout without subgroups", layout: 'cpu', subgroups: false },
  { name: "'gpu' layout", layout: 'gpu', subgroups: true },
] as const;
for (const mode of ROW_MODES) {
  describe.skipIf(!device)(`wgsl: share 'row' kernels at their edges, ${mode.name} (seed ${SEED})`, () => {
    let prev: WgslTuning;
    let env: string | undefined;
    beforeAll(async () => {
      await setupTfjs({ backend: 'webgpu', device });
      prev = setWgslTuning({ poison: true, ...(mode.layout ? { layout: mode.layout } : {}) });
      env = process.env.CUTREC_WGSL_SUBGROUPS;
      if (!mode.subgroups) process.env.CUTREC_WGSL_SUBGROUPS = '0';
    });
    afterAll(() => {
      setWgslTuning(prev);
      if (env === undefined) delete process.env.CUTREC_WGSL_SUBGROUPS;
      else process.env.CUTREC_WGSL_SUBGROUPS = env;
    });
    it('picks the kernels it says it tests', () => {
      const cpu = wgslLayoutOf(device!) === 'cpu';
      const sg = mode.subgroups && cpu ? gemmCpuSubgroupSize(device!) : 0;
      expect(rowSubgroup(device!)).toBe(sg);
      expect(targetCpu(device!)).toBe(cpu);
      const neg = { kind: 'uniform', logQ: true } as const;
      const program = new RowProgram({ neg, removeHits: true, backward: true, vec4: true, subgroup: sg });
      expect(program.key.endsWith(`/cpu/sg${sg}`)).toBe(sg > 0);
      expect(program.workgroupSize).toBe(sg > 0 ? sg : 64);
    });
    ROW_EDGES.forEach(([name, D, options], i) => {
      it(name, async () => {
        await checkAgainstReference(150, 140, D, options, (SEED + 6007 * i) >>> 0);
      });
    });
  });
}

// Share block/batch in layout 'gpu' gather dItems through a scratch that grows with K up to its
// budget (src/wgsl/gather.ts), 64 KiB here: K may add at most that, its occurrence list (1/D of
// it) and the item counts.
const GATHER_BUDGET = 2 ** 16;
describe.skipIf(!device)('wgsl: peak extra memory does not grow with K (beyond the gather budget)', () => {
  let prev: WgslTuning;
  beforeAll(async () => {
    await setupTfjs({ backend: 'webgpu', device });
    prev = setWgslTuning({ gatherScratchBytes: GATHER_BUDGET });
  });
  afterAll(() => {
    setWgslTuning(prev);
  });
  const N = 300;
  const C = 500;
  const D = 32;
  const x = randomInputs(7, N, C, D);
  const shares: CceOptions[] = [{ share: 'row' }, { share: 'block', blockRows: 64 }, { share: 'batch' }];
  for (const share of shares) {
    it(`share ${share.share}: K = 8 and K = 128 peak alike, under 2·N·4 B + 1 MiB beyond the gradients`, async () => {
      const h = tf.tensor2d(x.hidden, [N, D]);
      const w = tf.tensor2d(x.items, [C, D]);
      const t = tf.tensor1d(x.targets, 'int32');
      const dl = tf.fill([N], 1 / N) as tf.Tensor1D;
      const peaks: number[] = [];
      // The first K uploads the inputs lazily (tfjs), so it runs twice and the second counts.
      for (const K of [8, 8, 128]) {
        const o = resolveOptions({ ...share, negatives: K, impl: 'wgsl', checkInputs: false }, x, 'webgpu');
        const { peakExtraBytes } = await measurePeak(async () => {
          const f = wgslImplementation.forward(h, w, t, o);
          const g = wgslImplementation.backward(h, w, t, f.lse, dl, o);
          await g.dItems.data();
          tf.dispose([f.loss, f.lse, g.dHidden, g.dItems]);
        });
        peaks.push(peakExtraBytes);
      }
      tf.dispose([h, w, t, dl]);
      const grads = (N + C) * D * 4;
      const gathers = share.share !== 'row' && wgslLayoutOf(device!) === 'gpu';
      const slack = gathers ? GATHER_BUDGET * (1 + 1 / D) + 2 * (C + 1) * 4 : 0;
      if (gathers) expect(peaks[2]! - peaks[1]!, `peaks ${peaks}`).toBeLessThanOrEqual(slack);
      else expect(peaks[2], `peaks ${peaks}`).toBe(peaks[1]);
      expect(peaks[1]! - grads).toBeLessThanOrEqual(2 * N * 4 + 2 ** 20 + slack);
    });
  }
});
