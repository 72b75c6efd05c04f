/**
 * SASRec's BCE and gBCE over uniform sampled negatives, float64: the oracle of bce.cu, computing
 * what @cutrec/models' sampledBce (models/src/losses/sampled-bce.ts) computes per row. Row i's j-th
 * negative is the uniform draw of group i, index j, stream `step` (DESIGN.md's sampling contract,
 * share 'row'): item = high32(w0 · C), w = Philox4x32-10([i, j, step, 0], seedKey(seed)).
 *
 * Per row i with a valid target y: pos = h_i·w_y, s_ij = h_i·w_{n_ij},
 * loss_i = β·softplus(−pos) + Σ_j keep_ij·softplus(s_ij), keep_ij = 0 when removeAccidentalHits
 * and n_ij = y, else 1; ignored rows give 0.
 */
import { mulhi32, philox4x32_10, seedKey } from '@cutrec/sampler';

/** A caller-provided numeric array the reference writes (Float64Array, Float32Array, number[]). */
type Writable = { [index: number]: number; readonly length: number };

/** The inputs of the BCE loss. */
export interface BceInputs {
  /** [N, D]. */
  hidden: ArrayLike<number>;
  /** [C, D]. */
  items: ArrayLike<number>;
  /** [N] item ids in [0, C), or ignoreIndex. */
  targets: ArrayLike<number>;
  N: number;
  C: number;
  D: number;
  /** Negatives per row. */
  K: number;
  /** Weight of the positive term (1 = BCE; gBCE's β from gbceBeta). */
  beta: number;
  seed: number;
  /** The negatives' stream (the training step). */
  step: number;
  removeAccidentalHits: boolean;
  ignoreIndex: number;
}

/** Throws naming the argument unless the sizes, seed, step and targets are valid. */
export function checkBceInputs(a: BceInputs): void {
  for (const [name, v, lo] of [
    ['N', a.N, 0],
    ['C', a.C, 1],
    ['D', a.D, 1],
    ['K', a.K, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < lo || v > 0xffffffff) {
      throw new RangeError(`bce: ${name} must be an integer in [${lo}, 2^32), got ${v}`);
    }
  }
  seedKey(a.seed);
  if (!Number.isInteger(a.step) || a.step < 0 || a.step > 0xffffffff) {
    throw new RangeError(`bce: step must be an integer in [0, 2^32), got ${a.step}`);
  }
  if (a.hidden.length < a.N * a.D)
    throw new RangeError(`bce: hidden has ${a.hidden.length} elements; N·D = ${a.N * a.D}`);
  if (a.items.length < a.C * a.D)
    throw new RangeError(`bce: items has ${a.items.length} elements; C·D = ${a.C * a.D}`);
  if (a.targets.length < a.N)
    throw new RangeError(`bce: targets has ${a.targets.length} elements; N = ${a.N}`);
  for (let i = 0; i < a.N; i++) {
    const t = a.targets[i]!;
    if (t !== a.ignoreIndex && !(Number.isInteger(t) && t >= 0 && t < a.C)) {
      throw new RangeError(
        `bce: targets[${i}] must be in [0, ${a.C}) or ignoreIndex (${a.ignoreIndex}), got ${t}`,
      );
    }
  }
}

/** softplus(x) = log(1 + eˣ), stably. */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, D: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) s += a[ao + d]! * b[bo + d]!;
  return s;
}

/**
 * Visits each valid row: `f(i, y, pos, negs, s, keep)` with the row's K negatives, their scores
 * and keep flags (arrays reused between rows).
 */
function forEachRow(
  a: BceInputs,
  f: (i: number, y: number, pos: number, negs: Uint32Array, s: Float64Array, keep: Uint8Array) => void,
): void {
  const { hidden, items, targets, N, C, D, K } = a;
  const [k0, k1] = seedKey(a.seed);
  const w = new Uint32Array(4);
  const negs = new Uint32Array(K);
  const s = new Float64Array(K);
  const keep = new Uint8Array(K);
  for (let i = 0; i < N; i++) {
    const y = targets[i]!;
    if (y === a.ignoreIndex) continue;
    const pos = dot(hidden, i * D, items, y * D, D);
    for (let j = 0; j < K; j++) {
      philox4x32_10(i, j, a.step, 0, k0, k1, w);
      const n = mulhi32(w[0]!, C);
      negs[j] = n;
      keep[j] = a.removeAccidentalHits && n === y ? 0 : 1;
      s[j] = keep[j] ? dot(hidden, i * D, items, n * D, D) : 0;
    }
    f(i, y, pos, negs, s, keep);
  }
}

/** rowLoss [N] (written) = loss_i per row, 0 for ignored rows. */
export function bceForward(a: BceInputs & { rowLoss: Writable }): void {
  checkBceInputs(a);
  if (a.rowLoss.length < a.N)
    throw new RangeError(`bce: rowLoss has ${a.rowLoss.length} elements; N = ${a.N}`);
  for (let i = 0; i < a.N; i++) a.rowLoss[i] = 0;
  forEachRow(a, (i, _y, pos, _negs, s, keep) => {
    let loss = a.beta * softplus(-pos);
    for (let j = 0; j < a.K; j++) if (keep[j]) loss += softplus(s[j]!);
    a.rowLoss[i] = loss;
  });
}

/**
 * The gradients of Σ_i dRow[i]·loss_i: dHidden [N, D] written (0 on ignored rows), dItems [C, D]
 * accumulated (added into).
 */
export function bceBackward(
  a: BceInputs & { dRow: ArrayLike<number>; dHidden: Writable; dItems: Writable },
): void {
  checkBceInputs(a);
  const { hidden, items, N, D, K, dRow, dHidden, dItems } = a;
  if (dRow.length < N) throw new RangeError(`bce: dRow has ${dRow.length} elements; N = ${N}`);
  if (dHidden.length < N * D)
    throw new RangeError(`bce: dHidden has ${dHidden.length} elements; N·D = ${N * D}`);
  if (dItems.length < a.C * D)
    throw new RangeError(`bce: dItems has ${dItems.length} elements; C·D = ${a.C * D}`);
  for (let e = 0; e < N * D; e++) dHidden[e] = 0;
  forEachRow(a, (i, y, pos, negs, s, keep) => {
    const g = dRow[i]!;
    // d/dpos β·softplus(−pos) = −β·σ(−pos); d/ds softplus(s) = σ(s).
    const cPos = -g * a.beta * sigmoid(-pos);
    const acc = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      acc[d] = cPos * items[y * D + d]!;
      dItems[y * D + d] = dItems[y * D + d]! + cPos * hidden[i * D + d]!;
    }
    for (let j = 0; j < K; j++) {
      if (!keep[j]) continue;
      const c = g * sigmoid(s[j]!);
      const n = negs[j]!;
      for (let d = 0; d < D; d++) {
        acc[d] = acc[d]! + c * items[n * D + d]!;
        dItems[n * D + d] = dItems[n * D + d]! + c * hidden[i * D + d]!;
      }
    }
    for (let d = 0; d < D; d++) dHidden[i * D + d] = acc[d]!;
  });
}
