/**
 * WebGPU launchers of the activation op (activation.wgsl.ts): each returns the dispatch of one
 * call (runner.ts `Step`s). Arguments mean what they mean for the CUDA launchers (cuda.ts); out
 * may be pre, dPre may be dOut or pre (in-place variants); storage is float32, or f16 with `act: 'f16'`.
 */
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { dropoutParams, type WgslDropout } from '../common.wgsl.js';
import { Binder, checkInt, opBindings, sameView, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  ACTIVATION_BACKWARD_BUFFERS,
  ACTIVATION_BACKWARD_FIELDS,
  ACTIVATION_FORWARD_BUFFERS,
  ACTIVATION_FORWARD_FIELDS,
  ACTIVATION_WORKGROUP,
  type ActivationAlias,
  activationBackwardWGSL,
  activationForwardWGSL,
} from './activation.wgsl.js';
import type { ActivationKind } from './reference.js';

/** out = act(pre) · drop. */
export class ActivationForwardProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = ACTIVATION_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(ACTIVATION_FORWARD_BUFFERS);
  readonly paramFields = ACTIVATION_FORWARD_FIELDS;
  constructor(
    readonly alias: ActivationAlias,
    readonly act: WgslAct = 'f32',
  ) {
    this.key = `activation/forward/${alias}/${act}`;
  }
  code(): string {
    return activationForwardWGSL(this.alias, this.act);
  }
}

/** dPre = dOut · drop · act'(pre). */
export class ActivationBackwardProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = ACTIVATION_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(ACTIVATION_BACKWARD_BUFFERS);
  readonly paramFields = ACTIVATION_BACKWARD_FIELDS;
  constructor(
    readonly alias: ActivationAlias,
    readonly act: WgslAct = 'f32',
  ) {
    this.key = `activation/backward/${alias}/${act}`;
  }
  code(): string {
    return activationBackwardWGSL(this.alias, this.act);
  }
}

interface ActivationCommon {
  n: number;
  kind: ActivationKind;
  dropout?: WgslDropout;
  /** u32 step counter (the dropout stream); needed when dropout is on. */
  step?: WgslView;
  /** Storage of pre, out, dOut and dPre: 'f32' (default) or 'f16' (needs 'shader-f16'). */
  act?: WgslAct;
}

/** Arguments of {@link wgslActivationForward}. */
export interface WgslActivationForwardArgs extends ActivationCommon {
  pre: WgslView;
  /** [n] out; may be `pre`. */
  out: WgslView;
}

/** Arguments of {@link wgslActivationBackward}. */
export interface WgslActivationBackwardArgs extends ActivationCommon {
  pre: WgslView;
  dOut: WgslView;
  /** [n] out; may be `dOut` or `pre`. */
  dPre: WgslView;
}

function check(op: string, a: ActivationCommon) {
  checkInt(op, 'n', a.n, 0, 2 ** 32 - 4);
  if (a.kind !== 'relu' && a.kind !== 'gelu')
    throw new RangeError(`${op}: unknown activation kind '${a.kind}'`);
  const drop = dropoutParams('drop', a.dropout);
  if (drop.drop_on && !a.step) throw new TypeError(`${op}: step (the dropout stream) is needed with dropout`);
  return { n: a.n, kind: a.kind === 'relu' ? 0 : 1, ...drop };
}

/** The forward's dispatch. */
export function wgslActivationForward(device: GPUDevice, a: WgslActivationForwardArgs): Step[] {
  const op = 'wgslActivationForward';
  const p = check(op, a);
  if (a.n === 0) return [];
  const alias: ActivationAlias = sameView(a.out, a.pre) ? 'pre' : 'none';
  const b = new Binder(device, op, ACTIVATION_FORWARD_BUFFERS, a.act)
    .view('pre', alias === 'pre' ? undefined : a.pre, a.n)
    .view('out', a.out, a.n)
    .view('step_ctr', a.step, 1);
  return [
    {
      program: new ActivationForwardProgram(alias, a.act),
      params: b.with(p),
      buffers: b.buffers,
      units: Math.ceil(a.n / 4 / ACTIVATION_WORKGROUP),
    },
  ];
}

/** The backward's dispatch. */
export function wgslActivationBackward(device: GPUDevice, a: WgslActivationBackwardArgs): Step[] {
  const op = 'wgslActivationBackward';
  const p = check(op, a);
  if (a.n === 0) return [];
  const alias: ActivationAlias = sameView(a.dPre, a.dOut) ? 'dOut' : sameView(a.dPre, a.pre) ? 'pre' : 'none';
  const b = new Binder(device, op, ACTIVATION_BACKWARD_BUFFERS, a.act)
    .view('pre', alias === 'pre' ? undefined : a.pre, a.n)
    .view('dOut', alias === 'dOut' ? undefined : a.dOut, a.n)
    .view('dPre', a.dPre, a.n)
    .view('step_ctr', a.step, 1);
  return [
    {
      program: new ActivationBackwardProgram(alias, a.act),
      params: b.with(p),
      buffers: b.buffers,
      units: Math.ceil(a.n / 4 / ACTIVATION_WORKGROUP),
    },
  ];
}
