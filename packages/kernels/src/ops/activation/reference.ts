/**
 * Point-wise activation followed by dropout (float64 oracle):
 *
 *     out  = act(pre) · mul(e)              dPre = dOut · mul(e) · act'(pre)
 *
 * with mul the dropout multiplier of flat element e (1 without dropout). act is ReLU
 * (ReLU'(x) = x > 0 ? 1 : 0) or the tanh form of GELU that tfjs's SASRec uses (models/src/layers.ts):
 * gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), with its exact derivative.
 */
import { type DropoutSpec, dropoutMultiplier } from '../dropout/index.js';

type Out = { [i: number]: number; length: number };

/** The activation functions of the feed-forward block. */
export type ActivationKind = 'relu' | 'gelu';

/** Arguments of {@link activationForward}. */
export interface ActivationForwardArgs {
  /** [n] pre-activations. */
  pre: ArrayLike<number>;
  /** [n] out. */
  out: Out;
  n: number;
  kind: ActivationKind;
  /** Dropout on `out` (element e). */
  dropout?: DropoutSpec;
}

/** Arguments of {@link activationBackward}. */
export interface ActivationBackwardArgs {
  pre: ArrayLike<number>;
  /** [n] gradient of `out`. */
  dOut: ArrayLike<number>;
  /** [n] out: gradient of `pre`. */
  dPre: Out;
  n: number;
  kind: ActivationKind;
  dropout?: DropoutSpec;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** act(x) for `kind`. */
export function activationValue(kind: ActivationKind, x: number): number {
  if (kind === 'relu') return Math.max(x, 0);
  return 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_A * x * x * x)));
}

/** act'(x) for `kind` (ReLU'(0) = 0). */
export function activationDerivative(kind: ActivationKind, x: number): number {
  if (kind === 'relu') return x > 0 ? 1 : 0;
  const t = Math.tanh(GELU_C * (x + GELU_A * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * x * x);
}

function check(name: string, n: number, arrays: [string, { length: number }][]): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`${name}: n must be an integer ≥ 0, got ${n}`);
  for (const [arg, a] of arrays) {
    if (a.length < n) throw new RangeError(`${name}: ${arg} has ${a.length} entries; it needs ${n}`);
  }
}

/** out = act(pre) · dropout. */
export function activationForward(a: ActivationForwardArgs): void {
  const { pre, out, n, kind } = a;
  check('activationForward', n, [
    ['pre', pre],
    ['out', out],
  ]);
  const mul = dropoutMultiplier(a.dropout);
  for (let e = 0; e < n; e++) out[e] = activationValue(kind, pre[e]!) * mul(e);
}

/** dPre = dOut · dropout · act'(pre). */
export function activationBackward(a: ActivationBackwardArgs): void {
  const { pre, dOut, dPre, n, kind } = a;
  check('activationBackward', n, [
    ['pre', pre],
    ['dOut', dOut],
    ['dPre', dPre],
  ]);
  const mul = dropoutMultiplier(a.dropout);
  for (let e = 0; e < n; e++) dPre[e] = dOut[e]! * mul(e) * activationDerivative(kind, pre[e]!);
}
