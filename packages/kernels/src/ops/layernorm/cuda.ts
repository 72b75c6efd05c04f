/**
 * CUDA launchers of the layer norm op (layernorm.cu): queued on `call.stream`, never synchronising
 * or allocating, so they can be captured into a CUDA graph. D from 1 to 4096; vector accesses when
 * D % 4 == 0 and every pointer is aligned, element by element otherwise.
 */
import { type KernelArg, launch } from '@cutrec/tensor';
import { type DeviceDropout, packDropoutSite } from '../dropout/index.js';
import { opModule } from '../module.js';
import { aligned, checkBytes, contextOf, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';

/** A padding row mask on the device: [R] int32 ids, rows with ids[r] = padId are masked. */
export interface CudaLayerNormRowMask {
  ids: DevicePtr;
  padId: number;
}

/** Arguments of {@link cudaLayerNormForward}. */
export interface CudaLayerNormForwardArgs {
  /** [R, D] input of `dtype`. */
  x: DevicePtr;
  /** s = x + a · dropout(e); `a` of `dtype`. */
  residual?: { a: DevicePtr; dropout?: DeviceDropout };
  /** [R, D] out (`dtype`): s. May be `x` itself (x += drop(a) in place). */
  sum?: DevicePtr;
  /** [R, D] out (`dtype`). */
  y: DevicePtr;
  /** [D] float32. */
  gamma: DevicePtr;
  beta: DevicePtr;
  /** [R] float32 out. */
  mean: DevicePtr;
  rstd: DevicePtr;
  R: number;
  D: number;
  eps: number;
  rowMask?: CudaLayerNormRowMask;
  /** Storage type of x, a, sum, y. */
  dtype: 'float32' | 'bfloat16';
}

/** Arguments of {@link cudaLayerNormBackward}. */
export interface CudaLayerNormBackwardArgs {
  /** [R, D] gradient of y (`dtype`). */
  dy: DevicePtr;
  /** [R, D] the forward's LN input (`dtype`). */
  s: DevicePtr;
  /** [D] float32. */
  gamma: DevicePtr;
  /** [R] float32 from the forward. */
  mean: DevicePtr;
  rstd: DevicePtr;
  /** [R, D] out (`dtype`). */
  dx: DevicePtr;
  /** [D] float32, accumulate (atomicAdd of per-block partial sums). */
  dGamma: DevicePtr;
  dBeta: DevicePtr;
  R: number;
  D: number;
  /** [R, D] (`dtype`) added to dx; may be the same memory as dx (in place). */
  dSkip?: DevicePtr;
  /** da = dx · dropout(e), [R, D] out (`dtype`). */
  residualGrad?: { da: DevicePtr; dropout?: DeviceDropout };
  rowMask?: CudaLayerNormRowMask;
  dtype: 'float32' | 'bfloat16';
}

/** Largest D the kernels take (a row of s is cached in shared memory). */
const MAX_D = 4096;

function checkDims(name: string, R: number, D: number): void {
  if (!(Number.isInteger(R) && R >= 0 && Number.isInteger(D) && D >= 1 && D <= MAX_D)) {
    throw new RangeError(`${name}: R, D must be integers with R ≥ 0, 1 ≤ D ≤ ${MAX_D} (got ${R}, ${D})`);
  }
  if (R * D > 2 ** 32 - 4) throw new RangeError(`${name}: R·D = ${R * D} exceeds the 32-bit element index`);
}

/** Threads per row: a warp up to D = 1024, a block of 256 above. */
function groupOf(D: number): { group: number; rowsPerBlock: number } {
  return D <= 1024 ? { group: 32, rowsPerBlock: 4 } : { group: 256, rowsPerBlock: 1 };
}

/**
 * The register-resident kernels (`layernorm_*_r<NC>_*`: a warp per row, 4 elements per access, the
 * row in registers) where they apply — vector access and D ≤ 1024 — with NC = ⌈D / 128⌉ rounded up
 * to 1, 2, 4 or 8, and how many of the backward's 128-thread blocks fit on an SM (its registers,
 * by ptxas on sm_90: 56, 80, 127, 229 per thread), so its grid-stride grid is one full wave.
 */
function registerKernel(D: number, vec: boolean): { nc: number; backwardBlocksPerSm: number } | null {
  if (!vec || D > 1024) return null;
  const nc = D <= 128 ? 1 : D <= 256 ? 2 : D <= 512 ? 4 : 8;
  return { nc, backwardBlocksPerSm: { 1: 8, 2: 6, 4: 4, 8: 2 }[nc] ?? 2 };
}

/** s = x (+ drop(a)), y = LN(s)·gamma + beta (0 on masked rows), mean and rstd per row. */
export function cudaLayerNormForward(a: CudaLayerNormForwardArgs, call: OpCall = {}): void {
  const { R, D, dtype } = a;
  checkDims('cudaLayerNormForward', R, D);
  const eb = dtype === 'float32' ? 4 : 2;
  checkBytes('x', a.x, R * D * eb);
  if (a.residual) checkBytes('residual.a', a.residual.a, R * D * eb);
  if (a.sum) checkBytes('sum', a.sum, R * D * eb);
  checkBytes('y', a.y, R * D * eb);
  checkBytes('gamma', a.gamma, D * 4);
  checkBytes('beta', a.beta, D * 4);
  checkBytes('mean', a.mean, R * 4);
  checkBytes('rstd', a.rstd, R * 4);
  if (a.rowMask) checkBytes('rowMask.ids', a.rowMask.ids, R * 4);
  if (R === 0) return;
  const vec =
    D % 4 === 0 &&
    [a.x, a.residual?.a, a.sum, a.y].every((p) => aligned(p, 4 * eb)) &&
    aligned(a.gamma, 16) &&
    aligned(a.beta, 16);
  const { group, rowsPerBlock } = groupOf(D);
  const reg = registerKernel(D, vec);
  const suffix = dtype === 'float32' ? 'f32' : 'bf16';
  const kernel = opModule('layernorm', contextOf(a.y)).kernel(
    reg ? `layernorm_forward_r${reg.nc}_${suffix}` : `layernorm_forward_${suffix}`,
  );
  const tail: KernelArg[] = reg ? [] : [{ i32: vec ? 1 : 0 }, { i32: group }];
  launch(
    kernel,
    {
      grid: Math.ceil(R / rowsPerBlock),
      block: group * rowsPerBlock,
      sharedBytes: reg ? 0 : rowsPerBlock * D * 4,
      stream: call.stream ?? null,
    },
    [
      ptrArg(a.x),
      ptrArg(a.residual?.a),
      { bytes: packDropoutSite(a.residual?.dropout) },
      ptrArg(a.sum),
      ptrArg(a.y),
      ptrArg(a.gamma),
      ptrArg(a.beta),
      ptrArg(a.mean),
      ptrArg(a.rstd),
      ptrArg(a.rowMask?.ids),
      { i32: a.rowMask?.padId ?? 0 },
      { i32: R },
      { i32: D },
      { f32: a.eps },
      ...tail,
    ],
  );
}

/** dx = LN'ᵀ dy (+ dSkip), dGamma and dBeta accumulate, da = dx · drop; dy is 0 on masked rows. */
export function cudaLayerNormBackward(a: CudaLayerNormBackwardArgs, call: OpCall = {}): void {
  const { R, D, dtype } = a;
  checkDims('cudaLayerNormBackward', R, D);
  const eb = dtype === 'float32' ? 4 : 2;
  checkBytes('dy', a.dy, R * D * eb);
  checkBytes('s', a.s, R * D * eb);
  checkBytes('gamma', a.gamma, D * 4);
  checkBytes('mean', a.mean, R * 4);
  checkBytes('rstd', a.rstd, R * 4);
  checkBytes('dx', a.dx, R * D * eb);
  checkBytes('dGamma', a.dGamma, D * 4);
  checkBytes('dBeta', a.dBeta, D * 4);
  if (a.dSkip) checkBytes('dSkip', a.dSkip, R * D * eb);
  if (a.residualGrad) checkBytes('residualGrad.da', a.residualGrad.da, R * D * eb);
  if (a.rowMask) checkBytes('rowMask.ids', a.rowMask.ids, R * 4);
  if (R === 0) return;
  const vec =
    D % 4 === 0 &&
    [a.dy, a.s, a.dx, a.dSkip, a.residualGrad?.da].every((p) => aligned(p, 4 * eb)) &&
    aligned(a.gamma, 16);
  const { group, rowsPerBlock } = groupOf(D);
  const reg = registerKernel(D, vec);
  const suffix = dtype === 'float32' ? 'f32' : 'bf16';
  // Grid-stride over rows with a few blocks per SM: fewer blocks, fewer dGamma/dBeta atomics.
  const ctx = contextOf(a.dx);
  const perSm = reg ? reg.backwardBlocksPerSm : group === 32 ? 8 : 4;
  const maxBlocks = Math.max(1, ctx.device.smCount) * perSm;
  const kernel = opModule('layernorm', ctx).kernel(
    reg ? `layernorm_backward_r${reg.nc}_${suffix}` : `layernorm_backward_${suffix}`,
  );
  const tail: KernelArg[] = reg ? [] : [{ i32: vec ? 1 : 0 }, { i32: group }];
  launch(
    kernel,
    {
      grid: Math.min(Math.ceil(R / rowsPerBlock), maxBlocks),
      block: group * rowsPerBlock,
      sharedBytes: 2 * D * 4,
      stream: call.stream ?? null,
    },
    [
      ptrArg(a.dy),
      ptrArg(a.s),
      ptrArg(a.gamma),
      ptrArg(a.mean),
      ptrArg(a.rstd),
      ptrArg(a.dx),
      ptrArg(a.dGamma),
      ptrArg(a.dBeta),
      ptrArg(a.dSkip),
      ptrArg(a.residualGrad?.da),
      { bytes: packDropoutSite(a.residualGrad?.dropout) },
      ptrArg(a.rowMask?.ids),
      { i32: a.rowMask?.padId ?? 0 },
      { i32: R },
      { i32: D },
      ...tail,
    ],
  );
}
