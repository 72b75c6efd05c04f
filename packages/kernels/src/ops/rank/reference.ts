/**
 * The rank of each user's target among all items, float64: the oracle of rank.cu, with the
 * semantics of @cutrec/models' rankOfTarget (eval/rank.ts) and its SeenItems CSR (eval/seen.ts).
 */

/** A caller-provided numeric array the reference writes (Int32Array, Float64Array, number[]). */
type Writable = { [index: number]: number; readonly length: number };

/** Per-user seen items as CSR: user u's items are items[offsets[u] … offsets[u+1]), sorted ascending, unique. */
export interface RankSeen {
  /** [U + 1] non-decreasing, offsets[0] = 0. */
  offsets: ArrayLike<number>;
  /** Item ids in [0, C), sorted ascending and unique within each user. */
  items: ArrayLike<number>;
}

/** Arguments of {@link rankOfTargets}. */
export interface RankOfTargetsArgs {
  /** User u's hidden vector is hidden[offset + u·rowStride + d], d < D. */
  hidden: ArrayLike<number>;
  /** Elements between consecutive users' vectors (D for a [U, D] matrix, L·D for the last position of [U, L, D]). */
  rowStride: number;
  /** Element offset of user 0's vector ((L − 1)·D for the last position of [U, L, D]). */
  offset: number;
  /** [C, D] item embeddings. */
  items: ArrayLike<number>;
  /** [U] target item of each user, in [0, C). */
  targets: ArrayLike<number>;
  U: number;
  C: number;
  D: number;
  /** Items that do not compete with the target (the target itself always counts as a candidate). */
  seen?: RankSeen;
  /** [U] out: 0-based ranks. */
  ranks: Writable;
}

const isCount = (x: number) => Number.isInteger(x) && x >= 0;

/** Checks the shapes, targets and seen lists of {@link rankOfTargets}; throws naming the field and its limit. */
export function checkRankArgs(a: Omit<RankOfTargetsArgs, 'ranks'> & { ranks?: Writable }): void {
  const { U, C, D, rowStride, offset } = a;
  if (!isCount(U) || !Number.isInteger(C) || C < 1 || !Number.isInteger(D) || D < 1) {
    throw new RangeError(
      `rankOfTargets: U, C, D must be integers with U ≥ 0, C ≥ 1, D ≥ 1 (got ${U}, ${C}, ${D})`,
    );
  }
  if (!isCount(rowStride) || !isCount(offset)) {
    throw new RangeError(
      `rankOfTargets: rowStride, offset must be integers ≥ 0 (got ${rowStride}, ${offset})`,
    );
  }
  const hiddenNeed = U === 0 ? 0 : offset + (U - 1) * rowStride + D;
  if (a.hidden.length < hiddenNeed) {
    throw new RangeError(`rankOfTargets: hidden has ${a.hidden.length} elements; it needs ${hiddenNeed}`);
  }
  if (a.items.length < C * D) {
    throw new RangeError(`rankOfTargets: items has ${a.items.length} elements; it needs C·D = ${C * D}`);
  }
  if (a.targets.length < U)
    throw new RangeError(`rankOfTargets: targets has ${a.targets.length} entries; U = ${U}`);
  if (a.ranks && a.ranks.length < U)
    throw new RangeError(`rankOfTargets: ranks has ${a.ranks.length} entries; U = ${U}`);
  for (let u = 0; u < U; u++) {
    const y = a.targets[u]!;
    if (!Number.isInteger(y) || y < 0 || y >= C) {
      throw new RangeError(`rankOfTargets: targets[${u}] = ${y} is outside [0, ${C})`);
    }
  }
  if (a.seen) {
    const { offsets, items } = a.seen;
    if (offsets.length < U + 1) {
      throw new RangeError(
        `rankOfTargets: seen.offsets must have U + 1 = ${U + 1} entries, got ${offsets.length}`,
      );
    }
    if (offsets[0] !== 0 || !(offsets[U]! <= items.length)) {
      throw new RangeError(
        `rankOfTargets: seen.offsets must start at 0 and end within seen.items (${items.length} entries)`,
      );
    }
    for (let u = 0; u < U; u++) {
      const lo = offsets[u]!;
      const hi = offsets[u + 1]!;
      if (!Number.isInteger(hi) || hi < lo)
        throw new RangeError(`rankOfTargets: seen.offsets must be non-decreasing (user ${u})`);
      for (let i = lo; i < hi; i++) {
        const v = items[i]!;
        if (!Number.isInteger(v) || v < 0 || v >= C) {
          throw new RangeError(`rankOfTargets: seen.items[${i}] = ${v} is outside [0, ${C})`);
        }
        if (i > lo && items[i - 1]! >= v) {
          throw new RangeError(`rankOfTargets: seen.items of user ${u} must be sorted and unique`);
        }
      }
    }
  }
}

/**
 * ranks[u] = #{ c ≠ y_u : c not in seen_u, s_c > s_y or (s_c = s_y and c < y_u) } with
 * s_c = h_u·w_c in float64: the 0-based rank of targets[u] in the top-k order (score descending,
 * then id ascending). The target is never excluded, even when its user's seen list holds it.
 */
export function rankOfTargets(a: RankOfTargetsArgs): void {
  checkRankArgs(a);
  const { hidden, rowStride, offset, items, targets, U, C, D, seen, ranks } = a;
  const h = new Float64Array(D);
  const excluded = new Uint8Array(C);
  for (let u = 0; u < U; u++) {
    const base = offset + u * rowStride;
    for (let d = 0; d < D; d++) h[d] = hidden[base + d]!;
    const y = targets[u]!;
    const score = (c: number) => {
      let s = 0;
      const w = c * D;
      for (let d = 0; d < D; d++) s += h[d]! * items[w + d]!;
      return s;
    };
    const sy = score(y);
    const lo = seen ? seen.offsets[u]! : 0;
    const hi = seen ? seen.offsets[u + 1]! : 0;
    for (let i = lo; i < hi; i++) excluded[seen!.items[i]!] = 1;
    let r = 0;
    for (let c = 0; c < C; c++) {
      if (c === y || excluded[c]) continue;
      const s = score(c);
      if (s > sy || (s === sy && c < y)) r++;
    }
    for (let i = lo; i < hi; i++) excluded[seen!.items[i]!] = 0;
    ranks[u] = r;
  }
}
