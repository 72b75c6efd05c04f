/**
 * WebGPU launchers of AdamW (adamw.wgsl.ts): each returns the steps of one call (runner.ts
 * `Step`s). Arguments mean what they mean for the CUDA launchers (cuda.ts; EngineOps
 * gradNormSquared / adamwUpdate / stepIncrement): the step counter (updates completed) and Σg²
 * are read from device memory, so a recorded step replays with no params rewritten. An optional
 * `gradScale` (float32 [1] on the device) scales the gradient in both (the f16 engine's loss
 * scaling); the 'act' copy may be f16 (`act: 'f16'`).
 */
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { Binder, checkInt, opBindings, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  ADAMW_MAX_UNITS,
  ADAMW_WORKGROUP,
  adamwUpdateWGSL,
  gradNormWGSL,
  NORM_BUFFERS,
  NORM_FIELDS,
  NORM_PER_THREAD,
  STEP_BUFFERS,
  STEP_FIELDS,
  stepIncrementWGSL,
  UPDATE_BUFFERS,
  UPDATE_FIELDS,
} from './adamw.wgsl.js';
import type { AdamwConstants } from './cuda.js';
import { checkAdamwArgs } from './reference.js';

/** out += Σ (s·g)² (out zeroed by a clear step before it; s = grad_scale when bound, else 1). */
export class GradNormProgram implements WgslProgram {
  readonly key = 'adamw/norm';
  readonly workgroupSize = ADAMW_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(NORM_BUFFERS);
  readonly paramFields = NORM_FIELDS;
  code = gradNormWGSL;
}

/** One AdamW update of the flat buffers. */
export class AdamwUpdateProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = ADAMW_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(UPDATE_BUFFERS);
  readonly paramFields = UPDATE_FIELDS;
  /** `act`: the storage of the 'act' copy of the parameters. */
  constructor(readonly act: WgslAct = 'f32') {
    this.key = `adamw/update/${act}`;
  }
  code(): string {
    return adamwUpdateWGSL(this.act);
  }
}

/** step += 1. */
export class StepIncrementProgram implements WgslProgram {
  readonly key = 'adamw/step';
  readonly workgroupSize = 1;
  readonly bindings: readonly BindingKind[] = opBindings(STEP_BUFFERS);
  readonly paramFields = STEP_FIELDS;
  code = stepIncrementWGSL;
}

/** Arguments of {@link wgslGradNormSquared}. */
export interface WgslGradNormSquaredArgs {
  /** float32 [n]. */
  g: WgslView;
  n: number;
  /** float32 [1] out. */
  out: WgslView;
  /** float32 [1], optional: the gradient's scale s (meanLoss's gradScale); out = Σ (s·g)². */
  gradScale?: WgslView;
}

/** out (a float32 scalar) = Σ (s·g[i])², i < n (s = gradScale[0], else 1): a clear of out, then the workgroups' sums. */
export function wgslGradNormSquared(device: GPUDevice, a: WgslGradNormSquaredArgs): Step[] {
  const op = 'wgslGradNormSquared';
  checkInt(op, 'n', a.n, 0);
  const b = new Binder(device, op, NORM_BUFFERS)
    .view('g', a.g, a.n)
    .view('out', a.out, 1)
    .view('grad_scale', a.gradScale, 1);
  const clear: Step = { clear: a.out.buffer, offset: (a.out.offset ?? 0) * 4, size: 4 };
  if (a.n === 0) return [clear];
  return [
    clear,
    {
      program: new GradNormProgram(),
      params: b.with({ n: a.n, has_scale: a.gradScale ? 1 : 0 }),
      buffers: b.buffers,
      units: Math.min(ADAMW_MAX_UNITS, Math.ceil(a.n / (ADAMW_WORKGROUP * NORM_PER_THREAD))),
    },
  ];
}

/** Arguments of {@link wgslAdamwUpdate} (as CudaAdamwUpdateArgs, float32; paramsAct of `act`). */
export interface WgslAdamwUpdateArgs extends AdamwConstants {
  params: WgslView;
  grads: WgslView;
  m: WgslView;
  v: WgslView;
  n: number;
  nDecay: number;
  /** u32: updates completed (this update uses t = step + 1). */
  step: WgslView;
  /** float32 Σg² (wgslGradNormSquared's out); read when clipNorm > 0. */
  normSq?: WgslView;
  /** Also write the updated parameters here (the 'act' copy), stored as `act`. */
  paramsAct?: WgslView;
  /** Storage of paramsAct: 'f32' (default) or 'f16' (needs 'shader-f16'); params, grads, m, v stay float32. */
  act?: WgslAct;
  /**
   * float32 [1], optional: the gradient is gradScale[0]·grads (meanLoss's gradScale, the f16
   * engine's loss scaling); normSq must then be Σ (s·g)² (wgslGradNormSquared with the same gradScale).
   */
  gradScale?: WgslView;
}

/** One AdamW update (reference.ts adamwUpdate), lr_t and clipping computed on the device. */
export function wgslAdamwUpdate(device: GPUDevice, a: WgslAdamwUpdateArgs): Step[] {
  const op = 'wgslAdamwUpdate';
  checkAdamwArgs({ n: a.n, nDecay: a.nDecay, step: 0, schedule: a.schedule, clipNorm: a.clipNorm });
  for (const [name, x] of [
    ['beta1', a.beta1],
    ['beta2', a.beta2],
  ] as const) {
    if (!(x > 0 && x < 1)) throw new RangeError(`${op}: ${name} must be in (0, 1), got ${x}`);
  }
  if (!(a.eps > 0)) throw new RangeError(`${op}: eps must be > 0, got ${a.eps}`);
  if (a.clipNorm > 0 && !a.normSq) throw new TypeError(`${op}: normSq is needed when clipNorm > 0`);
  if (a.n === 0) return [];
  const b = new Binder(device, op, UPDATE_BUFFERS, a.act)
    .view('params', a.params, a.n)
    .view('grads', a.grads, a.n)
    .view('m', a.m, a.n)
    .view('v', a.v, a.n)
    .view('act', a.paramsAct, a.n)
    .view('norm_sq', a.clipNorm > 0 ? a.normSq : undefined, 1)
    .view('grad_scale', a.gradScale, 1)
    .view('step_ctr', a.step, 1);
  const s = a.schedule;
  return [
    {
      program: new AdamwUpdateProgram(a.act),
      params: b.with({
        n: a.n,
        n_decay: a.nDecay,
        has_act: a.paramsAct ? 1 : 0,
        has_scale: a.gradScale ? 1 : 0,
        lr: a.lr,
        min_ratio: s.kind === 'constant' ? 0 : (s.minRatio ?? 0),
        b1: a.beta1,
        b2: a.beta2,
        omb1: 1 - a.beta1,
        omb2: 1 - a.beta2,
        log_b1: Math.log(a.beta1),
        log_b2: Math.log(a.beta2),
        wd: a.weightDecay,
        eps: a.eps,
        clip: a.clipNorm,
        kind: s.kind === 'constant' ? 0 : s.kind === 'cosine' ? 1 : 2,
        warmup: s.warmupSteps ?? 0,
        total: s.kind === 'constant' ? 0 : s.totalSteps,
      }),
      buffers: b.buffers,
      units: Math.min(ADAMW_MAX_UNITS, Math.ceil(a.n / ADAMW_WORKGROUP)),
    },
  ];
}

/** step += 1 on the device. */
export function wgslStepIncrement(device: GPUDevice, a: { step: WgslView }): Step[] {
  const b = new Binder(device, 'wgslStepIncrement', STEP_BUFFERS).view('step_ctr', a.step, 1);
  return [{ program: new StepIncrementProgram(), params: b.with({}), buffers: b.buffers, units: 1 }];
}
