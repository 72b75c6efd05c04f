/**
 * `cutrec-bench loss`: forward+backward time and peak extra memory of every loss implementation
 * and share mode on a list of shapes, skipping (with the reason) what cannot run or would not fit.
 */
import { cceLoss, cudaKernelsUnavailableReason } from '@cutrec/kernels';
import { measurePeak, tensorBuffer } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { type BenchImpl, type BenchShare, predictMemory } from '../formulas.js';
import type { LossShape } from '../shapes.js';
import { summarize } from '../stats.js';
import { type TimingKind, WebGpuTimer } from '../timing/webgpu-timer.js';
import { type CudaBenchDtype, type CudaInputs, cudaInputs, runCudaCase } from './cuda.js';
import { drawNaiveNegatives, naiveFullCe, naiveSampledCe } from './naive.js';
import { caseRepeats } from './repeats.js';

/** One measured (or skipped) implementation × share × shape. */
export interface LossResult {
  impl: BenchImpl;
  share: BenchShare;
  /** Rows per block for share 'block'. */
  blockRows?: number;
  /** Element type of hidden/items ('float32' everywhere but the CUDA bfloat16 rows). */
  dtype: string;
  shapeName: string;
  shape: { N: number; C: number; D: number; K: number };
  /** Median forward+backward milliseconds, or null where it did not run. */
  ms: number | null;
  /** max − min of the timed repeats (ms), or null. */
  msSpread: number | null;
  msMin?: number;
  msMax?: number;
  times?: number[];
  /** Peak bytes allocated during forward+backward beyond the inputs (gradient outputs included), or null. */
  peakBytes: number | null;
  /** The gradient outputs' bytes, 4·(N + C)·D (so peakBytes − gradBytes is the working memory). */
  gradBytes: number;
  /** How the time was measured. */
  timing?: TimingKind;
  /** Name of the device it ran on. */
  device: string;
  /** Why it did not run ("OOM: …", "unavailable: …"). */
  skipped?: string;
  /** CUDA kernels that ran. */
  kernels?: string;
}

/** Options of {@link runLossBench}. */
export interface LossBenchOptions {
  shapes: readonly LossShape[];
  impls: readonly BenchImpl[];
  shares: readonly BenchShare[];
  blockRows: number;
  warmup: number;
  repeats: number;
  /**
   * Time budget of one case in seconds: where the first pass takes long, fewer warm-ups and
   * repeats run (at least one timed pass), so slow baselines cannot hold a run for long. Default 30.
   */
  caseSeconds?: number;
  /** Predicted peaks above this are skipped as OOM. */
  memoryLimitBytes: number;
  /** Element types of the CUDA rows. */
  cudaDtypes: readonly CudaBenchDtype[];
  seed: number;
  /** The WebGPU device tfjs runs on, or null on the CPU backend. */
  device: GPUDevice | null;
  /** Device names for the result rows. */
  webgpuName: string;
  cudaName: string;
  /** Called before each case and once at the end. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** One planned run. */
export interface LossCase {
  impl: BenchImpl;
  share: BenchShare;
  shape: LossShape;
  dtype: string;
}

/** The cases a run measures: naive full CE once per shape (share 'all'), the others per selected share (naive sampled never 'all'). */
export function planLossCases(
  shapes: readonly LossShape[],
  impls: readonly BenchImpl[],
  shares: readonly BenchShare[],
  cudaDtypes: readonly CudaBenchDtype[] = ['float32'],
): LossCase[] {
  const out: LossCase[] = [];
  for (const shape of shapes) {
    for (const impl of impls) {
      const modes =
        impl === 'tfjs-naive-ce'
          ? ['all' as const]
          : shares.filter((s) => !(impl === 'tfjs-naive-sampled' && s === 'all'));
      for (const share of modes) {
        for (const dtype of impl === 'cuda' ? cudaDtypes : ['float32'])
          out.push({ impl, share, shape, dtype });
      }
    }
  }
  return out;
}

const MiB = 2 ** 20;
const fmtMiB = (b: number) => `${(b / MiB).toFixed(0)} MiB`;

/** Why a case cannot run here (before trying it), or undefined. */
export function skipReason(
  c: LossCase,
  env: {
    backend: string;
    maxBindingBytes: number;
    memoryLimitBytes: number;
    cudaUnavailable?: string;
    blockRows: number;
  },
): string | undefined {
  if (c.impl === 'cuda') return env.cudaUnavailable ? `unavailable: ${env.cudaUnavailable}` : undefined;
  if (c.impl === 'wgsl' && env.backend !== 'webgpu')
    return `unavailable: impl 'wgsl' needs the WebGPU backend (tfjs runs on '${env.backend}')`;
  const p = predictMemory(c.impl, c.share, c.shape, env.blockRows);
  if (c.impl.startsWith('tfjs') && env.backend === 'webgpu' && p.largestTensorBytes > env.maxBindingBytes) {
    return `OOM: ${p.largestTensor} is ${fmtMiB(p.largestTensorBytes)}, over the device's maxStorageBufferBindingSize ${fmtMiB(env.maxBindingBytes)}`;
  }
  if (p.peakBytes > env.memoryLimitBytes) {
    return `OOM: predicted peak ${fmtMiB(p.peakBytes)} exceeds the memory limit ${fmtMiB(env.memoryLimitBytes)}`;
  }
  return undefined;
}

/** True for errors that mean "did not fit" (allocation failures, buffer-size limits). */
export function isOutOfMemory(err: unknown): boolean {
  const m = String((err as Error)?.message ?? err);
  return /out of memory|OOM|OUT_OF_MEMORY|allocat|exceeds|too large|maxBufferSize|maxStorageBufferBindingSize|RangeError: Array buffer/i.test(
    m,
  );
}

/** Runs `fn` inside WebGPU out-of-memory and validation error scopes; a captured error is thrown after it. */
async function withErrorScopes<T>(device: GPUDevice | null, fn: () => Promise<T>): Promise<T> {
  if (!device) return fn();
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let thrown: unknown;
  try {
    result = await fn();
  } catch (err) {
    thrown = err;
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (oom) throw new Error(`OOM: ${oom.message}`);
  if (thrown) throw thrown;
  if (validation) throw new Error(`WebGPU validation error: ${validation.message}`);
  return result as T;
}

interface TfjsInputs {
  h: tf.Tensor2D;
  w: tf.Tensor2D;
  y: tf.Tensor1D;
}

function tfjsInputs(shape: LossShape, seed: number): TfjsInputs {
  const { N, C, D } = shape;
  const x = tf.tidy(() => ({
    h: tf.randomNormal([N, D], 0, 0.5, 'float32', seed) as tf.Tensor2D,
    w: tf.randomNormal([C, D], 0, 0.05, 'float32', seed + 1) as tf.Tensor2D,
    y: tf
      .floor(tf.randomUniform([N], 0, C, 'float32', seed + 2))
      .clipByValue(0, C - 1)
      .toInt() as tf.Tensor1D,
  }));
  // tfjs keeps freshly made random tensors on the host until a GPU op first reads them; upload
  // them now so the first measured pass does not count the inputs' own upload as its memory.
  if (tf.getBackend() === 'webgpu') for (const t of [x.h, x.w, x.y]) tensorBuffer(t);
  return x;
}

async function runTfjsCase(
  c: LossCase,
  x: TfjsInputs,
  o: LossBenchOptions,
  timer: WebGpuTimer | undefined,
): Promise<{ times: number[]; peakBytes: number | null; timing: TimingKind }> {
  const { impl, share, shape } = c;
  const blockRows = o.blockRows;
  let negatives: tf.Tensor | undefined;
  if (impl === 'tfjs-naive-sampled') {
    negatives = drawNaiveNegatives(
      shape.N,
      shape.C,
      shape.K,
      share as Exclude<BenchShare, 'all'>,
      blockRows,
      o.seed + 3,
    );
  }
  const lossAt =
    (step: number) =>
    (h: tf.Tensor, w: tf.Tensor): tf.Scalar => {
      const h2 = h as tf.Tensor2D;
      const w2 = w as tf.Tensor2D;
      if (impl === 'tfjs-naive-ce') return naiveFullCe(h2, w2, x.y);
      if (impl === 'tfjs-naive-sampled')
        return naiveSampledCe(h2, w2, x.y, negatives!, share as Exclude<BenchShare, 'all'>, blockRows);
      return cceLoss(h2, w2, x.y, {
        negatives: share === 'all' ? 'all' : shape.K,
        ...(share === 'all' ? {} : { share, blockRows }),
        seed: o.seed,
        step,
        impl: impl as 'tfjs' | 'wgsl',
      }) as tf.Scalar;
    };
  const once = (step: number) => tf.grads(lossAt(step))([x.h, x.w]);
  const device = o.device;
  try {
    return await withErrorScopes(device, async () => {
      // First pass (compiles pipelines): its peak is the memory figure.
      const t0 = performance.now();
      let peakBytes: number | null = null;
      if (device) {
        const { result, peakExtraBytes } = await measurePeak(() => once(0));
        await device.queue.onSubmittedWorkDone();
        tf.dispose(result);
        peakBytes = peakExtraBytes + (negatives ? negatives.size * 4 : 0);
      } else {
        tf.dispose(once(0));
      }
      if (device) await device.queue.onSubmittedWorkDone();
      const { warmup, repeats } = caseRepeats(o, (performance.now() - t0) / 1e3);
      for (let i = 1; i < warmup; i++) tf.dispose(once(i));
      const times: number[] = [];
      let timing: TimingKind = 'wall';
      for (let i = 0; i < repeats; i++) {
        let grads: tf.Tensor[] = [];
        if (timer) {
          const t = await timer.time(() => {
            grads = once(1000 + i);
          });
          times.push(t.ms);
          timing = t.kind;
        } else {
          const t0 = performance.now();
          grads = once(1000 + i);
          await Promise.all(grads.map((g) => g.data()));
          times.push(performance.now() - t0);
        }
        tf.dispose(grads);
      }
      return { times, peakBytes, timing };
    });
  } finally {
    negatives?.dispose();
  }
}

/** Runs every planned case and returns one result per case (skips included), in plan order. */
export async function runLossBench(o: LossBenchOptions): Promise<LossResult[]> {
  const cudaUnavailable = o.impls.includes('cuda') ? cudaKernelsUnavailableReason() : undefined;
  // Without CUDA one skipped row per share is enough (not one per dtype).
  const cases = planLossCases(
    o.shapes,
    o.impls,
    o.shares,
    cudaUnavailable ? o.cudaDtypes.slice(0, 1) : o.cudaDtypes,
  );
  const backend = tf.getBackend();
  const maxBindingBytes = o.device?.limits.maxStorageBufferBindingSize ?? Number.POSITIVE_INFINITY;
  const timer = o.device ? new WebGpuTimer(o.device) : undefined;
  const results: LossResult[] = [];
  let done = 0;
  try {
    for (const shape of o.shapes) {
      const mine = cases.filter((c) => c.shape === shape);
      let x: TfjsInputs | undefined;
      const cuda = new Map<string, CudaInputs>();
      try {
        for (const c of mine) {
          o.onProgress?.(
            done,
            cases.length,
            `${shape.name} ${c.impl} ${c.share}${c.impl === 'cuda' ? ` ${c.dtype}` : ''}`,
          );
          const { N, C, D, K } = shape;
          const base: LossResult = {
            impl: c.impl,
            share: c.share,
            ...(c.share === 'block' ? { blockRows: o.blockRows } : {}),
            dtype: c.dtype,
            shapeName: shape.name,
            shape: { N, C, D, K },
            ms: null,
            msSpread: null,
            peakBytes: null,
            gradBytes: 4 * (N + C) * D,
            device: c.impl === 'cuda' ? o.cudaName : o.webgpuName,
          };
          const why = skipReason(c, {
            backend,
            maxBindingBytes,
            memoryLimitBytes: o.memoryLimitBytes,
            blockRows: o.blockRows,
            ...(cudaUnavailable ? { cudaUnavailable } : {}),
          });
          if (why) {
            results.push({ ...base, skipped: why });
            done++;
            continue;
          }
          try {
            if (c.impl === 'cuda') {
              let inputs = cuda.get(c.dtype);
              if (!inputs) {
                inputs = cudaInputs(shape, c.dtype as CudaBenchDtype);
                cuda.set(c.dtype, inputs);
              }
              const r = runCudaCase(
                inputs,
                c.share,
                shape,
                o.blockRows,
                o.warmup,
                o.repeats,
                o.seed,
                o.caseSeconds,
              );
              results.push({
                ...base,
                ...summarize(r.times),
                times: r.times,
                peakBytes: r.peakBytes,
                timing: 'cuda-events',
                kernels: r.kernels,
              });
            } else {
              x ??= tfjsInputs(shape, o.seed);
              const r = await runTfjsCase(c, x, o, timer);
              results.push({
                ...base,
                ...summarize(r.times),
                times: r.times,
                peakBytes: r.peakBytes,
                timing: r.timing,
              });
            }
          } catch (err) {
            const msg = String((err as Error)?.message ?? err)
              .split('\n')[0]!
              .slice(0, 300);
            results.push({
              ...base,
              skipped: isOutOfMemory(err) ? (msg.startsWith('OOM') ? msg : `OOM: ${msg}`) : `error: ${msg}`,
            });
          }
          done++;
        }
      } finally {
        if (x) tf.dispose([x.h, x.w, x.y]);
        for (const inputs of cuda.values()) inputs.free();
      }
    }
  } finally {
    timer?.destroy();
  }
  o.onProgress?.(done, cases.length, 'done');
  return results;
}
