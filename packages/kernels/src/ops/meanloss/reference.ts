/**
 * The mean of per-row losses over valid rows and the rows' upstream gradient, float64: the oracle
 * of meanloss.cu and meanloss.wgsl.ts (also of the WGSL kernel's loss scaling, `gradScale`).
 */

/** A caller-provided numeric array the reference writes (Float64Array, Float32Array, number[]). */
type Writable = { [index: number]: number; readonly length: number };

/** Arguments of {@link meanLoss}. */
export interface MeanLossArgs {
  /** [N] per-row losses. */
  values: ArrayLike<number>;
  /** [N] targets; a row whose target is ignoreIndex does not count. */
  targets: ArrayLike<number>;
  N: number;
  ignoreIndex: number;
  /** [N] out: 1/count on valid rows (1 with `gradScale`), 0 elsewhere (all 0 when no row is valid). */
  dValues: Writable;
  /**
   * [1] out, optional (the f16 engine's loss scaling, which back-propagates the sum): given,
   * dValues = 1 on valid rows and gradScale[0] = 1/count (0 when no row is valid).
   */
  gradScale?: Writable;
}

/** Σ values[i] over rows with targets[i] ≠ ignoreIndex, divided by their count (0 when there is none); writes dValues (and gradScale). */
export function meanLoss(a: MeanLossArgs): number {
  const { values, targets, N, ignoreIndex, dValues } = a;
  if (!Number.isInteger(N) || N < 0) throw new RangeError(`meanLoss: N must be an integer ≥ 0, got ${N}`);
  for (const [name, arr] of [
    ['values', values],
    ['targets', targets],
    ['dValues', dValues],
  ] as const) {
    if (arr.length < N) throw new RangeError(`meanLoss: ${name} has ${arr.length} elements; N = ${N}`);
  }
  let sum = 0;
  let count = 0;
  for (let i = 0; i < N; i++) {
    if (targets[i] === ignoreIndex) continue;
    sum += values[i]!;
    count++;
  }
  if (a.gradScale && a.gradScale.length < 1) throw new RangeError('meanLoss: gradScale has no element');
  const inv = count > 0 ? 1 / count : 0;
  if (a.gradScale) a.gradScale[0] = inv;
  const d = a.gradScale ? 1 : inv;
  for (let i = 0; i < N; i++) dValues[i] = targets[i] === ignoreIndex ? 0 : d;
  return count > 0 ? sum / count : 0;
}
