/**
 * impl 'cuda'. Without a GPU (this machine, CI): the fatbin was compiled by the build where nvcc
 * exists, the argument block and kernel plan are checked, and everything that needs a device is
 * skipped with the reason printed. On the GPU machine (`npm run test:gpu`, CUTREC_REQUIRE_CUDA=1)
 * it runs the shared contract suite against 'cuda' plus known-answer and dtype tests.
 *
 * Tolerances (vs the float64 reference on the same, dtype-rounded inputs):
 * - float32, gather kernel and 3×tf32 tile kernel: contract defaults (1e-4 loss, 1e-4 gradients);
 * - float32 with plain tf32: loss 2e-3, gradients 1e-2;
 * - float16 / bfloat16 inputs (f32 accumulation): loss 1e-3 relative; gradients 1e-2 of the
 *   largest entry (the tile kernel rounds dS to 16 bits before its tensor-core products).
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { maxAbs, maxAbsDiff, testSeed } from '@cutrec/config/testing';
import {
  type CudaDtype,
  type CudaTensor,
  cudaTensor,
  DeviceBuffer,
  packBf16,
  packF16,
  unpackBf16,
  unpackF16,
} from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import {
  CCE_ARGS_BYTES,
  type CceOptions,
  type CudaCallOptions,
  cudaCceBackward,
  cudaCceForward,
  cudaKernelsUnavailableReason,
  packCceArgs,
  planKernel,
  referenceBackward,
  referenceForward,
  resolveOptions,
} from '../src/index.js';
import { describeContract, randomInputs } from './contract.js';

const reason = cudaKernelsUnavailableReason();
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA kernel tests: ${reason}`);
}
const fatbin = fileURLToPath(new URL('../build/cce.fatbin', import.meta.url));
const hasNvcc = spawnSync('nvcc', ['--version']).status === 0;

describe('CUDA kernels, host side', () => {
  it.skipIf(!hasNvcc)('the build compiled build/cce.fatbin with nvcc', () => {
    expect(existsSync(fatbin)).toBe(true);
  });

  it('packs CceArgs in the layout cce_common.cuh static_asserts', () => {
    const b = packCceArgs({
      H: { address: 0x1000n } as never,
      W: { address: 0x2000n } as never,
      Y: { address: 0x3000n } as never,
      N: 5,
      C: 6,
      D: 7,
      K: 8,
      mode: 1,
      blockRows: 64,
      k0: 0xffffffff,
      k1: 2,
      stream: 3,
      skind: 0,
      sn: 6,
      flags: 3,
      ignoreIndex: -1,
      logK: 1.5,
      tilesPerGroup: 1,
    });
    const v = new DataView(b.buffer);
    expect(b.byteLength).toBe(CCE_ARGS_BYTES);
    expect(v.getBigUint64(8, true)).toBe(0x2000n);
    expect(v.getBigUint64(48, true)).toBe(0n);
    expect(v.getInt32(88, true)).toBe(5);
    expect(v.getUint32(112, true)).toBe(0xffffffff);
    expect(v.getFloat32(140, true)).toBe(1.5);
    expect(v.getInt32(136, true)).toBe(-1);
  });

  it('plans the tile kernel for block/batch/all where shared memory fits, else the gather kernel', () => {
    const device = { sharedMemoryPerBlockOptin: 232448, major: 9 } as never;
    const base = {
      N: 1000,
      D: 256,
      blockRows: 64,
      backward: true,
      device,
      kernel: 'auto',
      f32Precision: 'tf32x3',
    } as const;
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'block' }).name).toBe('cce_tile_bwd_bf16_mma256');
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'block', D: 96 }).name).toBe(
      'cce_tile_bwd_bf16_mma128',
    );
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'all', D: 64, backward: false }).name).toBe(
      'cce_tile_fwd_bf16_mma',
    );
    // the WMMA form: forced, D not 32·n or above 256, unaligned rows, float16
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'block', kernel: 'tile-wmma' }).name).toBe(
      'cce_tile_bwd_bf16',
    );
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'block', D: 72 }).name).toBe('cce_tile_bwd_bf16');
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'block', D: 288 }).name).toBe('cce_tile_bwd_bf16');
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'block', aligned16: false }).name).toBe(
      'cce_tile_bwd_bf16',
    );
    expect(planKernel({ ...base, dtype: 'float16', mode: 'block' }).name).toBe('cce_tile_bwd_f16');
    expect(planKernel({ ...base, dtype: 'float32', mode: 'batch' }).name).toBe('cce_tile_bwd_f32x3');
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'row' }).name).toBe('cce_row_bwd_bf16_v8_c1');
    expect(planKernel({ ...base, dtype: 'float32', mode: 'row', D: 19 }).name).toBe('cce_row_bwd_f32_v1_c1');
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'row', D: 250 }).name).toBe(
      'cce_row_bwd_bf16_v1_c8',
    );
    expect(planKernel({ ...base, dtype: 'float32', mode: 'block', blockRows: 8 }).kind).toBe('row');
    const small = { sharedMemoryPerBlockOptin: 101376, major: 8 } as never;
    expect(planKernel({ ...base, dtype: 'bfloat16', mode: 'block', device: small }).kind).toBe('row');
    expect(() => planKernel({ ...base, dtype: 'float32', mode: 'row', D: 4096 })).toThrow(/D = 4096 .*limit/);
  });

  it.skipIf(!reason)("impl 'cuda' reports itself unavailable here", () => {
    expect(reason).toMatch(/^CUDA unavailable: /);
  });
});

// ---- on a GPU ----

function toDtype(x: Float32Array, dtype: CudaDtype): { data: ArrayBufferView; rounded: Float32Array } {
  if (dtype === 'float32') return { data: x, rounded: x };
  const bits = dtype === 'float16' ? packF16(x) : packBf16(x);
  return { data: bits, rounded: dtype === 'float16' ? unpackF16(bits) : unpackBf16(bits) };
}

const NAN = 0x7fc00000;

// NaN-sticky (NaN anywhere, or a length mismatch, fails every bound).
const maxDiff = maxAbsDiff;

interface Case {
  N: number;
  C: number;
  D: number;
  options: CceOptions;
  call?: CudaCallOptions;
}

function runCase(dtype: CudaDtype, c: Case, seed: number) {
  const x = randomInputs(seed, c.N, c.C, c.D, { ignoredFraction: 0.2 });
  const h = toDtype(x.hidden, dtype);
  const w = toDtype(x.items, dtype);
  const hidden = cudaTensor(h.data, [c.N, c.D], dtype);
  const items = cudaTensor(w.data, [c.C, c.D], dtype);
  const targets: CudaTensor = cudaTensor(x.targets, [c.N], 'int32');
  const loss = new DeviceBuffer(c.N * 4);
  const lse = new DeviceBuffer(c.N * 4);
  loss.fill32(NAN);
  lse.fill32(NAN);
  const fwd = cudaCceForward(hidden, items, targets, c.options, c.call, { loss, lse });
  const dLossHost = Float32Array.from({ length: c.N }, (_, i) =>
    x.targets[i] === -1 ? 0 : Math.sin(i) + 1.5,
  );
  const dLoss = DeviceBuffer.from(dLossHost);
  const dHidden = new DeviceBuffer(c.N * c.D * 4);
  dHidden.fill32(NAN);
  const bwd = cudaCceBackward(hidden, items, targets, fwd.lse, dLoss, c.options, c.call, { dHidden });
  const got = {
    loss: fwd.loss.readFloat32(c.N),
    dHidden: bwd.dHidden.readFloat32(c.N * c.D),
    dItems: bwd.dItems.readFloat32(c.C * c.D),
  };
  const xr = { ...x, hidden: h.rounded, items: w.rounded };
  const o = resolveOptions({ ...c.options, impl: 'reference' }, xr, 'cpu');
  const ref = referenceForward(xr, o);
  const g = referenceBackward(xr, dLossHost, o);
  for (const b of [hidden.buffer, items.buffer, targets.buffer, loss, lse, dLoss, dHidden, bwd.dItems])
    b.free();
  return {
    got,
    ref: { loss: ref.loss, dHidden: g.dHidden, dItems: g.dItems },
    kernels: [fwd.kernel, bwd.kernel],
  };
}

const SEED = testSeed('cuda kernels');

describe.skipIf(!!reason)(`CUDA kernels on a GPU (seed ${SEED})`, () => {
  it("known answer: N = 1, C = 2, D = 1, negatives 'all' gives log 4 and gradients ±3/4", () => {
    const hidden = cudaTensor(new Float32Array([1]), [1, 1], 'float32');
    const items = cudaTensor(new Float32Array([0, Math.log(3)]), [2, 1], 'float32');
    const targets = cudaTensor(new Int32Array([0]), [1], 'int32');
    for (const kernel of ['row', 'tile'] as const) {
      const f = cudaCceForward(hidden, items, targets, { negatives: 'all' }, { kernel });
      expect(f.loss.readFloat32(1)[0]).toBeCloseTo(Math.log(4), 6);
      const b = cudaCceBackward(
        hidden,
        items,
        targets,
        f.lse,
        DeviceBuffer.from(new Float32Array([1])),
        { negatives: 'all' },
        { kernel },
      );
      // d/dh = Σ p_c w_c − w_y = 3/4 · ln 3; d/dw_0 = (1/4 − 1) · h; d/dw_1 = 3/4 · h
      expect(b.dHidden.readFloat32(1)[0]).toBeCloseTo(0.75 * Math.log(3), 5);
      const dW = b.dItems.readFloat32(2);
      expect(dW[0]).toBeCloseTo(-0.75, 5);
      expect(dW[1]).toBeCloseTo(0.75, 5);
    }
  });

  const cases: [string, Case][] = [
    ['row, K = 37, D = 19', { N: 45, C: 70, D: 19, options: { negatives: 37 } }],
    ['row, K = 100, D = 64 (16-byte loads)', { N: 45, C: 70, D: 64, options: { negatives: 100 } }],
    [
      'row, 3 backward passes over item ranges',
      { N: 45, C: 70, D: 64, options: { negatives: 100 }, call: { rowPasses: 3 } },
    ],
    ['row, K = 1, D = 250', { N: 33, C: 70, D: 250, options: { negatives: 1, logQ: false } }],
    ['block 64 tile, K = 77, D = 40', { N: 150, C: 90, D: 40, options: { negatives: 77, share: 'block' } }],
    [
      'block 16 tile, accidental hits, C = 5',
      { N: 70, C: 5, D: 24, options: { negatives: 9, share: 'block', blockRows: 16 } },
    ],
    [
      'block 8 (gather), K = 9',
      { N: 37, C: 53, D: 19, options: { negatives: 9, share: 'block', blockRows: 8 } },
    ],
    ['batch tile, K = 130, D = 33', { N: 100, C: 300, D: 33, options: { negatives: 130, share: 'batch' } }],
    ["'all' tile, C = 211, D = 72", { N: 90, C: 211, D: 72, options: { negatives: 'all' } }],
    [
      "'all' gather, C = 211",
      { N: 90, C: 211, D: 72, options: { negatives: 'all' }, call: { kernel: 'row' } },
    ],
    [
      'batch gather (forced), K = 20',
      { N: 50, C: 40, D: 16, options: { negatives: 20, share: 'batch' }, call: { kernel: 'row' } },
    ],
    [
      'inBatch sampler, block 32 tile',
      { N: 80, C: 500, D: 32, options: { negatives: 40, share: 'block', blockRows: 32, sampler: 'inBatch' } },
    ],
    // D = 32·n ≤ 256: the mma.sync tile kernel in bf16 (WMMA in float16 and float32); a partial
    // last negative tile, partial row tiles, several tiles per group, every D-register size
    [
      'block 64 tile, K = 130, D = 64',
      { N: 150, C: 400, D: 64, options: { negatives: 130, share: 'block' } },
    ],
    [
      'block 128 (2 row tiles per group), K = 200, D = 256',
      { N: 300, C: 700, D: 256, options: { negatives: 200, share: 'block', blockRows: 128 } },
    ],
    [
      'block 64, the WMMA form forced, D = 256',
      { N: 130, C: 300, D: 256, options: { negatives: 70, share: 'block' }, call: { kernel: 'tile-wmma' } },
    ],
    ['batch tile, K = 65, D = 96', { N: 99, C: 120, D: 96, options: { negatives: 65, share: 'batch' } }],
    ["'all' tile, C = 333, D = 160", { N: 70, C: 333, D: 160, options: { negatives: 'all' } }],
    [
      'block 16 tile, accidental hits, C = 7, D = 32',
      { N: 70, C: 7, D: 32, options: { negatives: 20, share: 'block', blockRows: 16 } },
    ],
    [
      'block 64, K = 1, no logQ, D = 128',
      { N: 90, C: 50, D: 128, options: { negatives: 1, share: 'block', logQ: false } },
    ],
  ];
  const tol: Record<string, { loss: number; grad: number }> = {
    float32: { loss: 1e-4, grad: 1e-4 },
    float16: { loss: 1e-3, grad: 1e-2 },
    bfloat16: { loss: 1e-3, grad: 1e-2 },
  };
  for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
    cases.forEach(([name, c], k) => {
      it(`${dtype}: ${name}`, () => {
        const { got, ref, kernels } = runCase(dtype, c, SEED + k);
        const t = tol[dtype]!;
        const lossScale = Math.max(maxAbs(ref.loss), 1);
        expect(maxDiff(got.loss, ref.loss) / lossScale, `loss (${kernels})`).toBeLessThanOrEqual(t.loss);
        expect(
          maxDiff(got.dHidden, ref.dHidden) / Math.max(maxAbs(ref.dHidden), 1e-3),
          `dHidden (${kernels})`,
        ).toBeLessThanOrEqual(t.grad);
        expect(
          maxDiff(got.dItems, ref.dItems) / Math.max(maxAbs(ref.dItems), 1e-3),
          `dItems (${kernels})`,
        ).toBeLessThanOrEqual(t.grad);
      });
    });
  }

  it('float32 with plain tf32 stays within its stated tolerance', () => {
    const { got, ref } = runCase(
      'float32',
      { N: 130, C: 200, D: 64, options: { negatives: 100, share: 'block' }, call: { f32Precision: 'tf32' } },
      SEED,
    );
    expect(maxDiff(got.loss, ref.loss) / Math.max(maxAbs(ref.loss), 1), 'loss').toBeLessThanOrEqual(2e-3);
    expect(
      maxDiff(got.dHidden, ref.dHidden) / Math.max(maxAbs(ref.dHidden), 1e-3),
      'dHidden',
    ).toBeLessThanOrEqual(1e-2);
    expect(
      maxDiff(got.dItems, ref.dItems) / Math.max(maxAbs(ref.dItems), 1e-3),
      'dItems',
    ).toBeLessThanOrEqual(1e-2);
  });
});

if (!reason) describeContract('cuda', { backend: 'cpu' });
