/**
 * WebGPU launchers of the embedding op (embedding.wgsl.ts): each returns the dispatches of one
 * call (runner.ts `Step`s) for the caller to record or submit; nothing is submitted here.
 * Arguments mean what they mean for the CUDA launchers (cuda.ts); storage is float32, and with
 * `act: 'f16'` out and dOut (the CUDA launchers' `dtype`) are f16 while table, pos, dTable and dPos
 * stay float32.
 */
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { dropoutParams, type WgslDropout } from '../common.wgsl.js';
import { Binder, checkInt, opBindings, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  EMBEDDING_FORWARD_BUFFERS,
  EMBEDDING_FORWARD_FIELDS,
  EMBEDDING_POS_GRAD_BUFFERS,
  EMBEDDING_POS_GRAD_FIELDS,
  EMBEDDING_TABLE_GRAD_BUFFERS,
  EMBEDDING_TABLE_GRAD_FIELDS,
  EMBEDDING_WORKGROUP,
  embeddingForwardWGSL,
  embeddingPosGradWGSL,
  embeddingTableGradWGSL,
} from './embedding.wgsl.js';

/** out = (table[ids]·scale + pos[t]) · drop · [id ≠ pad]. Bindings: ids, table, pos, out, step. */
export class EmbeddingForwardProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = EMBEDDING_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(EMBEDDING_FORWARD_BUFFERS);
  readonly paramFields = EMBEDDING_FORWARD_FIELDS;
  /** `act`: storage of out. */
  constructor(readonly act: WgslAct = 'f32') {
    this.key = `embedding/forward/${act}`;
  }
  code(): string {
    return embeddingForwardWGSL(this.act);
  }
}

/** dTable[ids] += scale · dOut · drop (CAS float adds). Bindings: ids, dOut, dTable, step. */
export class EmbeddingTableGradProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = EMBEDDING_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(EMBEDDING_TABLE_GRAD_BUFFERS);
  readonly paramFields = EMBEDDING_TABLE_GRAD_FIELDS;
  /** `act`: storage of dOut. */
  constructor(readonly act: WgslAct = 'f32') {
    this.key = `embedding/table-grad/${act}`;
  }
  code(): string {
    return embeddingTableGradWGSL(this.act);
  }
}

/** dPos[t] += Σ_b dOut · drop over the rows of position t (deterministic). Bindings: ids, dOut, dPos, step. */
export class EmbeddingPosGradProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = EMBEDDING_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(EMBEDDING_POS_GRAD_BUFFERS);
  readonly paramFields = EMBEDDING_POS_GRAD_FIELDS;
  /** `act`: storage of dOut. */
  constructor(readonly act: WgslAct = 'f32') {
    this.key = `embedding/pos-grad/${act}`;
  }
  code(): string {
    return embeddingPosGradWGSL(this.act);
  }
}

/** Shapes and options shared by the forward and the backward. */
interface EmbeddingShape {
  R: number;
  L: number;
  D: number;
  scale: number;
  padId: number;
  /** Rows of the table (checked against its view). Default 1. */
  V?: number;
  dropout?: WgslDropout;
  /** u32 step counter (the dropout stream); needed when dropout is on. */
  step?: WgslView;
  /** Storage of out (forward) and dOut (backward): 'f32' (default) or 'f16' (needs 'shader-f16'); table, pos, dTable, dPos are float32. */
  act?: WgslAct;
}

/** Arguments of {@link wgslEmbeddingForward} (as cuda.ts CudaEmbeddingForwardArgs; `act` for its `dtype`). */
export interface WgslEmbeddingForwardArgs extends EmbeddingShape {
  /** [R] int32 ids (in [0, V) or padId). */
  ids: WgslView;
  /** [V, D] float32. */
  table: WgslView;
  /** [L, D] float32. */
  pos: WgslView;
  /** [R, D] out (`act`). */
  out: WgslView;
}

/** Arguments of {@link wgslEmbeddingBackward}. */
export interface WgslEmbeddingBackwardArgs extends EmbeddingShape {
  ids: WgslView;
  /** [R, D] (`act`). */
  dOut: WgslView;
  /** [V, D] float32, accumulates. */
  dTable: WgslView;
  /** [L, D] float32, accumulates. */
  dPos: WgslView;
}

function check(op: string, a: EmbeddingShape): ReturnType<typeof dropoutParams> {
  checkInt(op, 'R', a.R, 0);
  checkInt(op, 'L', a.L, 1);
  checkInt(op, 'D', a.D, 1);
  if (a.R * a.D > 2 ** 32 - 4)
    throw new RangeError(`${op}: R·D = ${a.R * a.D} exceeds the 32-bit element index`);
  if (a.V !== undefined) checkInt(op, 'V', a.V, 1);
  const drop = dropoutParams('drop', a.dropout);
  if (drop.drop_on && !a.step) throw new TypeError(`${op}: step (the dropout stream) is needed with dropout`);
  return drop;
}

const shapeParams = (a: EmbeddingShape) => ({ R: a.R, L: a.L, D: a.D, scale: a.scale, pad: a.padId });

/** The forward's dispatch. */
export function wgslEmbeddingForward(device: GPUDevice, a: WgslEmbeddingForwardArgs): Step[] {
  const op = 'wgslEmbeddingForward';
  const drop = check(op, a);
  if (a.R === 0) return [];
  const b = new Binder(device, op, EMBEDDING_FORWARD_BUFFERS, a.act)
    .view('ids', a.ids, a.R)
    .view('table', a.table, (a.V ?? 1) * a.D)
    .view('pos', a.pos, a.L * a.D)
    .view('out', a.out, a.R * a.D)
    .view('step_ctr', a.step, 1);
  return [
    {
      program: new EmbeddingForwardProgram(a.act),
      params: b.with({ ...shapeParams(a), ...drop }),
      buffers: b.buffers,
      units: Math.ceil((a.R * a.D) / 4 / EMBEDDING_WORKGROUP),
    },
  ];
}

/** The backward's dispatches: the table's scatter-add, then the positions' sums. */
export function wgslEmbeddingBackward(device: GPUDevice, a: WgslEmbeddingBackwardArgs): Step[] {
  const op = 'wgslEmbeddingBackward';
  const drop = check(op, a);
  if (a.R === 0) return [];
  const params = { ...shapeParams(a), ...drop };
  const t = new Binder(device, op, EMBEDDING_TABLE_GRAD_BUFFERS, a.act)
    .view('ids', a.ids, a.R)
    .view('dOut', a.dOut, a.R * a.D)
    .view('dTable', a.dTable, (a.V ?? 1) * a.D)
    .view('step_ctr', a.step, 1);
  const p = new Binder(device, op, EMBEDDING_POS_GRAD_BUFFERS, a.act)
    .view('ids', a.ids, a.R)
    .view('dOut', a.dOut, a.R * a.D)
    .view('dPos', a.dPos, a.L * a.D)
    .view('step_ctr', a.step, 1);
  return [
    {
      program: new EmbeddingTableGradProgram(a.act),
      params: t.with(params),
      buffers: t.buffers,
      units: Math.ceil((a.R * a.D) / 4 / EMBEDDING_WORKGROUP),
    },
    {
      program: new EmbeddingPosGradProgram(a.act),
      params: p.with(params),
      buffers: p.buffers,
      units: Math.ceil((a.L * a.D) / EMBEDDING_WORKGROUP),
    },
  ];
}
