/**
 * The contract suite every implementation of the loss runs (DESIGN.md, "The loss contract"):
 * `describeContract(impl, { backend })` compares `cceLoss(…, { impl })` — its value and its
 * gradients through tf.valueAndGrads — with the float64 reference on fresh random inputs of
 * awkward sizes. Inputs are random per run; the seed is printed in every failure message and can
 * be fixed with CUTREC_TEST_SEED=<n>.
 *
 * Tolerances (fp32 against float64), overridable per implementation:
 * - loss: |got − ref| ≤ lossRel · max(|ref|, 1), for the scalar and for each row of 'none';
 * - gradients: max |got − ref| ≤ gradRel · max(max |ref|, 1e-3) over each of dHidden and dItems;
 * - an all-ignored batch gives exactly 0 loss and max |gradient| ≤ 1e-7.
 */
import { assertClose, maxAbs, mulberry32, testSeed } from '@cutrec/config/testing';
import { type AliasTable, buildAliasTable } from '@cutrec/sampler';
import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CceImpl, CceOptions } from '../src/index.js';
import { cceLoss, referenceBackward, referenceForward, resolveOptions } from '../src/index.js';
import { type HostCceInputs, referenceNegatives } from '../src/reference/index.js';

export interface ContractTolerance {
  /** Relative error of the loss (scalar, and per row for 'none'). Default 1e-4. */
  lossRel: number;
  /** Max abs error of a gradient relative to its largest reference entry. Default 1e-4. */
  gradRel: number;
}

export interface ContractOptions {
  /** The tfjs backend the implementation runs on. */
  backend: 'cpu' | 'webgpu';
  /** The device for 'webgpu' (from webgpuForTests()); the suite is skipped when it is undefined. */
  device?: GPUDevice;
  tolerance?: Partial<ContractTolerance>;
  /** Extra options merged into every case (e.g. a small chunkSize). */
  extraOptions?: CceOptions;
  /** Returns a reason to skip a case this implementation does not support (printed), or undefined. */
  unsupported?: (c: ContractCase) => string | undefined;
}

/** One case of the suite: sizes, options, and what the inputs must contain. */
export interface ContractCase {
  name: string;
  N: number;
  C: number;
  D: number;
  options: CceOptions;
  /** Fraction of rows whose target is ignoreIndex. Default 0.2. */
  ignoredFraction?: number;
  /** Standard deviation of hidden and items entries. Default 0.5. */
  scale?: number;
  /** Assert that some negatives equal their row's target (so masking is exercised). */
  expectHits?: boolean;
}

const BASE_SEED = testSeed('loss contract');

/** A small seeded PRNG (mulberry32) for test inputs. */
export const rng = mulberry32;

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Random host inputs: normal(0, scale²) hidden and items (float32-rounded), targets with ignored rows. */
export function randomInputs(
  seed: number,
  N: number,
  C: number,
  D: number,
  opts: { ignoredFraction?: number; scale?: number; ignoreIndex?: number } = {},
): HostCceInputs & { hidden: Float32Array; items: Float32Array; targets: Int32Array } {
  const rand = rng(seed);
  const scale = opts.scale ?? 0.5;
  const hidden = new Float32Array(N * D).map(() => scale * normal(rand));
  const items = new Float32Array(C * D).map(() => scale * normal(rand));
  const ignored = opts.ignoredFraction ?? 0.2;
  const targets = new Int32Array(N).map(() =>
    rand() < ignored ? (opts.ignoreIndex ?? -1) : Math.min(C - 1, Math.floor(rand() * C)),
  );
  return { hidden, items, targets, N, C, D };
}

const NC = { N: 37, C: 53, D: 19 };

/** A skewed popularity table over C items: a heavy head, a long tail, and some items never drawn. */
export function skewedTable(C: number): AliasTable {
  return buildAliasTable(
    Array.from({ length: C }, (_, c) => (c % 5 === 3 ? 0 : Math.floor(200 / (c + 1)) + 1)),
  );
}

/** The cases of the suite (awkward sizes: N, C, D are not multiples of any tile). */
export const CONTRACT_CASES: ContractCase[] = [
  { name: "negatives 'all', mean", ...NC, options: { negatives: 'all' } },
  {
    name: "negatives 'all', sum, large logits",
    ...NC,
    options: { negatives: 'all', reduction: 'sum' },
    scale: 2,
  },
  { name: "negatives 'all', none", ...NC, options: { negatives: 'all', reduction: 'none' } },
  { name: "negatives 'all', C = 1", N: 37, C: 1, D: 19, options: { negatives: 'all' } },
  { name: 'K = 1, share row', ...NC, options: { negatives: 1 } },
  { name: 'K = 7, share row, logQ off', ...NC, options: { negatives: 7, logQ: false } },
  { name: 'K = 80 > C = 53, sum', ...NC, options: { negatives: 80, reduction: 'sum' } },
  {
    name: 'share block, blockRows 8 (does not divide N = 37)',
    ...NC,
    options: { negatives: 9, share: 'block', blockRows: 8 },
  },
  { name: 'share block, blockRows 64 > N', ...NC, options: { negatives: 5, share: 'block' } },
  { name: 'share batch, K = 16', ...NC, options: { negatives: 16, share: 'batch' } },
  {
    name: 'share batch, logQ off, none',
    ...NC,
    options: { negatives: 11, share: 'batch', logQ: false, reduction: 'none' },
  },
  {
    name: 'C = 1, K = 3 (every negative is a hit, masked)',
    N: 37,
    C: 1,
    D: 19,
    options: { negatives: 3 },
    expectHits: true,
  },
  {
    name: 'C = 1, K = 3, removeAccidentalHits off',
    N: 37,
    C: 1,
    D: 19,
    options: { negatives: 3, removeAccidentalHits: false },
  },
  {
    name: 'accidental hits, C = 5, K = 7, row',
    N: 37,
    C: 5,
    D: 19,
    options: { negatives: 7 },
    expectHits: true,
  },
  {
    name: 'accidental hits, C = 4, block of 8',
    N: 37,
    C: 4,
    D: 19,
    options: { negatives: 6, share: 'block', blockRows: 8 },
    expectHits: true,
  },
  {
    name: 'accidental hits kept, C = 5, logQ off',
    N: 37,
    C: 5,
    D: 19,
    options: { negatives: 7, removeAccidentalHits: false, logQ: false },
  },
  {
    name: 'reduction none with ignored rows',
    ...NC,
    options: { negatives: 13, reduction: 'none' },
    ignoredFraction: 0.4,
  },
  {
    name: 'reduction sum, ignoreIndex 1000',
    ...NC,
    options: { negatives: 6, reduction: 'sum', ignoreIndex: 1000 },
  },
  { name: 'D = 1, N = 1', N: 1, C: 53, D: 1, options: { negatives: 4 }, ignoredFraction: 0 },
  { name: 'large logits, K = 31', ...NC, options: { negatives: 31 }, scale: 2 },
  { name: 'all rows ignored, mean', ...NC, options: { negatives: 8 }, ignoredFraction: 1 },
  { name: 'all rows ignored, sum', ...NC, options: { negatives: 8, reduction: 'sum' }, ignoredFraction: 1 },
  { name: 'all rows ignored, none', ...NC, options: { negatives: 8, reduction: 'none' }, ignoredFraction: 1 },
  { name: "all rows ignored, 'all'", ...NC, options: { negatives: 'all' }, ignoredFraction: 1 },
  {
    name: 'popularity, K = 9, share row',
    ...NC,
    options: { negatives: 9, sampler: { kind: 'popularity', table: skewedTable(53) } },
  },
  {
    name: 'popularity, block of 8, reduction none',
    ...NC,
    options: {
      negatives: 12,
      share: 'block',
      blockRows: 8,
      reduction: 'none',
      sampler: { kind: 'popularity', table: skewedTable(53) },
    },
  },
  {
    name: 'popularity, C = 7, accidental hits',
    N: 37,
    C: 7,
    D: 19,
    options: { negatives: 10, sampler: { kind: 'popularity', table: skewedTable(7) } },
    expectHits: true,
  },
  {
    name: 'popularity, share batch, logQ off',
    ...NC,
    options: {
      negatives: 15,
      share: 'batch',
      logQ: false,
      sampler: { kind: 'popularity', table: skewedTable(53) },
    },
  },
  { name: 'inBatch, K = 5, share row', ...NC, options: { negatives: 5, sampler: 'inBatch' } },
  {
    name: 'inBatch, share batch, accidental hits',
    ...NC,
    options: { negatives: 12, share: 'batch', sampler: 'inBatch', reduction: 'sum' },
    expectHits: true,
  },
  {
    name: 'inBatch, block of 8, hits kept',
    N: 37,
    C: 9,
    D: 19,
    options: { negatives: 6, share: 'block', blockRows: 8, sampler: 'inBatch', removeAccidentalHits: false },
  },
  {
    name: 'inBatch, all rows ignored',
    ...NC,
    options: { negatives: 5, sampler: 'inBatch' },
    ignoredFraction: 1,
  },
  { name: 'chunkSize 5, share row', ...NC, options: { negatives: 10, chunkSize: 5 } },
  {
    name: 'chunkSize 10, share block of 8',
    ...NC,
    options: { negatives: 10, share: 'block', blockRows: 8, chunkSize: 10 },
  },
  { name: 'chunkSize 6, share batch', ...NC, options: { negatives: 10, share: 'batch', chunkSize: 6 } },
  { name: "chunkSize 4, 'all'", ...NC, options: { negatives: 'all', chunkSize: 4 } },
];

/**
 * Fails (throws) unless `got` and `want` have equal lengths, hold no NaN, and every entry is
 * within `max(rel · max(max |want|, floor), abs)`: the comparison every gradient of the suite goes through.
 */
export function expectGradClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rel: number,
  label: string,
  floor = 1e-3,
  abs = 0,
): void {
  assertClose(got, want, Math.max(rel * Math.max(maxAbs(want), floor), abs), label);
}

/**
 * 16 float32 ulps of the magnitudes a one-item catalog's gradients sum: per row K + 1 logits (the
 * target and K negatives, all the one item) with coefficients of at most |dLoss| (1/count for a
 * mean), times a row of items (dHidden) or of hidden (dItems, summed over the rows).
 */
function oneItemNoise(
  x: { hidden: ArrayLike<number>; items: ArrayLike<number>; targets: ArrayLike<number> },
  options: CceOptions,
  dy: ArrayLike<number> | undefined,
): { dHidden: number; dItems: number } {
  const K = typeof options.negatives === 'number' ? options.negatives : 1;
  const valid = Array.from(x.targets).filter((t) => t !== (options.ignoreIndex ?? -1)).length;
  const dLoss = dy ? Array.from(dy, Math.abs) : Array.from(x.targets, () => 1 / Math.max(1, valid));
  const ulps = 16 * 2 ** -24 * (K + 1);
  return {
    dHidden: ulps * maxAbs(x.items) * Math.max(...dLoss),
    dItems: ulps * maxAbs(x.hidden) * dLoss.reduce((a, b) => a + b, 0),
  };
}

/** The reference's value and gradients of one case, as cceLoss would return them. */
export function referenceCase(
  x: HostCceInputs,
  options: CceOptions,
  dy: Float64Array | undefined,
): { value: Float64Array; dHidden: Float64Array; dItems: Float64Array } {
  const o = resolveOptions({ ...options, impl: 'reference', checkInputs: false }, x, 'cpu');
  const { loss } = referenceForward(x, o);
  const valid = Array.from(x.targets, (t) => (t === o.ignoreIndex ? 0 : 1));
  const count = valid.reduce((a: number, b) => a + b, 0);
  let value: Float64Array;
  const dLoss = new Float64Array(x.N);
  if (o.reduction === 'none') {
    value = loss;
    for (let i = 0; i < x.N; i++) dLoss[i] = valid[i]! * dy![i]!;
  } else {
    const sum = loss.reduce((a, b) => a + b, 0);
    value = Float64Array.of(o.reduction === 'sum' ? sum : count ? sum / count : 0);
    for (let i = 0; i < x.N; i++)
      dLoss[i] = o.reduction === 'sum' ? valid[i]! : count ? valid[i]! / count : 0;
  }
  const { dHidden, dItems } = referenceBackward(x, dLoss, o);
  return { value, dHidden, dItems };
}

/** Registers the contract suite for one implementation on one backend. */
export function describeContract(impl: Exclude<CceImpl, 'auto'>, opts: ContractOptions): void {
  const tol: ContractTolerance = { lossRel: 1e-4, gradRel: 1e-4, ...opts.tolerance };
  const skip = opts.backend === 'webgpu' && !opts.device;
  describe.skipIf(skip)(`loss contract: impl '${impl}' on tfjs '${opts.backend}' (seed ${BASE_SEED})`, () => {
    beforeAll(async () => {
      await setupTfjs({ backend: opts.backend, device: opts.device });
    });
    afterAll(() => {
      // nothing to release: every case disposes its tensors
    });
    CONTRACT_CASES.forEach((c, index) => {
      const reason = opts.unsupported?.(c);
      if (reason) console.warn(`[contract ${impl}] skipping '${c.name}': ${reason}`);
      it.skipIf(reason !== undefined)(c.name, async () => {
        const seed = (BASE_SEED + 7919 * index) >>> 0;
        const where = `[${c.name}; CUTREC_TEST_SEED=${BASE_SEED}]`;
        const rand = rng(seed ^ 0x5bd1e995);
        const options: CceOptions = {
          seed: Math.floor(rand() * 2 ** 40),
          step: Math.floor(rand() * 1000),
          ...c.options,
          ...opts.extraOptions,
        };
        const ignoreIndex = options.ignoreIndex ?? -1;
        const x = randomInputs(seed, c.N, c.C, c.D, {
          ignoredFraction: c.ignoredFraction,
          scale: c.scale,
          ignoreIndex,
        });
        const dy =
          options.reduction === 'none' ? Float64Array.from({ length: c.N }, () => rand() * 2 - 1) : undefined;

        if (c.expectHits) {
          const o = resolveOptions({ ...options, impl: 'reference', checkInputs: false }, x, 'cpu');
          const negs = referenceNegatives(x, o)!;
          let hits = 0;
          for (let k = 0; k < negs.shift.length; k++) {
            const row = Math.floor(k / negs.K);
            if (x.targets[row] !== ignoreIndex && negs.shift[k] === Number.POSITIVE_INFINITY) hits++;
          }
          expect(hits, `${where} accidental hits must occur`).toBeGreaterThan(0);
        }

        const ref = referenceCase(x, options, dy);

        const before = tf.memory().numTensors;
        const h = tf.tensor2d(x.hidden, [c.N, c.D]);
        const w = tf.tensor2d(x.items, [c.C, c.D]);
        const t = tf.tensor1d(x.targets, 'int32');
        const dyT = dy ? tf.tensor1d(Float32Array.from(dy)) : undefined;
        const { value, grads } = tf.valueAndGrads((hh: tf.Tensor, ww: tf.Tensor) =>
          cceLoss(hh as tf.Tensor2D, ww as tf.Tensor2D, t, { ...options, impl }),
        )([h, w], dyT);
        const [gotValue, gotDH, gotDW] = await Promise.all([
          value.data(),
          grads[0]!.data(),
          grads[1]!.data(),
        ]);
        tf.dispose([h, w, t, value, ...grads]);
        if (dyT) dyT.dispose();
        expect(tf.memory().numTensors, `${where} leaked tensors`).toBe(before);

        expect(gotValue.length).toBe(ref.value.length);
        expect(gotDH.length, `${where} dHidden length`).toBe(c.N * c.D);
        expect(gotDW.length, `${where} dItems length`).toBe(c.C * c.D);
        const allIgnored = x.targets.every((v) => v === ignoreIndex);
        if (allIgnored) {
          expect(maxAbs(gotValue), `${where} loss of an all-ignored batch`).toBe(0);
          expect(maxAbs(gotDH), `${where} dHidden of an all-ignored batch`).toBeLessThanOrEqual(1e-7);
          expect(maxAbs(gotDW), `${where} dItems of an all-ignored batch`).toBeLessThanOrEqual(1e-7);
          return;
        }
        for (let i = 0; i < ref.value.length; i++) {
          const r = ref.value[i]!;
          const err = Math.abs(gotValue[i]! - r);
          expect(err, `${where} loss[${i}]: got ${gotValue[i]}, reference ${r}`).toBeLessThanOrEqual(
            tol.lossRel * Math.max(Math.abs(r), 1),
          );
        }
        // A catalog of one item: the target is every negative, so both gradients are 0 in exact
        // arithmetic and what the kernels return is float32 rounding of their terms (coefficients
        // times rows of hidden or items): allow 16 ulps of the terms' sum of magnitudes.
        const zero = c.C === 1 ? oneItemNoise(x, options, dy) : { dHidden: 0, dItems: 0 };
        expectGradClose(gotDH, ref.dHidden, tol.gradRel, `${where} dHidden`, 1e-3, zero.dHidden);
        expectGradClose(gotDW, ref.dItems, tol.gradRel, `${where} dItems`, 1e-3, zero.dItems);
      });
    });
  });
}
