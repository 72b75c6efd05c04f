/**
 * AdamW over one flat parameter buffer, float64 on host arrays: the oracle of adamw.cu. Computes
 * exactly what @cutrec/models' tfjs AdamW (models/src/optim/adamw.ts) computes, element by element.
 */
import { checkSchedule, type LrSchedule, learningRate } from './schedule.js';

/** A caller-provided numeric array the reference writes (Float64Array, Float32Array, number[]). */
type Writable = { [index: number]: number; readonly length: number };

/**
 * Σ (s·g[i])² over the first `n` elements (default: all), float64; s = `gradScale` (default 1:
 * the f16 engine's loss scaling passes meanLoss's 1/count).
 */
export function gradNormSquared(g: ArrayLike<number>, n: number = g.length, gradScale = 1): number {
  if (!Number.isInteger(n) || n < 0 || n > g.length) {
    throw new RangeError(`gradNormSquared: n must be an integer in [0, ${g.length}], got ${n}`);
  }
  let s = 0;
  for (let i = 0; i < n; i++) {
    const x = gradScale * g[i]!;
    s += x * x;
  }
  return s;
}

/** Arguments of {@link adamwUpdate}. */
export interface AdamwUpdateArgs {
  /** [n], updated in place. */
  params: Writable;
  /** [n]. */
  grads: ArrayLike<number>;
  /** First moments [n], updated in place. */
  m: Writable;
  /** Second moments [n], updated in place. */
  v: Writable;
  n: number;
  /** Elements [0, nDecay) get weight decay, the rest none. */
  nDecay: number;
  /** Updates completed so far: this one uses t = step + 1 and the schedule's rate at `step`. */
  step: number;
  /** Peak learning rate. */
  lr: number;
  schedule: LrSchedule;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clipNorm: number;
  /** Σ (s·g)² over the whole gradient (see {@link gradNormSquared}); needed when clipNorm > 0. */
  normSq?: number;
  /** The gradient's scale s (default 1): every use of the gradient is s·grads[i] (meanLoss's gradScale). */
  gradScale?: number;
}

/** What {@link adamwUpdate} used: the learning rate of this step and the gradient scale. */
export interface AdamwStepInfo {
  lr: number;
  scale: number;
}

/** Throws unless n, nDecay and step are in range and the schedule is valid. */
export function checkAdamwArgs(
  a: Pick<AdamwUpdateArgs, 'n' | 'nDecay' | 'step' | 'schedule' | 'clipNorm'>,
): void {
  if (!Number.isInteger(a.n) || a.n < 0) throw new RangeError(`adamw: n must be an integer ≥ 0, got ${a.n}`);
  if (!Number.isInteger(a.nDecay) || a.nDecay < 0 || a.nDecay > a.n) {
    throw new RangeError(`adamw: nDecay must be an integer in [0, n = ${a.n}], got ${a.nDecay}`);
  }
  if (!Number.isInteger(a.step) || a.step < 0 || a.step > 0xffffffff) {
    throw new RangeError(`adamw: step must be an integer in [0, 2^32), got ${a.step}`);
  }
  if (!(a.clipNorm >= 0)) throw new RangeError(`adamw: clipNorm must be ≥ 0, got ${a.clipNorm}`);
  checkSchedule(a.schedule);
}

/**
 * One AdamW update: lr_t = learningRate(lr, schedule, step); scale = clipNorm > 0 ?
 * min(1, clipNorm / (√normSq + 1e-12)) : 1; g = gradScale·grad·scale; m = β1·m + (1 − β1)·g;
 * v = β2·v + (1 − β2)·g²; update = (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + eps);
 * p = p − lr_t·update − (i < nDecay ? lr_t·weightDecay·p_old : 0), with t = step + 1.
 */
export function adamwUpdate(a: AdamwUpdateArgs): AdamwStepInfo {
  checkAdamwArgs(a);
  const { params, grads, m, v, n, nDecay, beta1: b1, beta2: b2, eps, weightDecay } = a;
  for (const [name, arr] of [
    ['params', params],
    ['grads', grads],
    ['m', m],
    ['v', v],
  ] as const) {
    if (arr.length < n) throw new RangeError(`adamw: ${name} has ${arr.length} elements; n = ${n}`);
  }
  let scale = 1;
  if (a.clipNorm > 0) {
    if (a.normSq === undefined) throw new TypeError('adamw: normSq is needed when clipNorm > 0');
    scale = Math.min(1, a.clipNorm / (Math.sqrt(a.normSq) + 1e-12));
  }
  const lr = learningRate(a.lr, a.schedule, a.step);
  const t = a.step + 1;
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  const gs = a.gradScale ?? 1;
  for (let i = 0; i < n; i++) {
    const g = gs * grads[i]! * scale;
    const mi = b1 * m[i]! + (1 - b1) * g;
    const vi = b2 * v[i]! + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const update = mi / bc1 / (Math.sqrt(vi / bc2) + eps);
    const p = params[i]!;
    params[i] = p - lr * update - (i < nDecay ? lr * weightDecay * p : 0);
  }
  return { lr, scale };
}
