/**
 * Linear WGSL kernels against the float64 reference on lavapipe (or any adapter): the tiled GEMM
 * for every (transA, transB), with and without bias and accumulate, on sizes that are not
 * multiples of the 64 × 64 × 16 tile (and K = 0, M = 1), in the scalar-load and the vec4 variant
 * (which one ran is checked), views at unaligned offsets, in both kernel layouts (the tiled GPU
 * kernel, and the barrier-free software-adapter kernels of 16 × 64 tiles: without subgroups, and,
 * where the device has them, the subgroup kernel with its vec4 loads and stores where shapes allow
 * and with none; sizes one below and above its 16-row, 64-column and 4-deep k-block edges); the
 * bias gradient with more rows than one chunk. The 'gpu' layout's 128 × 128 kernel (K steps 8 and
 * 16; the program key says it ran) for every (transA, transB), with bias and accumulate, at sizes off
 * its 128 × 128 × TK edges, vec4 and scalar loads, unaligned views, and in split K (up to 64 ranges).
 * Outputs poisoned with NaN (c starts random when accumulating); printed seed (CUTREC_TEST_SEED replays). Tolerance (relErr): 1e-5 (fp32 sums of
 * up to 130 products).
 *
 * Every case runs again with f16 activations (act 'f16', where the device has 'shader-f16'): a, b,
 * bias, dy and an f16 c are rounded to f16 first (the float64 reference runs on the rounded values),
 * f16 buffers are poisoned with f16 NaN, and each GEMM case also runs with an f32 c (`cF32`, the
 * engine's f32 weight gradients), with and without accumulate. Tolerances: an f16 c is rounded
 * once from an f32 sum, 2^-11 of its magnitude plus the f32 sum's error: 2e-3 of the largest
 * magnitude; an f32 c (and db) sees the same rounded inputs as the reference and keeps 1e-5.
 * The opt-in f16 math of the 128 × 128 kernel (math 'f16': products and each K step's partial sums
 * of 8 or 16 products in f16, flushed into f32 accumulators) gets 5e-3 of the largest sum of an
 * element's term magnitudes (Σ|a·b| + |c| + |bias|; math16Err), for f16 and f32 c alike: every
 * f16 operation rounds at 2^-11 of a partial's magnitude, and this file's shapes met at most
 * 1.2e-3 of that on lavapipe (K step 16; 8e-4 at 8); a wrong index or a lost flush gives O(1). It also runs in split K, and is refused with act 'f32'.
 */
import { maxAbs, maxAbsDiff } from '@cutrec/config/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  biasGrad,
  gemmCpuSubgroupSize,
  gemmCpuVec4Ok,
  gemmSplits,
  gemmVec4Ok,
  matmul,
  wgslBiasGrad,
  wgslMatmul,
} from '../src/index.js';
import { testRng } from './ops/rng.js';
import {
  ACTS,
  device,
  freeAll,
  gpuArray,
  LAYOUTS,
  relErr,
  roundAct,
  run,
  skipReason,
  withLayout,
} from './ops/wgsl-util.js';

type Act = (typeof ACTS)[number];

/**
 * Random a [M·K], b [K·N], c0 [M·N] and bias [N] (rounded to `act`; c0 to c's type: f32 where
 * `cF32`) and their device copies at view offset `pad` (c holds c0 when accumulating).
 */
function gemmInputs(
  rng: ReturnType<typeof testRng>,
  M: number,
  N: number,
  K: number,
  pad: number,
  accumulate: boolean,
  act: Act = 'f32',
  cF32 = false,
) {
  const cAct: Act = cF32 ? 'f32' : act;
  const a = roundAct(rng.floats(M * K), act);
  const b = roundAct(rng.floats(K * N), act);
  const c0 = roundAct(rng.floats(M * N), cAct);
  const bv = roundAct(rng.floats(N), act);
  return {
    a,
    b,
    c0,
    bv,
    ga: gpuArray(M * K, a, { pad, act }),
    gb: gpuArray(K * N, b, { pad, act }),
    gc: gpuArray(M * N, accumulate ? c0 : undefined, { pad, act: cAct }),
    gbias: gpuArray(N, bv, { pad, act }),
  };
}

/** The tolerance of a GEMM's c (see the header): 2e-3 where c is rounded to f16, else 1e-5. */
const gemmTol = (act: Act, cF32: boolean) => (act === 'f16' && !cF32 ? 2e-3 : 1e-5);

/** The tolerance of the f16-math 128 kernel (see the header). */
const MATH16_TOL = 5e-3;

/**
 * The f16 math error: max |got − want| over the largest sum of term magnitudes of an element,
 * Σ_k |a_ik·b_kj| + |c0_ij| + |bias_j| (f16 products and partial sums round at 2^-11 of their terms,
 * not of a result that may cancel to near 0; a 1 × 1 × 1 case gave 0.013 of its result). NaN
 * anywhere gives Infinity.
 */
function math16Err(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  g: { a: Float64Array; b: Float64Array; c0: Float64Array; bv: Float64Array | null },
  s: { M: number; N: number; K: number; transA: boolean; transB: boolean; accumulate: boolean },
): number {
  const abs = (x: Float64Array) => x.map(Math.abs);
  const terms = s.accumulate ? abs(g.c0) : new Float64Array(s.M * s.N);
  matmul({ ...s, a: abs(g.a), b: abs(g.b), c: terms, accumulate: s.accumulate, bias: g.bv && abs(g.bv) });
  const d = maxAbsDiff(got, want);
  return Number.isNaN(d) ? Number.POSITIVE_INFINITY : d / Math.max(maxAbs(terms), 1e-30);
}

/** The key suffix of the storage types: `/<act>`, and `/c32` for an f32 c under act 'f16'. */
const actKey = (act: Act, cF32: boolean) => `/${act}${act === 'f16' && cF32 ? '/c32' : ''}`;

/** (bias, accumulate, cF32) cases: the f32 c only where it differs from act_t (act 'f16'). */
function cases(act: Act, f32Cases: readonly (readonly [boolean, boolean])[]) {
  const base = f32Cases.map(([bias, acc]) => [bias, acc, false] as const);
  if (act === 'f32') return base;
  return [...base, [false, false, true] as const, [true, true, true] as const];
}

describe.skipIf(skipReason !== undefined)('linear (WGSL)', () => {
  afterEach(freeAll);
  const shapes: [number, number, number, number][] = [
    // M, N, K, view offset
    [1, 1, 1, 0],
    [37, 29, 13, 3],
    [65, 130, 33, 1],
    [3, 5, 0, 0],
    [100, 48, 64, 0], // vec4 for every transpose
    [36, 20, 44, 4], // vec4 with offset views
    [131, 196, 9, 0], // 'cpu': many 16-row and 64-column tiles, both partial
    [15, 63, 3, 0], // 'cpu': one below the row, column and k-block edges
    [17, 65, 5, 0], // one above
    [16, 64, 4, 0], // exactly one tile and one k block
    [20, 68, 7, 4], // vec4 a (transposed), b and c with a partial k block, offset views
    [48, 132, 12, 0], // vec4 everywhere, partial column tile
  ];
  const sg = skipReason === undefined ? gemmCpuSubgroupSize(device as GPUDevice) : 0;
  // The 'cpu' kernels: without subgroups, and where the device has them the subgroup kernel with
  // vec4 accesses where shapes allow and with none.
  const cpuKernels = [
    { name: 'no subgroups', subgroups: false, vec4: true },
    ...(sg ? [{ name: `subgroups of ${sg}`, subgroups: true, vec4: true }] : []),
    ...(sg ? [{ name: `subgroups of ${sg}, scalar`, subgroups: true, vec4: false }] : []),
  ];
  for (const act of ACTS) {
    for (const layout of LAYOUTS) {
      for (const kernel of layout === 'cpu'
        ? cpuKernels
        : [{ name: 'tiled', subgroups: false, vec4: true }]) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            it(`act ${act}, ${layout} layout (${kernel.name}), transA ${transA}, transB ${transB}: c = op(a)·op(b) (+ bias, + c) matches the reference`, () =>
              withLayout(layout, async () => {
                const rng = testRng(
                  `wgsl gemm ${transA} ${transB} ${layout} ${kernel.name}${act === 'f32' ? '' : ` ${act}`}`,
                );
                const gpu = device as GPUDevice;
                for (const [M, N, K, pad] of shapes) {
                  for (const [bias, accumulate, cF32] of cases(act, [
                    [false, false],
                    [true, true],
                  ])) {
                    const label = `act=${act} M=${M} N=${N} K=${K} pad=${pad} bias=${bias} acc=${accumulate} cF32=${cF32}`;
                    const { a, b, c0, bv, ga, gb, gc, gbias } = gemmInputs(
                      rng,
                      M,
                      N,
                      K,
                      pad,
                      accumulate,
                      act,
                      cF32,
                    );
                    const args = {
                      a: ga.view,
                      b: gb.view,
                      c: gc.view,
                      M,
                      N,
                      K,
                      transA,
                      transB,
                      accumulate,
                      vec4: kernel.vec4,
                      subgroups: kernel.subgroups,
                      act,
                      cF32,
                    };
                    const steps = wgslMatmul(gpu, { ...args, bias: bias ? gbias.view : null });
                    const t = `${transA ? 't' : 'n'}${transB ? 't' : 'n'}`;
                    let key: string;
                    if (layout === 'gpu')
                      key = `linear/gemm/${t}${gemmVec4Ok(args) ? '/vec4' : ''}/gpu${M >= 128 && N >= 128 ? '/t128k8' : ''}`;
                    else if (!kernel.subgroups)
                      key = `linear/gemm/${t}${gemmCpuVec4Ok(args) ? '/vec4' : ''}/cpu`;
                    else {
                      // pad is the offset of every view: vec4 needs it and the contiguous extents a multiple of 4.
                      const ok = kernel.vec4 && K > 0 && pad % 4 === 0;
                      const b4 = ok && (transB ? K : N) % 4 === 0;
                      const a4 = ok && (transA ? M : K) % 4 === 0;
                      const c4 = ok && N % 4 === 0;
                      key = `linear/gemm/${t}${b4 ? '/vec4' : ''}/cpu/sg${sg}${a4 ? '/a4' : ''}${c4 ? '/c4' : ''}`;
                    }
                    expect(steps[0] && 'program' in steps[0] && steps[0].program.key, label).toBe(
                      key + actKey(act, cF32),
                    );
                    run(steps);
                    const want = Float64Array.from(c0);
                    matmul({ a, b, c: want, M, N, K, transA, transB, accumulate, bias: bias ? bv : null });
                    expect(relErr(await gc.read(), want, cF32 ? 'f32' : act), label).toBeLessThanOrEqual(
                      gemmTol(act, cF32),
                    );
                  }
                  freeAll();
                }
              }));
          }
        }
      }
    }
  }

  // The 128 × 128 kernel (chosen where M and N are ≥ 128; `tile: 128` forces it for the smaller
  // ones): edges of the 128 tile and of both K steps, vec4 loads (every extent a multiple of 4,
  // offsets 0 or 4) and scalar loads (odd extents, offset 1 or 3, vec4 off).
  const shapes128: [number, number, number, number, boolean][] = [
    // M, N, K, view offset, vec4 allowed
    [1, 1, 1, 0, true],
    [37, 29, 13, 1, true],
    [3, 5, 0, 0, true],
    [300, 130, 77, 3, true],
    [129, 257, 1, 0, true],
    [128, 128, 16, 0, true],
    [260, 132, 52, 0, true], // vec4 for every transpose, partial k tile
    [260, 132, 52, 4, true], // vec4 with offset views
    [256, 136, 24, 1, true], // aligned extents at an odd offset: scalar
    [255, 129, 40, 0, false], // vec4 off
  ];
  for (const act of ACTS) {
    for (const tileK of [8, 16] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`act ${act}, gpu layout, 128 × 128 tiles (K step ${tileK}), transA ${transA}, transB ${transB}: c = op(a)·op(b) (+ bias, + c) matches the reference`, () =>
            withLayout('gpu', async () => {
              const rng = testRng(
                `wgsl gemm 128 ${tileK} ${transA} ${transB}${act === 'f32' ? '' : ` ${act}`}`,
              );
              const gpu = device as GPUDevice;
              for (const [M, N, K, pad, vec4] of shapes128) {
                for (const [bias, accumulate, cF32] of cases(act, [
                  [false, false],
                  [true, false],
                  [true, true],
                ])) {
                  const label = `act=${act} M=${M} N=${N} K=${K} pad=${pad} vec4=${vec4} bias=${bias} acc=${accumulate} cF32=${cF32}`;
                  const { a, b, c0, bv, ga, gb, gc, gbias } = gemmInputs(
                    rng,
                    M,
                    N,
                    K,
                    pad,
                    accumulate,
                    act,
                    cF32,
                  );
                  const args = {
                    a: ga.view,
                    b: gb.view,
                    c: gc.view,
                    M,
                    N,
                    K,
                    transA,
                    transB,
                    accumulate,
                    vec4,
                    act,
                    cF32,
                  };
                  const steps = wgslMatmul(gpu, {
                    ...args,
                    bias: bias ? gbias.view : null,
                    tile: 128,
                    tileK,
                  });
                  const t = `${transA ? 't' : 'n'}${transB ? 't' : 'n'}`;
                  const v4 = vec4 && gemmVec4Ok(args) ? '/vec4' : '';
                  expect(steps.length, label).toBe(1);
                  expect(steps[0] && 'program' in steps[0] && steps[0].program.key, label).toBe(
                    `linear/gemm/${t}${v4}/gpu/t128k${tileK}${actKey(act, cF32)}`,
                  );
                  run(steps);
                  const want = Float64Array.from(c0);
                  matmul({ a, b, c: want, M, N, K, transA, transB, accumulate, bias: bias ? bv : null });
                  expect(relErr(await gc.read(), want, cF32 ? 'f32' : act), label).toBeLessThanOrEqual(
                    gemmTol(act, cF32),
                  );
                }
                freeAll();
              }
            }));
        }
      }
    }
  }

  // The opt-in f16 math of the 128 × 128 kernel (math 'f16', act 'f16'): products and each K
  // step's partial sums in f16, flushed into f32 accumulators every K step; see the header for
  // the tolerance.
  describe.skipIf(!ACTS.includes('f16'))('f16 math (128 × 128 kernel)', () => {
    for (const tileK of [8, 16] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`K step ${tileK}, transA ${transA}, transB ${transB}: c = op(a)·op(b) (+ bias, + c) matches the reference`, () =>
            withLayout('gpu', async () => {
              const rng = testRng(`wgsl gemm 128 f16 math ${tileK} ${transA} ${transB}`);
              const gpu = device as GPUDevice;
              let worst = 0;
              for (const [M, N, K, pad, vec4] of shapes128) {
                for (const [bias, accumulate, cF32] of cases('f16', [
                  [false, false],
                  [true, true],
                ])) {
                  const label = `M=${M} N=${N} K=${K} pad=${pad} vec4=${vec4} bias=${bias} acc=${accumulate} cF32=${cF32}`;
                  const { a, b, c0, bv, ga, gb, gc, gbias } = gemmInputs(
                    rng,
                    M,
                    N,
                    K,
                    pad,
                    accumulate,
                    'f16',
                    cF32,
                  );
                  const args = {
                    a: ga.view,
                    b: gb.view,
                    c: gc.view,
                    M,
                    N,
                    K,
                    transA,
                    transB,
                    accumulate,
                    vec4,
                  };
                  const steps = wgslMatmul(gpu, {
                    ...args,
                    bias: bias ? gbias.view : null,
                    tile: 128,
                    tileK,
                    act: 'f16',
                    cF32,
                    math: 'f16',
                  });
                  const t = `${transA ? 't' : 'n'}${transB ? 't' : 'n'}`;
                  const v4 = vec4 && gemmVec4Ok(args) ? '/vec4' : '';
                  expect(steps[0] && 'program' in steps[0] && steps[0].program.key, label).toBe(
                    `linear/gemm/${t}${v4}/gpu/t128k${tileK}/m16${actKey('f16', cF32)}`,
                  );
                  run(steps);
                  const want = Float64Array.from(c0);
                  matmul({ a, b, c: want, M, N, K, transA, transB, accumulate, bias: bias ? bv : null });
                  const e = math16Err(
                    await gc.read(),
                    want,
                    { a, b, c0, bv: bias ? bv : null },
                    { M, N, K, transA, transB, accumulate },
                  );
                  worst = Math.max(worst, e);
                  expect(e, label).toBeLessThanOrEqual(MATH16_TOL);
                }
                freeAll();
              }
              console.log(`f16 math, K step ${tileK}: worst math16Err ${worst.toExponential(2)}`);
            }));
        }
      }
    }
  });

  it.skipIf(!ACTS.includes('f16'))(
    "math 'f16': in split K, ignored by the 64 × 64 kernel, refused with act 'f32'",
    () =>
      withLayout('gpu', async () => {
        const rng = testRng('wgsl gemm f16 math options');
        const gpu = device as GPUDevice;
        const [M, N, K, splits] = [256, 130, 1000, 7];
        for (const cF32 of [false, true]) {
          const { a, b, c0, bv, ga, gb, gc, gbias } = gemmInputs(rng, M, N, K, 1, true, 'f16', cF32);
          const part = gpuArray(splits * M * N, undefined, { pad: 3 });
          const args = {
            a: ga.view,
            b: gb.view,
            c: gc.view,
            M,
            N,
            K,
            transA: true,
            transB: false,
            accumulate: true,
          };
          const steps = wgslMatmul(gpu, {
            ...args,
            bias: gbias.view,
            splitK: { part: part.view, splits },
            act: 'f16',
            cF32,
            math: 'f16',
          });
          expect(steps.length).toBe(2);
          expect(steps[0] && 'program' in steps[0] && steps[0].program.key).toBe(
            'linear/gemm/tn/gpu/t128k8/m16/f16/c32',
          );
          run(steps);
          const want = Float64Array.from(c0);
          matmul({ a, b, c: want, M, N, K, transA: true, transB: false, accumulate: true, bias: bv });
          const e = math16Err(
            await gc.read(),
            want,
            { a, b, c0, bv },
            { M, N, K, transA: true, transB: false, accumulate: true },
          );
          expect(e, `split K cF32=${cF32}`).toBeLessThanOrEqual(MATH16_TOL);
          freeAll();
        }
        const [g, h] = [
          gpuArray(64 * 64, undefined, { act: 'f16' }),
          gpuArray(64 * 64, undefined, { act: 'f16' }),
        ];
        const base = { a: g.view, b: g.view, c: h.view, M: 64, N: 64, K: 64, transA: false, transB: false };
        const small = wgslMatmul(gpu, { ...base, act: 'f16', math: 'f16' });
        expect(small[0] && 'program' in small[0] && small[0].program.key).toBe('linear/gemm/nn/vec4/gpu/f16');
        expect(() => wgslMatmul(gpu, { ...base, math: 'f16' })).toThrow(/math 'f16' needs act 'f16'/);
        freeAll();
      }),
  );

  for (const act of ACTS) {
    it(`act ${act}, split K (gpu layout): a weight gradient over many K ranges, + bias, + c, equals the reference`, () =>
      withLayout('gpu', async () => {
        const rng = testRng(`wgsl gemm split-k${act === 'f32' ? '' : ` ${act}`}`);
        const gpu = device as GPUDevice;
        for (const [M, N, K, splits, transA, accumulate, tileK] of [
          [37, 29, 1000, 7, true, false, 8], // K not a multiple of 16 or of the splits
          [64, 64, 4096, 16, true, true, 8],
          [5, 70, 333, 40, false, true, 8], // more splits than 16-wide K ranges: fewer are made
          [20, 12, 17, 3, true, false, 8],
          // 128 × 128 tiles, both K steps:
          [256, 256, 4096, 64, true, true, 8],
          [300, 130, 1000, 7, true, false, 16], // K not a multiple of 8, 16 or the splits
          [129, 257, 333, 60, true, true, 8], // more splits than 8-wide K ranges: fewer are made
          [130, 300, 77, 5, false, false, 16],
        ] as const) {
          // f16: c as act_t and as f32 (the weight gradients' case).
          for (const cF32 of act === 'f32' ? [false] : [false, true]) {
            const label = `act=${act} cF32=${cF32} M=${M} N=${N} K=${K} splits=${splits} transA=${transA} acc=${accumulate} tileK=${tileK}`;
            const cAct: Act = cF32 ? 'f32' : act;
            const a = roundAct(rng.floats(M * K), act);
            const b = roundAct(rng.floats(K * N), act);
            const c0 = roundAct(rng.floats(M * N), cAct);
            const bv = roundAct(rng.floats(N), act);
            const ga = gpuArray(M * K, a, { pad: 1, act });
            const gb = gpuArray(K * N, b, { act });
            const gc = gpuArray(M * N, accumulate ? c0 : undefined, { pad: 2, act: cAct });
            const gbias = gpuArray(N, bv, { act });
            const part = gpuArray(splits * M * N, undefined, { pad: 3 }); // f32 always
            const args = {
              a: ga.view,
              b: gb.view,
              c: gc.view,
              M,
              N,
              K,
              transA,
              transB: false,
              accumulate,
              act,
              cF32,
            };
            const splitK = { part: part.view, splits };
            const steps = wgslMatmul(gpu, { ...args, bias: gbias.view, splitK, tileK });
            expect(steps.length, label).toBe(2);
            const t128 = M >= 128 && N >= 128 ? `/t128k${tileK}` : '';
            // The GEMM writes the f32 slices (`/c32` under f16); the sum writes c in its type.
            expect(steps[0] && 'program' in steps[0] && steps[0].program.key, label).toMatch(
              new RegExp(`^linear/gemm/${transA ? 't' : 'n'}n(/vec4)?/gpu${t128}${actKey(act, true)}$`),
            );
            expect(steps[1] && 'program' in steps[1] && steps[1].program.key, label).toBe(
              `linear/splitk-sum${actKey(act, cF32)}`,
            );
            run(steps);
            const want = Float64Array.from(accumulate ? c0 : new Float32Array(M * N));
            matmul({ a, b, c: want, M, N, K, transA, transB: false, accumulate: true, bias: bv });
            expect(relErr(await gc.read(), want, cF32 ? 'f32' : act), label).toBeLessThanOrEqual(
              gemmTol(act, cF32),
            );
            freeAll();
          }
        }
        // 128 × 128 tiles: 4 (16) tiles × 64 (16) splits = 256 workgroups; 64 × 64: 16 × 16, 64 × 4.
        expect(gemmSplits(256, 256, 131072)).toBe(64);
        expect(gemmSplits(256, 1024, 131072)).toBe(16);
        expect(gemmSplits(256, 256, 131072, 64)).toBe(16);
        expect(gemmSplits(256, 1024, 131072, 64)).toBe(4);
        expect(gemmSplits(64, 1024, 131072)).toBe(16);
        expect(gemmSplits(256, 256, 1000)).toBe(1);
        // The 64 × 64 kernel where asked for.
        const [g, h] = [gpuArray(256 * 256), gpuArray(256 * 256)];
        const forced = wgslMatmul(gpu, {
          a: g.view,
          b: g.view,
          c: h.view,
          M: 256,
          N: 256,
          K: 256,
          transA: false,
          transB: false,
          tile: 64,
        });
        expect(forced[0] && 'program' in forced[0] && forced[0].program.key).toBe(
          'linear/gemm/nn/vec4/gpu/f32',
        );
        expect(gemmSplits(131072, 256, 256)).toBe(1);
      }));
  }

  for (const act of ACTS) {
    it(`act ${act}, bias gradient: db (f32) += column sums of dy, over several row chunks`, async () => {
      const rng = testRng(`wgsl bias grad${act === 'f32' ? '' : ` ${act}`}`);
      const gpu = device as GPUDevice;
      for (const [R, N, pad] of [
        [1, 1, 0],
        [300, 70, 3],
        [600, 5, 0],
        [40000, 3, 1], // more rows than 128 chunks of 64: longer chunks
      ] as const) {
        const dy = roundAct(rng.floats(R * N), act);
        const db0 = rng.floats(N);
        const gdy = gpuArray(R * N, dy, { pad, act });
        const gdb = gpuArray(N, db0, { pad });
        const steps = wgslBiasGrad(gpu, { dy: gdy.view, db: gdb.view, R, N, act });
        expect(steps[0] && 'program' in steps[0] && steps[0].program.key).toBe(`linear/bias-grad/${act}`);
        run(steps);
        const want = Float64Array.from(db0);
        biasGrad({ dy, db: want, R, N });
        expect(relErr(await gdb.read(), want), `act=${act} R=${R} N=${N}`).toBeLessThanOrEqual(1e-5);
      }
    });
  }
});
