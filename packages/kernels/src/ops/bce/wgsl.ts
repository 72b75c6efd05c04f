/**
 * WebGPU launchers of the BCE loss (bce.wgsl.ts): each returns the dispatch of one call.
 * Arguments mean what they mean for the CUDA launchers (cuda.ts CudaBceInputs); the negatives'
 * stream is the u32 step counter; hidden and items are float32, or f16 with `act: 'f16'` (the
 * rest is float32); D is compiled into the pipeline.
 */
import { seedKey } from '@cutrec/sampler';
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { Binder, checkInt, opBindings, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  BCE_BACKWARD_BUFFERS,
  BCE_BACKWARD_FIELDS,
  BCE_FORWARD_BUFFERS,
  BCE_FORWARD_FIELDS,
  BCE_WORKGROUP,
  bceBackwardWGSL,
  bceForwardWGSL,
} from './bce.wgsl.js';

/** Largest D (dHidden lives in registers: D / 64 floats per invocation). */
export const BCE_WGSL_MAX_D = 4096;

/** rowLoss [N] = β·softplus(−pos) + Σ keep·softplus(s_j) (0 on ignored rows). */
export class BceForwardProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = BCE_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(BCE_FORWARD_BUFFERS);
  readonly paramFields = BCE_FORWARD_FIELDS;
  constructor(
    readonly D: number,
    readonly act: WgslAct = 'f32',
  ) {
    this.key = `bce/forward/${D}/${act}`;
  }
  code(): string {
    return bceForwardWGSL(this.D, this.act);
  }
}

/** dHidden written, dItems accumulated, from dRow. */
export class BceBackwardProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = BCE_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(BCE_BACKWARD_BUFFERS);
  readonly paramFields = BCE_BACKWARD_FIELDS;
  constructor(
    readonly D: number,
    readonly act: WgslAct = 'f32',
  ) {
    this.key = `bce/backward/${D}/${act}`;
  }
  code(): string {
    return bceBackwardWGSL(this.D, this.act);
  }
}

/** The BCE inputs on the device. */
export interface WgslBceInputs {
  /** [N, D]. */
  hidden: WgslView;
  /** [C, D]. */
  items: WgslView;
  /** int32 [N]: ids in [0, C) or ignoreIndex. */
  targets: WgslView;
  N: number;
  C: number;
  D: number;
  K: number;
  beta: number;
  seed: number;
  /** u32 step counter: the negatives' stream. */
  step: WgslView;
  removeAccidentalHits: boolean;
  ignoreIndex: number;
  /** Storage of hidden and items: 'f32' (default) or 'f16' (needs 'shader-f16'); the rest is float32. */
  act?: WgslAct;
}

function plan(op: string, a: WgslBceInputs) {
  checkInt(op, 'N', a.N, 0);
  checkInt(op, 'C', a.C, 1);
  checkInt(op, 'D', a.D, 1, BCE_WGSL_MAX_D);
  checkInt(op, 'K', a.K, 1);
  if (a.C * a.D > 2 ** 32 - 4)
    throw new RangeError(`${op}: C·D = ${a.C * a.D} exceeds the 32-bit element index`);
  const [k0, k1] = seedKey(a.seed);
  return {
    N: a.N,
    C: a.C,
    K: a.K,
    k0,
    k1,
    ignore: a.ignoreIndex,
    remove_hits: a.removeAccidentalHits ? 1 : 0,
    beta: a.beta,
  };
}

/** The forward's dispatch: a workgroup per row. */
export function wgslBceForward(device: GPUDevice, a: WgslBceInputs & { rowLoss: WgslView }): Step[] {
  const op = 'wgslBceForward';
  const p = plan(op, a);
  if (a.N === 0) return [];
  const b = new Binder(device, op, BCE_FORWARD_BUFFERS, a.act)
    .view('hidden', a.hidden, a.N * a.D)
    .view('items', a.items, a.C * a.D)
    .view('targets', a.targets, a.N)
    .view('rowLoss', a.rowLoss, a.N)
    .view('step_ctr', a.step, 1);
  return [{ program: new BceForwardProgram(a.D, a.act), params: b.with(p), buffers: b.buffers, units: a.N }];
}

/** The backward's dispatch: dHidden [N, D] written (0 on ignored rows), dItems [C, D] accumulated. */
export function wgslBceBackward(
  device: GPUDevice,
  a: WgslBceInputs & { dRow: WgslView; dHidden: WgslView; dItems: WgslView },
): Step[] {
  const op = 'wgslBceBackward';
  const p = plan(op, a);
  if (a.N === 0) return [];
  const b = new Binder(device, op, BCE_BACKWARD_BUFFERS, a.act)
    .view('hidden', a.hidden, a.N * a.D)
    .view('items', a.items, a.C * a.D)
    .view('targets', a.targets, a.N)
    .view('dRow', a.dRow, a.N)
    .view('dHidden', a.dHidden, a.N * a.D)
    .view('dItems', a.dItems, a.C * a.D)
    .view('step_ctr', a.step, 1);
  return [{ program: new BceBackwardProgram(a.D, a.act), params: b.with(p), buffers: b.buffers, units: a.N }];
}
