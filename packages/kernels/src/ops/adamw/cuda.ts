/**
 * AdamW's CUDA launchers (adamw.cu): queued on a stream, never synchronising, so they can be
 * captured into a CUDA graph. The step counter (a device u32: updates completed) and the
 * gradient norm are read from device memory; the learning rate and bias corrections are computed
 * on the device from them and the schedule's constants.
 */
import { launch } from '@cutrec/tensor';
import { opModule } from '../module.js';
import { checkBytes, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';
import { checkAdamwArgs } from './reference.js';
import type { LrSchedule } from './schedule.js';

/** sizeof(AdamwArgs) in adamw.cu. */
export const ADAMW_ARGS_BYTES = 64;

const THREADS = 256;
const MAX_BLOCKS = 4096;

function blocksFor(n: number, perThread: number): number {
  return Math.max(1, Math.min(MAX_BLOCKS, Math.ceil(n / (THREADS * perThread))));
}

/** The schedule's and optimizer's constants of an update. */
export interface AdamwConstants {
  /** Peak learning rate. */
  lr: number;
  schedule: LrSchedule;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 0: no clipping. */
  clipNorm: number;
}

/** The 64 bytes of AdamwArgs (adamw.cu) for `c`. */
export function packAdamwArgs(c: AdamwConstants): Uint8Array {
  const buf = new ArrayBuffer(ADAMW_ARGS_BYTES);
  const v = new DataView(buf);
  const s = c.schedule;
  v.setFloat64(0, c.lr, true);
  v.setFloat64(8, s.kind === 'constant' ? 0 : (s.minRatio ?? 0), true);
  v.setFloat64(16, c.beta1, true);
  v.setFloat64(24, c.beta2, true);
  v.setFloat64(32, c.weightDecay, true);
  v.setFloat32(40, c.eps, true);
  v.setFloat32(44, c.clipNorm, true);
  v.setUint32(48, s.kind === 'constant' ? 0 : s.kind === 'cosine' ? 1 : 2, true);
  v.setUint32(52, s.warmupSteps ?? 0, true);
  v.setUint32(56, s.kind === 'constant' ? 0 : s.totalSteps, true);
  return new Uint8Array(buf);
}

function checkN(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${name}: n must be an integer ≥ 0, got ${n}`);
  }
}

/** `out` (a float32 scalar) = Σ g[i]², i < n: zeroes `out` on the stream, then accumulates block sums with atomicAdd. */
export function cudaGradNormSquared(a: { g: DevicePtr; n: number; out: DevicePtr }, call: OpCall = {}): void {
  checkN('cudaGradNormSquared', a.n);
  checkBytes('g', a.g, a.n * 4);
  checkBytes('out', a.out, 4);
  const mod = opModule('adamw');
  const stream = call.stream ?? null;
  launch(mod.kernel('adamw_zero_f32'), { grid: 1, block: 32, stream }, [ptrArg(a.out)]);
  if (a.n === 0) return;
  launch(mod.kernel('adamw_norm_f32'), { grid: blocksFor(a.n, 16), block: THREADS, stream }, [
    ptrArg(a.g),
    { u64: a.n },
    ptrArg(a.out),
  ]);
}

/** Arguments of {@link cudaAdamwUpdate}. */
export interface CudaAdamwUpdateArgs extends AdamwConstants {
  /** float32 [n], updated in place. */
  params: DevicePtr;
  /** float32 [n]. */
  grads: DevicePtr;
  /** float32 [n] first moments, updated in place. */
  m: DevicePtr;
  /** float32 [n] second moments, updated in place. */
  v: DevicePtr;
  n: number;
  /** Elements [0, nDecay) get weight decay. */
  nDecay: number;
  /** Device u32: updates completed (this update uses t = *step + 1). */
  step: DevicePtr;
  /** Device float32 Σg² (cudaGradNormSquared's out); read when clipNorm > 0. */
  normSq?: DevicePtr | null;
  /** Also write the updated parameters here as bf16 [n]. */
  paramsBf16?: DevicePtr | null;
}

/** One AdamW update of the flat buffer (reference.ts adamwUpdate), lr_t and clipping computed on the device. */
export function cudaAdamwUpdate(a: CudaAdamwUpdateArgs, call: OpCall = {}): void {
  checkAdamwArgs({ n: a.n, nDecay: a.nDecay, step: 0, schedule: a.schedule, clipNorm: a.clipNorm });
  for (const [name, b] of [
    ['beta1', a.beta1],
    ['beta2', a.beta2],
  ] as const) {
    if (!(b >= 0 && b < 1)) throw new RangeError(`cudaAdamwUpdate: ${name} must be in [0, 1), got ${b}`);
  }
  if (!(a.eps > 0)) throw new RangeError(`cudaAdamwUpdate: eps must be > 0, got ${a.eps}`);
  const bytes = a.n * 4;
  checkBytes('params', a.params, bytes);
  checkBytes('grads', a.grads, bytes);
  checkBytes('m', a.m, bytes);
  checkBytes('v', a.v, bytes);
  checkBytes('step', a.step, 4);
  if (a.clipNorm > 0) {
    if (!a.normSq) throw new TypeError('cudaAdamwUpdate: normSq is needed when clipNorm > 0');
    checkBytes('normSq', a.normSq, 4);
  }
  if (a.paramsBf16) checkBytes('paramsBf16', a.paramsBf16, a.n * 2);
  if (a.n === 0) return;
  launch(
    opModule('adamw').kernel('adamw_update_f32'),
    { grid: blocksFor(a.n, 8), block: THREADS, stream: call.stream ?? null },
    [
      ptrArg(a.params),
      ptrArg(a.grads),
      ptrArg(a.m),
      ptrArg(a.v),
      ptrArg(a.paramsBf16),
      { u64: a.n },
      { u64: a.nDecay },
      ptrArg(a.step),
      ptrArg(a.clipNorm > 0 ? a.normSq : null),
      { bytes: packAdamwArgs(a) },
    ],
  );
}

/** *step += 1 on the device (one thread). */
export function cudaStepIncrement(a: { step: DevicePtr }, call: OpCall = {}): void {
  checkBytes('step', a.step, 4);
  launch(opModule('adamw').kernel('adamw_step_u32'), { grid: 1, block: 32, stream: call.stream ?? null }, [
    ptrArg(a.step),
  ]);
}
