/** The plain-sort oracle of top-k scoring: sort every user's full score row. */
import type { SeenItems, TopK } from './types.js';

/** Whether item c is in user u's seen list (binary search in the sorted CSR row). */
export function isSeen(seen: SeenItems, u: number, c: number): boolean {
  let lo = seen.offsets[u]!;
  let hi = seen.offsets[u + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = seen.items[mid]!;
    if (v === c) return true;
    if (v < c) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** The order top-k uses: a before b when its score is higher, or equal with a lower item id. */
export function better(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa > sb || (sa === sb && ia < ib);
}

/**
 * Top k of a host score matrix [U, C] by a full sort per user (score descending, ties to the lower
 * id), skipping seen items and items scoring −∞; −1 / −∞ fill missing slots.
 */
export function topKReference(
  scores: ArrayLike<number>,
  U: number,
  C: number,
  k: number,
  seen?: SeenItems,
): TopK {
  const items = new Int32Array(U * k).fill(-1);
  const out = new Float32Array(U * k).fill(Number.NEGATIVE_INFINITY);
  for (let u = 0; u < U; u++) {
    const ids: number[] = [];
    for (let c = 0; c < C; c++) {
      if (scores[u * C + c]! === Number.NEGATIVE_INFINITY) continue;
      if (seen && isSeen(seen, u, c)) continue;
      ids.push(c);
    }
    ids.sort((a, b) => {
      const sa = scores[u * C + a]!;
      const sb = scores[u * C + b]!;
      return sa === sb ? a - b : sb - sa;
    });
    for (let j = 0; j < Math.min(k, ids.length); j++) {
      items[u * k + j] = ids[j]!;
      out[u * k + j] = scores[u * C + ids[j]!]!;
    }
  }
  return { items, scores: out, users: U, k };
}
