/**
 * Full-catalog ranking helpers on one user's score row: the rank of a target, the top-k list, and
 * removal of seen items. Order is score descending, ties broken by the lower item id, so ranks
 * and top-k lists always agree.
 */

function excludedSet(exclude: ArrayLike<number> | undefined, keep: number): Set<number> | null {
  if (exclude === undefined || exclude.length === 0) return null;
  const set = new Set<number>();
  for (let k = 0; k < exclude.length; k++) if (exclude[k] !== keep) set.add(exclude[k]!);
  return set;
}

/**
 * The 0-based rank of `target` among all items by `scores` (score descending, ties by lower id),
 * not counting items in `exclude` (other than the target itself, which is never removed).
 */
export function rankOfTarget(scores: ArrayLike<number>, target: number, exclude?: ArrayLike<number>): number {
  const C = scores.length;
  if (!Number.isInteger(target) || target < 0 || target >= C)
    throw new RangeError(`target must be an item id in [0, ${C}), got ${target}`);
  const st = scores[target]!;
  if (Number.isNaN(st)) throw new RangeError(`scores[${target}] (the target's score) is NaN`);
  let rank = 0;
  for (let c = 0; c < C; c++) {
    const s = scores[c]!;
    if (s > st || (s === st && c < target)) rank++;
  }
  const ex = excludedSet(exclude, target);
  if (ex) {
    for (const c of ex) {
      if (c < 0 || c >= C) continue;
      const s = scores[c]!;
      if (s > st || (s === st && c < target)) rank--;
    }
  }
  return rank;
}

/**
 * The k highest-scoring item ids (score descending, ties by lower id), skipping items in `exclude`
 * except `keep` (pass the target so it is never removed). NaN scores rank last.
 */
export function topK(
  scores: ArrayLike<number>,
  k: number,
  exclude?: ArrayLike<number>,
  keep = -1,
): Int32Array {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be an integer ≥ 0, got ${k}`);
  const C = scores.length;
  const ex = excludedSet(exclude, keep);
  const kk = Math.min(k, C - (ex ? [...ex].filter((c) => c >= 0 && c < C).length : 0));
  if (kk <= 0) return new Int32Array(0);
  // Min-heap of the best kk (the root is the worst kept item).
  const heap = new Int32Array(kk);
  let size = 0;
  const val = (c: number): number => {
    const s = scores[c]!;
    return Number.isNaN(s) ? Number.NEGATIVE_INFINITY : s;
  };
  // a is worse than b
  const worse = (a: number, b: number): boolean => {
    const va = val(a);
    const vb = val(b);
    return va < vb || (va === vb && a > b);
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l]!, heap[m]!)) m = l;
      if (r < size && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (let c = 0; c < C; c++) {
    if (ex?.has(c)) continue;
    if (size < kk) {
      heap[size] = c;
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[p]!)) break;
        const t = heap[i]!;
        heap[i] = heap[p]!;
        heap[p] = t;
        i = p;
      }
    } else if (worse(heap[0]!, c)) {
      heap[0] = c;
      siftDown(0);
    }
  }
  return Int32Array.from(heap).sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}

/** Sets `scores[i] = -Infinity` in place for every item i in `history` except `keep` (e.g. the target). */
export function maskSeen(
  scores: { [i: number]: number; length: number },
  history: ArrayLike<number>,
  keep = -1,
): void {
  for (let k = 0; k < history.length; k++) {
    const c = history[k]!;
    if (c !== keep && c >= 0 && c < scores.length) scores[c] = Number.NEGATIVE_INFINITY;
  }
}
