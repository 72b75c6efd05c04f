/**
 * CUDA launchers of the attention op (attention.cu, contract in reference.ts): the forward (out,
 * lse) and the backward (delta, then dk and dv per key tile, then dq per query tile, no atomics),
 * queued on `call.stream`, never synchronising or allocating, so they can be captured into a CUDA
 * graph. The dropout stream is read from device memory (`dropout.step`).
 *
 * Two kernel families (attention.cu): bf16 tensor-core kernels (attention_mma.cuh) where dh is a
 * multiple of 16 and the tensors are 16-byte aligned, else CUDA-core kernels (fp32 arithmetic).
 *
 * Limits: dh 1 … 128 (CUDA-core kernels specialised for dh ≤ 32, 64, 96, 128), L up to 2048 (more works,
 * but the launcher refuses it: untested), B·H·⌈L/32⌉ < 2^31 (the grid), and with dropout B·H·L² < 2^32 (the
 * element index e_ij is 32-bit, like the tfjs mask's).
 */
import { launch } from '@cutrec/tensor';
import { type DeviceDropout, packDropoutSite } from '../dropout/index.js';
import { opModule } from '../module.js';
import { aligned, checkBytes, contextOf, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';

/** Largest head size and sequence length the kernels take. */
export const ATTENTION_MAX_DH = 128;
export const ATTENTION_MAX_L = 2048;

/** Shapes shared by {@link cudaAttentionForward} and {@link cudaAttentionBackward}. */
export interface CudaAttentionShape {
  /** [B·L] int32 ids; key j of sequence b is padding when ids[b·L + j] = padId. */
  ids: DevicePtr;
  B: number;
  L: number;
  H: number;
  dh: number;
  /** Row stride of q, k, v, dq, dk, dv in elements (default H·dh; 3·D when they share one buffer). */
  stride?: number;
  padId: number;
  scale: number;
  /** Dropout on the probabilities (undefined or rate 0: none). */
  dropout?: DeviceDropout;
  /** Storage of q, k, v, out, dOut, dq, dk, dv; lse and delta are float32. */
  dtype: 'float32' | 'bfloat16';
  /**
   * 'auto' (default): the bf16 tensor-core kernels where they apply (bfloat16, dh a multiple of 16,
   * stride a multiple of 8, every tensor 16-byte aligned), else the CUDA-core kernels;
   * 'cuda-core': always the CUDA-core kernels.
   */
  kernels?: 'auto' | 'cuda-core';
  /**
   * Optional [{@link attentionKeepWords}(B, H, L)] uint32 workspace for the dropout's keep mask.
   * With it (and dropout, and the tensor-core kernels) a call first writes the mask from the
   * dropout's draws (attention_keep_bits) and its kernels read it instead of drawing per element:
   * the same multipliers, bit for bit, in less time. Overwritten by every call; without it the
   * kernels draw.
   */
  keep?: DevicePtr;
}

/** uint32 words of the keep-mask workspace at B, H, L: one bit per (query, key), rows of ⌈L/32⌉ words. */
export function attentionKeepWords(B: number, H: number, L: number): number {
  return B * H * L * Math.ceil(L / 32);
}

/** Arguments of {@link cudaAttentionForward}. */
export interface CudaAttentionForwardArgs extends CudaAttentionShape {
  /** [R, stride] each (`dtype`). */
  q: DevicePtr;
  k: DevicePtr;
  v: DevicePtr;
  /** [R, H·dh] out (`dtype`). */
  out: DevicePtr;
  /** [B·H·L] float32 out. */
  lse: DevicePtr;
}

/** Arguments of {@link cudaAttentionBackward}. */
export interface CudaAttentionBackwardArgs extends CudaAttentionShape {
  q: DevicePtr;
  k: DevicePtr;
  v: DevicePtr;
  /** [R, H·dh] the forward's output and its gradient (`dtype`). */
  out: DevicePtr;
  dOut: DevicePtr;
  /** [B·H·L] float32: the forward's lse. */
  lse: DevicePtr;
  /** [R, stride] out (`dtype`): only the heads' elements of each row are written. */
  dq: DevicePtr;
  dk: DevicePtr;
  dv: DevicePtr;
  /** [B·H·L] float32 workspace (written: delta_i = dO_i · out_i). */
  delta: DevicePtr;
}

const WARPS = 4;
const TILE = 32;
/** Rows per block of the tensor-core kernels (attention_mma.cuh MMA_ROWS) and their inner tiles. */
const MMA_ROWS = 64;
const MMA_INNER = 32;
/** Row stride of the [32][32] probability / dS tiles in shared memory (attention.cu PS). */
const PS = TILE + 4;

/** Validates the shape; returns the stride, the kernels' dh bucket and the shared floats per tile. */
function plan(name: string, a: CudaAttentionShape) {
  const { B, L, H, dh } = a;
  const stride = a.stride ?? H * dh;
  const ints = [B, L, H, dh, stride, a.padId].every(Number.isInteger);
  if (!ints || B < 0 || L < 0 || H < 1 || dh < 1 || dh > ATTENTION_MAX_DH || L > ATTENTION_MAX_L) {
    throw new RangeError(
      `${name}: need integers B, L ≥ 0, H ≥ 1, 1 ≤ dh ≤ ${ATTENTION_MAX_DH}, L ≤ ${ATTENTION_MAX_L} (got B ${B}, L ${L}, H ${H}, dh ${dh})`,
    );
  }
  if (stride < H * dh) throw new RangeError(`${name}: stride ${stride} is less than H·dh = ${H * dh}`);
  if (B * H * Math.ceil(L / TILE) >= 2 ** 31) throw new RangeError(`${name}: B·H·⌈L/32⌉ exceeds the grid`);
  if (a.dropout && a.dropout.rate > 0 && B * H * L * L > 2 ** 32) {
    throw new RangeError(`${name}: B·H·L² = ${B * H * L * L} exceeds the 32-bit dropout element index`);
  }
  if (B * L * stride > 2 ** 53) throw new RangeError(`${name}: tensor too large`);
  // kernels <stage><32·⌈dh/32⌉>[v]: v (dh % 4 == 0) uses float4 shared-memory accesses; the row
  // stride of the shared tiles is attention.cu's tile_stride
  const vec = dh % 4 === 0;
  const dhp = vec ? ((dh >> 2) & 1 ? dh : dh + 4) : dh | 1;
  const variant = `${Math.ceil(dh / 32) * 32}${vec ? 'v' : ''}`;
  return {
    stride,
    variant,
    dhp,
    sfx: a.dtype === 'float32' ? 'f32' : 'bf16',
    eb: a.dtype === 'float32' ? 4 : 2,
  };
}

function checkQkv(a: CudaAttentionShape, stride: number, eb: number, named: [string, DevicePtr][]): void {
  const R = a.B * a.L;
  const need = R === 0 ? 0 : ((R - 1) * stride + a.H * a.dh) * eb;
  for (const [n, p] of named) checkBytes(n, p, need);
}

/**
 * The tensor-core kernels' name suffix (`_mma<dh>_bf16`) when they apply to `a` and its tensors,
 * else undefined.
 */
function mmaVariant(a: CudaAttentionShape, stride: number, ptrs: DevicePtr[]): string | undefined {
  const ok =
    (a.kernels ?? 'auto') === 'auto' &&
    a.dtype === 'bfloat16' &&
    a.dh % 16 === 0 &&
    stride % 8 === 0 &&
    ptrs.every((p) => aligned(p, 16));
  return ok ? `_mma${a.dh}_bf16` : undefined;
}

/** Shared bytes of the tensor-core kernels at head size dh (attention_mma.cuh's tiles). */
function mmaShared(dh: number) {
  const ks = dh + 8; // row stride of the row-major tiles
  // two stages of the tiles a kernel loops over (K and V; Q and dO in dkdv), bf16
  return {
    forward: 2 * 2 * MMA_ROWS * ks * 2,
    dkdv: (2 * MMA_ROWS + 2 * 2 * MMA_INNER) * ks * 2,
    dq: 2 * 2 * MMA_INNER * ks * 2,
  };
}

/**
 * The keep-mask argument of the tensor-core kernels: where `a` has dropout and a `keep` workspace,
 * queues attention_keep_bits into it and returns it; else a null pointer (the kernels draw).
 */
function keepMask(a: CudaAttentionShape, m: ReturnType<typeof opModule>, stream: OpCall['stream']) {
  if (!a.keep || !a.dropout || !(a.dropout.rate > 0)) return ptrArg(null);
  const words = attentionKeepWords(a.B, a.H, a.L);
  checkBytes('keep', a.keep, words * 4);
  launch(
    m.kernel('attention_keep_bits'),
    { grid: Math.min(Math.ceil(words / 256), 65535 * 16), block: 256, stream: stream ?? null },
    [ptrArg(a.keep), { i32: a.B * a.H }, { i32: a.L }, { bytes: packDropoutSite(a.dropout) }],
  );
  return ptrArg(a.keep);
}

/** Shape arguments after the pointers: H, L, dh, stride, padId, scale, the dropout site. */
function tail(a: CudaAttentionShape, stride: number) {
  return [
    { i32: a.H },
    { i32: a.L },
    { i32: a.dh },
    { i32: stride },
    { i32: a.padId },
    { f32: a.scale },
    { bytes: packDropoutSite(a.dropout) },
  ];
}

/** out = softmax(scale·q·kᵀ, causal and key padding masked)·dropout·v per head, and lse per query row. */
export function cudaAttentionForward(a: CudaAttentionForwardArgs, call: OpCall = {}): void {
  const { stride, variant, dhp, sfx, eb } = plan('cudaAttentionForward', a);
  const { B, L, H, dh } = a;
  checkQkv(a, stride, eb, [
    ['q', a.q],
    ['k', a.k],
    ['v', a.v],
  ]);
  checkBytes('out', a.out, B * L * H * dh * eb);
  checkBytes('lse', a.lse, B * H * L * 4);
  checkBytes('ids', a.ids, B * L * 4);
  if (B * L === 0) return;
  const mma = mmaVariant(a, stride, [a.q, a.k, a.v, a.out]);
  const name = mma ? `attention_forward${mma}` : `attention_forward${variant}_${sfx}`;
  const m = opModule('attention', contextOf(a.out));
  launch(
    m.kernel(name),
    {
      grid: B * H * Math.ceil(L / (mma ? MMA_ROWS : TILE)),
      block: WARPS * 32,
      sharedBytes: mma ? mmaShared(dh).forward : (3 * TILE * dhp + TILE * PS) * 4,
      stream: call.stream ?? null,
    },
    [
      ...[a.q, a.k, a.v, a.out, a.lse, a.ids].map(ptrArg),
      ...tail(a, stride),
      ...(mma ? [keepMask(a, m, call.stream)] : []),
    ],
  );
}

/** dq, dk, dv (written, q's layout) of Σ dOut·out, from the forward's out and lse; delta is workspace. */
export function cudaAttentionBackward(a: CudaAttentionBackwardArgs, call: OpCall = {}): void {
  const { stride, variant, dhp, sfx, eb } = plan('cudaAttentionBackward', a);
  const { B, L, H, dh } = a;
  checkQkv(a, stride, eb, [
    ['q', a.q],
    ['k', a.k],
    ['v', a.v],
    ['dq', a.dq],
    ['dk', a.dk],
    ['dv', a.dv],
  ]);
  checkBytes('out', a.out, B * L * H * dh * eb);
  checkBytes('dOut', a.dOut, B * L * H * dh * eb);
  checkBytes('lse', a.lse, B * H * L * 4);
  checkBytes('delta', a.delta, B * H * L * 4);
  checkBytes('ids', a.ids, B * L * 4);
  if (B * L === 0) return;
  const m = opModule('attention', contextOf(a.dq));
  const stream = call.stream ?? null;
  launch(
    m.kernel(`attention_delta_${sfx}`),
    { grid: Math.ceil((B * L * H) / WARPS), block: WARPS * 32, stream },
    [ptrArg(a.out), ptrArg(a.dOut), ptrArg(a.delta), { i32: B }, { i32: L }, { i32: H }, { i32: dh }],
  );
  const common = [ptrArg(a.q), ptrArg(a.k), ptrArg(a.v), ptrArg(a.dOut), ptrArg(a.lse), ptrArg(a.delta)];
  const mma = mmaVariant(a, stride, [a.q, a.k, a.v, a.dOut, a.dq, a.dk, a.dv]);
  const shared = mma
    ? mmaShared(dh)
    : { dkdv: (4 * TILE * dhp + 2 * TILE * PS) * 4, dq: (4 * TILE * dhp + TILE * PS) * 4 };
  const name = (stage: string) => (mma ? `attention_${stage}${mma}` : `attention_${stage}${variant}_${sfx}`);
  const grid = B * H * Math.ceil(L / (mma ? MMA_ROWS : TILE));
  const keep = mma ? [keepMask(a, m, stream)] : [];
  launch(m.kernel(name('dkdv')), { grid, block: WARPS * 32, sharedBytes: shared.dkdv, stream }, [
    ...common,
    ptrArg(a.dk),
    ptrArg(a.dv),
    ptrArg(a.ids),
    ...tail(a, stride),
    ...keep,
  ]);
  launch(m.kernel(name('dq')), { grid, block: WARPS * 32, sharedBytes: shared.dq, stream }, [
    ...common,
    ptrArg(a.dq),
    ptrArg(a.ids),
    ...tail(a, stride),
    ...keep,
  ]);
}
