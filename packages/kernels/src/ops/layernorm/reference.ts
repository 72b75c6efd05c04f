/**
 * Layer norm over the last axis (float64 oracle), with an optional residual whose dropout is
 * applied first and an optional padding row mask:
 *
 *     s  = residual ? x + a · mul(e) : x              (e = r·D + d, the flat index into [R, D])
 *     y  = (s − mean) · rstd · gamma + beta,  rstd = 1/√(var + eps)  (biased variance)
 *     y  = 0 on rows r with ids[r] = padId            (rowMask)
 *
 * The backward takes dy as 0 on masked rows and adds an incoming skip gradient:
 *
 *     dxhat = dy · gamma
 *     dx    = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat · xhat)) + dSkip
 *     dGamma += Σ_r dy · xhat,  dBeta += Σ_r dy,  da = dx · mul(e)   (residualGrad)
 */
import { type DropoutSpec, dropoutMultiplier } from '../dropout/index.js';

type Out = { [i: number]: number; length: number };

/** Rows whose id is the padding id (a row mask shared by the forward and the backward). */
export interface LayerNormRowMask {
  /** [R] ids; rows with ids[r] = padId are masked. */
  ids: ArrayLike<number>;
  padId: number;
}

/** Arguments of {@link layerNormForward}. */
export interface LayerNormForwardArgs {
  /** [R, D] input (the residual stream). */
  x: ArrayLike<number>;
  /** Added to x first: s = x + a · dropout(e). */
  residual?: { a: ArrayLike<number>; dropout?: DropoutSpec };
  /** [R, D] out: s, the LN input (what the backward takes as `s`). */
  sum?: Out;
  /**
   * How `sum` is stored (e.g. rounding to bfloat16; default exact): the statistics and y are of
   * the stored sum, so a layer norm recomputed from it is the same.
   */
  storeSum?: (v: number) => number;
  /** [R, D] out. */
  y: Out;
  /** [D] float32 parameters. */
  gamma: ArrayLike<number>;
  beta: ArrayLike<number>;
  /** [R] out: the row statistics the backward takes. */
  mean: Out;
  rstd: Out;
  R: number;
  D: number;
  eps: number;
  /** y = 0 on padding rows. */
  rowMask?: LayerNormRowMask;
}

/** Arguments of {@link layerNormBackward}. */
export interface LayerNormBackwardArgs {
  /** [R, D] gradient of y (taken as 0 on masked rows). */
  dy: ArrayLike<number>;
  /** [R, D] the LN input s of the forward. */
  s: ArrayLike<number>;
  gamma: ArrayLike<number>;
  /** [R] the forward's statistics. */
  mean: ArrayLike<number>;
  rstd: ArrayLike<number>;
  /** [R, D] out: gradient of s (plus dSkip). */
  dx: Out;
  /** [D] accumulate. */
  dGamma: Out;
  dBeta: Out;
  R: number;
  D: number;
  /** [R, D] gradient arriving through the skip connection, added to dx; may be `dx` itself. */
  dSkip?: ArrayLike<number>;
  /** da = dx · dropout(e): the gradient of the residual branch `a` of the forward. */
  residualGrad?: { da: Out; dropout?: DropoutSpec };
  rowMask?: LayerNormRowMask;
}

function checkDims(name: string, R: number, D: number): void {
  if (!(Number.isInteger(R) && R >= 0 && Number.isInteger(D) && D >= 1)) {
    throw new RangeError(`${name}: R, D must be integers with R ≥ 0, D ≥ 1 (got ${R}, ${D})`);
  }
}

function need(name: string, arg: string, a: { length: number }, n: number): void {
  if (a.length < n) throw new RangeError(`${name}: ${arg} has ${a.length} entries; it needs ${n}`);
}

/** s = x (+ drop(a)); mean, rstd of s per row; y = LN(s)·gamma + beta (0 on masked rows). */
export function layerNormForward(a: LayerNormForwardArgs): void {
  const { x, y, gamma, beta, mean, rstd, R, D, eps } = a;
  const name = 'layerNormForward';
  checkDims(name, R, D);
  need(name, 'x', x, R * D);
  need(name, 'y', y, R * D);
  need(name, 'gamma', gamma, D);
  need(name, 'beta', beta, D);
  need(name, 'mean', mean, R);
  need(name, 'rstd', rstd, R);
  if (a.residual) need(name, 'residual.a', a.residual.a, R * D);
  if (a.sum) need(name, 'sum', a.sum, R * D);
  if (a.rowMask) need(name, 'rowMask.ids', a.rowMask.ids, R);
  const mul = dropoutMultiplier(a.residual?.dropout);
  const s = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    let m = 0;
    for (let d = 0; d < D; d++) {
      const e = r * D + d;
      const v = a.residual ? x[e]! + a.residual.a[e]! * mul(e) : x[e]!;
      const stored = a.sum && a.storeSum ? a.storeSum(v) : v;
      s[d] = stored;
      m += stored;
    }
    m /= D;
    let q = 0;
    for (let d = 0; d < D; d++) q += (s[d]! - m) * (s[d]! - m);
    const rs = 1 / Math.sqrt(q / D + eps);
    mean[r] = m;
    rstd[r] = rs;
    const masked = a.rowMask !== undefined && a.rowMask.ids[r] === a.rowMask.padId;
    for (let d = 0; d < D; d++) {
      const e = r * D + d;
      if (a.sum) a.sum[e] = s[d]!;
      y[e] = masked ? 0 : (s[d]! - m) * rs * gamma[d]! + beta[d]!;
    }
  }
}

/** dx = LN'ᵀ dy + dSkip; dGamma, dBeta accumulate; da = dx · drop (residualGrad). */
export function layerNormBackward(a: LayerNormBackwardArgs): void {
  const { dy, s, gamma, mean, rstd, dx, dGamma, dBeta, R, D } = a;
  const name = 'layerNormBackward';
  checkDims(name, R, D);
  need(name, 'dy', dy, R * D);
  need(name, 's', s, R * D);
  need(name, 'gamma', gamma, D);
  need(name, 'mean', mean, R);
  need(name, 'rstd', rstd, R);
  need(name, 'dx', dx, R * D);
  need(name, 'dGamma', dGamma, D);
  need(name, 'dBeta', dBeta, D);
  if (a.dSkip) need(name, 'dSkip', a.dSkip, R * D);
  if (a.residualGrad) need(name, 'residualGrad.da', a.residualGrad.da, R * D);
  if (a.rowMask) need(name, 'rowMask.ids', a.rowMask.ids, R);
  const mul = dropoutMultiplier(a.residualGrad?.dropout);
  const xh = new Float64Array(D);
  const dxh = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    const masked = a.rowMask !== undefined && a.rowMask.ids[r] === a.rowMask.padId;
    const m = mean[r]!;
    const rs = rstd[r]!;
    let m1 = 0;
    let m2 = 0;
    for (let d = 0; d < D; d++) {
      const e = r * D + d;
      const g = masked ? 0 : dy[e]!;
      xh[d] = (s[e]! - m) * rs;
      dxh[d] = g * gamma[d]!;
      m1 += dxh[d]!;
      m2 += dxh[d]! * xh[d]!;
      dGamma[d] = dGamma[d]! + g * xh[d]!;
      dBeta[d] = dBeta[d]! + g;
    }
    m1 /= D;
    m2 /= D;
    for (let d = 0; d < D; d++) {
      const e = r * D + d;
      // dSkip is read before dx is written: dx may be dSkip itself.
      const v = rs * (dxh[d]! - m1 - xh[d]! * m2) + (a.dSkip ? a.dSkip[e]! : 0);
      dx[e] = v;
      if (a.residualGrad) a.residualGrad.da[e] = v * mul(e);
    }
  }
}
