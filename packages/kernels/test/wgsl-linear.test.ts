/**
 * Linear WGSL kernels against the float64 reference on lavapipe (or any adapter): the tiled GEMM
 * for every (transA, transB), with and without bias and accumulate, on sizes that are not
 * multiples of the 64 × 64 × 16 tile (and K = 0, M = 1), in the scalar-load and the vec4 variant
 * (which one ran is checked), views at unaligned offsets, in both kernel layouts (the tiled GPU
 * kernel, and the barrier-free software-adapter kernels of 16 × 64 tiles: without subgroups, and,
 * where the device has them, the subgroup kernel with its vec4 loads and stores where shapes allow
 * and with none; sizes one below and above its 16-row, 64-column and 4-deep k-block edges); the
 * bias gradient with more rows than one chunk. Outputs poisoned with NaN (c starts random when
 * accumulating); printed seed (CUTREC_TEST_SEED replays). Tolerance (relErr): 1e-5 (fp32 sums of
 * up to 130 products).
 */
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
import { device, freeAll, gpuArray, LAYOUTS, relErr, run, skipReason, withLayout } from './ops/wgsl-util.js';

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
  for (const layout of LAYOUTS) {
    for (const kernel of layout === 'cpu' ? cpuKernels : [{ name: 'tiled', subgroups: false, vec4: true }]) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`${layout} layout (${kernel.name}), transA ${transA}, transB ${transB}: c = op(a)·op(b) (+ bias, + c) matches the reference`, () =>
            withLayout(layout, async () => {
              const rng = testRng(`wgsl gemm ${transA} ${transB} ${layout} ${kernel.name}`);
              const gpu = device as GPUDevice;
              for (const [M, N, K, pad] of shapes) {
                for (const [bias, accumulate] of [
                  [false, false],
                  [true, true],
                ] as const) {
                  const label = `M=${M} N=${N} K=${K} pad=${pad} bias=${bias} acc=${accumulate}`;
                  const a = rng.floats(M * K);
                  const b = rng.floats(K * N);
                  const c0 = rng.floats(M * N);
                  const bv = rng.floats(N);
                  const ga = gpuArray(M * K, a, { pad });
                  const gb = gpuArray(K * N, b, { pad });
                  const gc = gpuArray(M * N, accumulate ? c0 : undefined, { pad });
                  const gbias = gpuArray(N, bv, { pad });
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
                  };
                  const steps = wgslMatmul(gpu, { ...args, bias: bias ? gbias.view : null });
                  const t = `${transA ? 't' : 'n'}${transB ? 't' : 'n'}`;
                  let key: string;
                  if (layout === 'gpu') key = `linear/gemm/${t}${gemmVec4Ok(args) ? '/vec4' : ''}/gpu`;
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
                  expect(steps[0] && 'program' in steps[0] && steps[0].program.key, label).toBe(key);
                  run(steps);
                  const want = Float64Array.from(c0);
                  matmul({ a, b, c: want, M, N, K, transA, transB, accumulate, bias: bias ? bv : null });
                  expect(relErr(await gc.read(), want), label).toBeLessThanOrEqual(1e-5);
                }
                freeAll();
              }
            }));
        }
      }
    }
  }

  it('split K (gpu layout): a weight gradient over many K ranges, + bias, + c, equals the reference', () =>
    withLayout('gpu', async () => {
      const rng = testRng('wgsl gemm split-k');
      const gpu = device as GPUDevice;
      for (const [M, N, K, splits, transA, accumulate] of [
        [37, 29, 1000, 7, true, false], // K not a multiple of 16 or of the splits
        [64, 64, 4096, 16, true, true],
        [5, 70, 333, 40, false, true], // more splits than 16-wide K ranges: fewer are made
        [20, 12, 17, 3, true, false],
      ] as const) {
        const label = `M=${M} N=${N} K=${K} splits=${splits} transA=${transA} acc=${accumulate}`;
        const a = rng.floats(M * K);
        const b = rng.floats(K * N);
        const c0 = rng.floats(M * N);
        const bv = rng.floats(N);
        const ga = gpuArray(M * K, a, { pad: 1 });
        const gb = gpuArray(K * N, b);
        const gc = gpuArray(M * N, accumulate ? c0 : undefined, { pad: 2 });
        const gbias = gpuArray(N, bv);
        const part = gpuArray(splits * M * N, undefined, { pad: 3 });
        const args = { a: ga.view, b: gb.view, c: gc.view, M, N, K, transA, transB: false, accumulate };
        const steps = wgslMatmul(gpu, { ...args, bias: gbias.view, splitK: { part: part.view, splits } });
        expect(steps.length, label).toBe(2);
        run(steps);
        const want = Float64Array.from(accumulate ? c0 : new Float32Array(M * N));
        matmul({ a, b, c: want, M, N, K, transA, transB: false, accumulate: true, bias: bv });
        expect(relErr(await gc.read(), want), label).toBeLessThanOrEqual(1e-5);
        freeAll();
      }
      expect(gemmSplits(256, 256, 131072)).toBe(16);
      expect(gemmSplits(256, 1024, 131072)).toBe(4);
      expect(gemmSplits(256, 256, 1000)).toBe(1);
      expect(gemmSplits(131072, 256, 256)).toBe(1);
    }));

  it('bias gradient: db += column sums, over several row chunks', async () => {
    const rng = testRng('wgsl bias grad');
    const gpu = device as GPUDevice;
    for (const [R, N, pad] of [
      [1, 1, 0],
      [300, 70, 3],
      [600, 5, 0],
      [40000, 3, 1], // more rows than 128 chunks of 64: longer chunks
    ] as const) {
      const dy = rng.floats(R * N);
      const db0 = rng.floats(N);
      const gdy = gpuArray(R * N, dy, { pad });
      const gdb = gpuArray(N, db0, { pad });
      run(wgslBiasGrad(gpu, { dy: gdy.view, db: gdb.view, R, N }));
      const want = Float64Array.from(db0);
      biasGrad({ dy, db: want, R, N });
      expect(relErr(await gdb.read(), want), `R=${R} N=${N}`).toBeLessThanOrEqual(1e-5);
    }
  });
});
