/**
 * WebGPU launchers of the layer norm op (layernorm.wgsl.ts): each returns the dispatches of one
 * call (runner.ts `Step`s) for the caller to record or submit. Arguments mean what they mean for
 * the CUDA launchers (cuda.ts; EngineOps.layerNormForward/Backward); storage is float32, and with
 * `act: 'f16'` the activations (x, residual a, sum, y, dy, s, dx, dSkip, da: those of the CUDA
 * launchers' `dtype`) are f16 while gamma, beta, mean, rstd, dGamma and dBeta stay float32.
 */
import { layoutOf, type WgslLayout } from '../../wgsl/layout.js';
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import {
  COLSUM_COLS,
  COLSUM_WORKGROUP,
  colSumRows,
  dropoutParams,
  type WgslDropout,
} from '../common.wgsl.js';
import { Binder, checkInt, opBindings, sameView, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  LN_BACKWARD_BUFFERS,
  LN_BACKWARD_FIELDS,
  LN_COLUMNS_BUFFERS,
  LN_COLUMNS_FIELDS,
  LN_FORWARD_FIELDS,
  layerNormBackwardWGSL,
  layerNormColumnsWGSL,
  layerNormForwardWGSL,
  lnForwardBuffers,
  lnRowUnits,
  lnWorkgroupSize,
} from './layernorm.wgsl.js';

/** Largest D (a row lives in each invocation's registers: D / 64 floats, or D on a software adapter). */
export const LN_WGSL_MAX_D = 4096;

/** s = x (+ drop(a)), y = LN(s)·gamma + beta (0 on masked rows), mean, rstd, optional sum = s. */
export class LayerNormForwardProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize: number;
  readonly bindings: readonly BindingKind[];
  readonly paramFields = LN_FORWARD_FIELDS;
  /** `inPlace`: sum is x (x is read_write and takes s). `act`: storage of x, a, sum and y. */
  constructor(
    readonly D: number,
    readonly inPlace: boolean,
    readonly layout: WgslLayout = 'gpu',
    readonly act: WgslAct = 'f32',
  ) {
    this.key = `layernorm/forward/${D}${inPlace ? '/inplace' : ''}/${layout}/${act}`;
    this.workgroupSize = lnWorkgroupSize(layout);
    this.bindings = opBindings(lnForwardBuffers(inPlace));
  }
  code(): string {
    return layerNormForwardWGSL(this.D, this.inPlace, this.layout, this.act);
  }
}

/** dx = LN'ᵀ dy (+ dSkip), da = dx · drop (rows). */
export class LayerNormBackwardProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize: number;
  readonly bindings: readonly BindingKind[] = opBindings(LN_BACKWARD_BUFFERS);
  readonly paramFields = LN_BACKWARD_FIELDS;
  /** `inPlace`: dx is dSkip (dSkip is read from dx). `act`: storage of dy, s, dx, dSkip and da. */
  constructor(
    readonly D: number,
    readonly inPlace: boolean,
    readonly layout: WgslLayout = 'gpu',
    readonly act: WgslAct = 'f32',
  ) {
    this.key = `layernorm/backward/${D}${inPlace ? '/inplace' : ''}/${layout}/${act}`;
    this.workgroupSize = lnWorkgroupSize(layout);
  }
  code(): string {
    return layerNormBackwardWGSL(this.D, this.inPlace, this.layout, this.act);
  }
}

/** dGamma += Σ dy·xhat, dBeta += Σ dy (the column-sum lanes: CAS adds of chunk sums). */
export class LayerNormColumnsProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = COLSUM_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(LN_COLUMNS_BUFFERS);
  readonly paramFields = LN_COLUMNS_FIELDS;
  /** `act`: storage of dy and s. */
  constructor(readonly act: WgslAct = 'f32') {
    this.key = `layernorm/columns/${act}`;
  }
  code(): string {
    return layerNormColumnsWGSL(this.act);
  }
}

/** A padding row mask: [R] int32 ids; rows with ids[r] = padId are masked. */
export interface WgslRowMask {
  ids: WgslView;
  padId: number;
}

/** Arguments of {@link wgslLayerNormForward}. */
export interface WgslLayerNormForwardArgs {
  /** [R, D]. */
  x: WgslView;
  /** s = x + a · dropout(e). */
  residual?: { a: WgslView; dropout?: WgslDropout };
  /** [R, D] out: s; may be `x` itself. */
  sum?: WgslView;
  /** [R, D] out. */
  y: WgslView;
  /** [D]. */
  gamma: WgslView;
  beta: WgslView;
  /** [R] out. */
  mean: WgslView;
  rstd: WgslView;
  R: number;
  D: number;
  eps: number;
  rowMask?: WgslRowMask;
  /** u32 step counter (the dropout stream); needed when the residual has dropout. */
  step?: WgslView;
  /** Storage of x, residual a, sum and y: 'f32' (default) or 'f16' (needs 'shader-f16'); gamma, beta, mean, rstd are float32. */
  act?: WgslAct;
}

/** Arguments of {@link wgslLayerNormBackward}. */
export interface WgslLayerNormBackwardArgs {
  /** [R, D] gradient of y (taken as 0 on masked rows). */
  dy: WgslView;
  /** [R, D] the forward's s. */
  s: WgslView;
  gamma: WgslView;
  mean: WgslView;
  rstd: WgslView;
  /** [R, D] out. */
  dx: WgslView;
  /** [D], accumulate. */
  dGamma: WgslView;
  dBeta: WgslView;
  R: number;
  D: number;
  /** [R, D] added to dx; may be `dx` itself. */
  dSkip?: WgslView;
  /** da = dx · dropout(e), [R, D] out. */
  residualGrad?: { da: WgslView; dropout?: WgslDropout };
  rowMask?: WgslRowMask;
  step?: WgslView;
  /** Storage of dy, s, dx, dSkip and da: 'f32' (default) or 'f16' (needs 'shader-f16'); gamma, mean, rstd, dGamma, dBeta are float32. */
  act?: WgslAct;
}

function checkDims(op: string, R: number, D: number, eps = 1): void {
  checkInt(op, 'R', R, 0);
  checkInt(op, 'D', D, 1, LN_WGSL_MAX_D);
  if (R * D > 2 ** 32 - 4) throw new RangeError(`${op}: R·D = ${R * D} exceeds the 32-bit element index`);
  if (!(eps >= 0)) throw new RangeError(`${op}: eps must be ≥ 0, got ${eps}`);
}

function dropOf(op: string, d: WgslDropout | undefined, step: WgslView | undefined) {
  const p = dropoutParams('drop', d);
  if (p.drop_on && !step) throw new TypeError(`${op}: step (the dropout stream) is needed with dropout`);
  return p;
}

/** The forward's dispatch: a workgroup per row (an invocation per row on a software adapter). */
export function wgslLayerNormForward(device: GPUDevice, a: WgslLayerNormForwardArgs): Step[] {
  const op = 'wgslLayerNormForward';
  const { R, D } = a;
  checkDims(op, R, D, a.eps);
  const drop = dropOf(op, a.residual?.dropout, a.step);
  if (R === 0) return [];
  const n = R * D;
  const inPlace = sameView(a.sum, a.x);
  const b = new Binder(device, op, lnForwardBuffers(inPlace), a.act)
    .view('x', a.x, n)
    .view('a', a.residual?.a, n)
    .view('sum', inPlace ? undefined : a.sum, n)
    .view('y', a.y, n)
    .view('gamma', a.gamma, D)
    .view('beta', a.beta, D)
    .view('mean', a.mean, R)
    .view('rstd', a.rstd, R)
    .view('ids', a.rowMask?.ids, R)
    .view('step_ctr', a.step, 1);
  const layout = layoutOf(device);
  return [
    {
      program: new LayerNormForwardProgram(D, inPlace, layout, a.act),
      params: b.with({
        R,
        eps: a.eps,
        pad: a.rowMask?.padId ?? 0,
        has_a: a.residual ? 1 : 0,
        has_sum: a.sum ? 1 : 0,
        has_mask: a.rowMask ? 1 : 0,
        ...drop,
      }),
      buffers: b.buffers,
      units: lnRowUnits(R, layout),
    },
  ];
}

/** The backward's dispatches: rows (dx, da), then columns (dGamma, dBeta). */
export function wgslLayerNormBackward(device: GPUDevice, a: WgslLayerNormBackwardArgs): Step[] {
  const op = 'wgslLayerNormBackward';
  const { R, D } = a;
  checkDims(op, R, D);
  const drop = dropOf(op, a.residualGrad?.dropout, a.step);
  if (R === 0) return [];
  const n = R * D;
  const flags = {
    R,
    pad: a.rowMask?.padId ?? 0,
    has_mask: a.rowMask ? 1 : 0,
    has_skip: a.dSkip ? 1 : 0,
    has_da: a.residualGrad ? 1 : 0,
  };
  const inPlace = sameView(a.dSkip, a.dx);
  const rows = new Binder(device, op, LN_BACKWARD_BUFFERS, a.act)
    .view('dy', a.dy, n)
    .view('s', a.s, n)
    .view('gamma', a.gamma, D)
    .view('mean', a.mean, R)
    .view('rstd', a.rstd, R)
    .view('dx', a.dx, n)
    .view('dSkip', inPlace ? undefined : a.dSkip, n)
    .view('da', a.residualGrad?.da, n)
    .view('ids', a.rowMask?.ids, R)
    .view('step_ctr', a.step, 1);
  const cols = new Binder(device, op, LN_COLUMNS_BUFFERS, a.act)
    .view('dy', a.dy, n)
    .view('s', a.s, n)
    .view('mean', a.mean, R)
    .view('rstd', a.rstd, R)
    .view('ids', a.rowMask?.ids, R)
    .view('dGamma', a.dGamma, D)
    .view('dBeta', a.dBeta, D);
  const colBlocks = Math.ceil(D / COLSUM_COLS);
  const chunkRows = colSumRows(R);
  const layout = layoutOf(device);
  // Columns first: they read dy and s only, so the rows may then write dx over dSkip (or anything but dy and s).
  return [
    {
      program: new LayerNormColumnsProgram(a.act),
      params: cols.with({ ...flags, D, col_blocks: colBlocks, chunk_rows: chunkRows }),
      buffers: cols.buffers,
      units: colBlocks * Math.ceil(R / chunkRows),
    },
    {
      program: new LayerNormBackwardProgram(D, inPlace, layout, a.act),
      params: rows.with({ ...flags, ...drop }),
      buffers: rows.buffers,
      units: lnRowUnits(R, layout),
    },
  ];
}
