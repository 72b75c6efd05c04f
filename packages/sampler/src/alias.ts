/**
 * The popularity sampler's alias table (Vose's method) and the exact probabilities it encodes.
 *
 * A draw picks column `col = high32(w0 · C)` and returns `col` when `w1 < prob[col]`, else
 * `alias[col]`. Taking the column pick as 1/C each (DESIGN.md), item c has probability
 *
 *     q(c) = Σ_col ( [col = c] · prob[col] + [alias[col] = c] · (2^32 − prob[col]) ) / (C · 2^32)
 *
 * except that a full column (alias[col] = col, prob[col] = 0xffffffff) counts 2^32 for its item.
 */
import type { AliasTable } from './types.js';

const TWO32 = 2 ** 32;
const FULL = 0xffffffff;

/** Options of `buildAliasTable`. */
export interface AliasOptions {
  /** Counts are raised to this power before normalising (e.g. 0.75); a zero count stays zero. Default 1. */
  alpha?: number;
}

/**
 * Builds a Vose alias table over C = counts.length items whose weights are counts^alpha; returns
 * u32 thresholds `prob`, u32 `alias`, the exact encoded probabilities `q` (float64) and `logQ` (float32).
 */
export function buildAliasTable(counts: ArrayLike<number>, options: AliasOptions = {}): AliasTable {
  const alpha = options.alpha ?? 1;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) {
    throw new RangeError(`options.alpha must be a finite number ≥ 0, got ${alpha}`);
  }
  const C = counts.length;
  if (C < 1)
    throw new RangeError('counts must hold at least one item (counts.length ≥ 1), got an empty array');
  if (C > FULL) throw new RangeError(`counts.length must be < 2^32, got ${C}`);

  const weights = new Float64Array(C);
  let total = 0;
  for (let c = 0; c < C; c++) {
    const v = counts[c] as number;
    if (typeof v !== 'number' || Number.isNaN(v)) throw new RangeError(`counts[${c}] is NaN`);
    if (!Number.isFinite(v)) throw new RangeError(`counts[${c}] must be finite, got ${v}`);
    if (v < 0) throw new RangeError(`counts[${c}] must be ≥ 0, got ${v}`);
    const w = v === 0 ? 0 : alpha === 1 ? v : v ** alpha;
    if (!Number.isFinite(w)) throw new RangeError(`counts[${c}]^alpha overflows (${v}^${alpha})`);
    weights[c] = w;
    total += w;
  }
  if (total === 0) throw new RangeError('counts must have at least one positive entry, got all zeros');
  if (!Number.isFinite(total)) throw new RangeError('counts^alpha sums to infinity; scale the counts down');

  // Vose: scaled[c] = C · p(c); columns below 1 take a share of one at or above 1.
  const scaled = new Float64Array(C);
  for (let c = 0; c < C; c++) scaled[c] = (weights[c]! / total) * C;
  const small = new Uint32Array(C);
  const large = new Uint32Array(C);
  let ns = 0;
  let nl = 0;
  for (let c = 0; c < C; c++) {
    if (scaled[c]! < 1) small[ns++] = c;
    else large[nl++] = c;
  }
  const prob = new Uint32Array(C);
  const alias = new Uint32Array(C);
  while (ns > 0 && nl > 0) {
    const l = small[--ns]!;
    const g = large[--nl]!;
    const t = Math.round(scaled[l]! * TWO32);
    if (t >= TWO32) {
      prob[l] = FULL;
      alias[l] = l;
    } else {
      prob[l] = t;
      alias[l] = g;
    }
    scaled[g] = scaled[g]! + scaled[l]! - 1;
    if (scaled[g]! < 1) small[ns++] = g;
    else large[nl++] = g;
  }
  // What is left is (up to rounding) exactly 1: full columns.
  while (nl > 0) {
    const g = large[--nl]!;
    prob[g] = FULL;
    alias[g] = g;
  }
  while (ns > 0) {
    const l = small[--ns]!;
    prob[l] = FULL;
    alias[l] = l;
  }

  const q = encodedProbabilities(prob, alias);
  const logQ = new Float32Array(C);
  for (let c = 0; c < C; c++) logQ[c] = Math.log(q[c]!);
  return { numItems: C, prob, alias, q, logQ };
}

/**
 * The exact probability per item that an alias table (`prob`, `alias`) encodes, column pick
 * 1/C: integer numerators summed in float64 (exact while C < 2^21), divided once by C · 2^32.
 */
export function encodedProbabilities(prob: Uint32Array, alias: Uint32Array): Float64Array {
  const C = prob.length;
  if (alias.length !== C)
    throw new RangeError(`alias.length must equal prob.length (${C}), got ${alias.length}`);
  const num = new Float64Array(C);
  for (let col = 0; col < C; col++) {
    const a = alias[col]!;
    if (a >= C) throw new RangeError(`alias[${col}] must be < ${C}, got ${a}`);
    const p = prob[col]!;
    if (a === col) {
      num[col] = num[col]! + TWO32;
    } else {
      num[col] = num[col]! + p;
      num[a] = num[a]! + (TWO32 - p);
    }
  }
  const denom = C * TWO32;
  const q = new Float64Array(C);
  for (let c = 0; c < C; c++) q[c] = num[c]! / denom;
  return q;
}

/** Checks that `table` is a well-formed alias table over `numItems` items; throws naming the field. */
export function checkAliasTable(table: AliasTable, numItems: number, name = 'spec.table'): void {
  if (table === null || typeof table !== 'object')
    throw new TypeError(`${name} must be an AliasTable from buildAliasTable`);
  if (table.numItems !== numItems) {
    throw new RangeError(`${name}.numItems (${table.numItems}) must equal spec.numItems (${numItems})`);
  }
  for (const f of ['prob', 'alias', 'q', 'logQ'] as const) {
    if (table[f]?.length !== numItems) {
      throw new RangeError(`${name}.${f} must have numItems = ${numItems} entries, got ${table[f]?.length}`);
    }
  }
}
