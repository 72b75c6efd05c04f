/**
 * Which CUDA kernel runs a call and how it is launched: the tensor-core tile kernel for share
 * 'block' (blockRows ≥ 16) / 'batch' / negatives 'all' when its shared memory fits the device —
 * in bf16 with D a multiple of 32 up to 256 and 16-byte aligned inputs its mma.sync form
 * (cuda/cce_tile_mma.cuh), else the WMMA form (cuda/cce_tile.cuh) — and otherwise the gather
 * kernel (one warp per row), which handles every mode and any D up to its limit.
 */
import type { CudaDeviceInfo, CudaDtype } from '@cutrec/tensor';

/** 'tile-wmma' forces the WMMA form of the tile kernel where the mma.sync form would run. */
export type CudaKernelChoice = 'auto' | 'row' | 'tile' | 'tile-wmma';
export type F32Precision = 'tf32x3' | 'tf32';

export const TILE_BM = 64;
const THREADS = 256;

const SHORT: Record<string, string> = { float32: 'f32', float16: 'f16', bfloat16: 'bf16' };

/** Bytes of dynamic shared memory the tile kernel needs (mirrors tile_smem_bytes in cce_tile.cuh). */
export function tileSmemBytes(dtype: CudaDtype, D: number, backward: boolean): number {
  const elt = dtype === 'float32' ? 4 : 2;
  const pad = dtype === 'float32' ? 4 : 8;
  const BN = dtype === 'float32' ? 32 : 64;
  const DP = Math.ceil(D / 16) * 16;
  const LD = DP + pad;
  let b = (TILE_BM + BN) * LD * elt + TILE_BM * (BN + 4) * 4 + BN * 8 + TILE_BM * 16;
  if (backward) {
    if (elt !== 4) b += TILE_BM * (BN + 8) * elt;
    b += TILE_BM * (DP + 4) * 4;
    b += (THREADS / 32) * 256 * 4;
  }
  return b;
}

/** Bytes of dynamic shared memory of the mma.sync tile kernel (mirrors mma16::smem_bytes in cce_tile_mma.cuh). */
export function tileMmaSmemBytes(D: number, backward: boolean): number {
  const BN = 64;
  const LD = D + 8;
  let b = (TILE_BM + 2 * BN) * LD * 2 + 2 * BN * 8 + 4 * TILE_BM * 4;
  b += backward ? TILE_BM * (BN + 8) * 2 : 4 * TILE_BM * 4;
  return b;
}

/** Whether the mma.sync tile kernel takes a call (bf16, D = 32·n ≤ 256, aligned rows, sm_80+). */
function mmaSuits(p: PlanInput): boolean {
  return (
    p.kernel !== 'tile-wmma' &&
    p.dtype === 'bfloat16' &&
    p.D % 32 === 0 &&
    p.D <= 256 &&
    p.device.major >= 8 &&
    (p.aligned16 ?? true) &&
    tileMmaSmemBytes(p.D, p.backward) <= p.device.sharedMemoryPerBlockOptin
  );
}

/** The largest D the gather kernel takes for a dtype (with and without 16-byte loads). */
export function rowKernelMaxD(dtype: CudaDtype, D: number): number {
  const vmax = dtype === 'float32' ? 4 : 8;
  return D % vmax === 0 ? 32 * vmax * 4 : 32 * 8;
}

export interface KernelPlan {
  kind: 'row' | 'tile';
  name: string;
  grid: number;
  block: number;
  sharedBytes: number;
  tilesPerGroup: number;
}

export interface PlanInput {
  dtype: CudaDtype;
  N: number;
  D: number;
  mode: 'row' | 'block' | 'batch' | 'all';
  blockRows: number;
  backward: boolean;
  device: CudaDeviceInfo;
  kernel: CudaKernelChoice;
  f32Precision: F32Precision;
  /** hidden and items start at 16-byte aligned addresses (the mma.sync kernel copies rows with cp.async). */
  aligned16?: boolean;
}

/** Chooses the kernel and its launch geometry; throws naming D's limit when no kernel takes it. */
export function planKernel(p: PlanInput): KernelPlan {
  const dir = p.backward ? 'bwd' : 'fwd';
  const smem = tileSmemBytes(p.dtype, p.D, p.backward);
  const tileFits = smem <= p.device.sharedMemoryPerBlockOptin && p.device.major >= 8;
  const tileSuits = p.mode === 'batch' || p.mode === 'all' || (p.mode === 'block' && p.blockRows >= 16);
  const forced = p.kernel === 'tile' || p.kernel === 'tile-wmma';
  const useTile = forced ? true : p.kernel === 'row' ? false : tileSuits && tileFits;
  if (useTile) {
    if (p.mode === 'row')
      throw new RangeError("cudaCce: kernel 'tile' needs share 'block' or 'batch', or negatives 'all'");
    if (!tileFits) {
      throw new RangeError(
        `cudaCce: the tile kernel needs ${smem} bytes of shared memory for D = ${p.D}; ` +
          `the device allows ${p.device.sharedMemoryPerBlockOptin} (use kernel 'row' or 'auto')`,
      );
    }
    const tilesPerGroup = p.mode === 'block' ? Math.ceil(p.blockRows / TILE_BM) : 1;
    const grid = p.mode === 'block' ? Math.ceil(p.N / p.blockRows) * tilesPerGroup : Math.ceil(p.N / TILE_BM);
    if (mmaSuits(p)) {
      const dmax = [64, 128, 256].find((d) => d >= p.D) ?? 256;
      return {
        kind: 'tile',
        name: `cce_tile_${dir}_bf16_mma${p.backward ? dmax : ''}`,
        grid,
        block: THREADS,
        sharedBytes: tileMmaSmemBytes(p.D, p.backward),
        tilesPerGroup,
      };
    }
    const suffix = p.dtype === 'float32' ? (p.f32Precision === 'tf32' ? 'f32' : 'f32x3') : SHORT[p.dtype];
    return {
      kind: 'tile',
      name: `cce_tile_${dir}_${suffix}`,
      grid,
      block: THREADS,
      sharedBytes: smem,
      tilesPerGroup,
    };
  }
  const vmax = p.dtype === 'float32' ? 4 : 8;
  const vec = p.D % vmax === 0 ? vmax : 1;
  const chunks = Math.ceil(p.D / (32 * vec));
  const nch = [1, 2, 4, 8].find((c) => c >= chunks && (vec === 1 || c <= 4));
  if (nch === undefined) {
    throw new RangeError(
      `cudaCce: D = ${p.D} is above the CUDA row kernel's limit for ${p.dtype} (D ≤ ${rowKernelMaxD(p.dtype, p.D)}` +
        `${vec === 1 ? `; D a multiple of ${vmax} allows up to ${32 * vmax * 4}` : ''})`,
    );
  }
  const warpsPerBlock = THREADS / 32;
  return {
    kind: 'row',
    name: `cce_row_${dir}_${SHORT[p.dtype]}_v${vec}_c${nch}`,
    grid: Math.ceil(p.N / warpsPerBlock),
    block: THREADS,
    sharedBytes: 0,
    tilesPerGroup: 1,
  };
}
