/** Seen-item lists for exclusion at scoring time, as CSR: user u's items are items[offsets[u] … offsets[u+1]), sorted ascending, unique. */
import { isSeen, type SeenItems } from '@cutrec/kernels';

/** Per-user seen items in compressed sparse rows, and the lookup (both from @cutrec/kernels' top-k op). */
export { isSeen, type SeenItems };

/** CSR seen lists from per-user histories (any order, duplicates allowed); ids must lie in [0, numItems). */
export function seenFromHistories(histories: readonly ArrayLike<number>[], numItems: number): SeenItems {
  const offsets = new Int32Array(histories.length + 1);
  const parts: Int32Array[] = [];
  for (let u = 0; u < histories.length; u++) {
    const h = histories[u]!;
    const sorted = Int32Array.from(h).sort();
    let n = 0;
    for (let i = 0; i < sorted.length; i++) {
      const v = sorted[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= numItems) {
        throw new RangeError(`histories[${u}][${i}] = ${v} is outside [0, ${numItems})`);
      }
      if (n === 0 || sorted[n - 1] !== v) sorted[n++] = v;
    }
    parts.push(sorted.subarray(0, n));
    offsets[u + 1] = offsets[u]! + n;
  }
  const items = new Int32Array(offsets[histories.length]!);
  for (let u = 0; u < parts.length; u++) items.set(parts[u]!, offsets[u]!);
  return { offsets, items };
}

/** Checks a CSR seen list against U users and C items; throws naming the field and its limit. */
export function checkSeen(seen: SeenItems, U: number, C: number): void {
  const { offsets, items } = seen;
  if (offsets.length !== U + 1) {
    throw new RangeError(`seen.offsets must have U + 1 = ${U + 1} entries, got ${offsets.length}`);
  }
  if (offsets[0] !== 0 || offsets[U] !== items.length) {
    throw new RangeError(`seen.offsets must start at 0 and end at seen.items.length (${items.length})`);
  }
  for (let u = 0; u < U; u++) {
    const a = offsets[u]!;
    const b = offsets[u + 1]!;
    if (b < a) throw new RangeError(`seen.offsets must be non-decreasing (user ${u})`);
    for (let i = a; i < b; i++) {
      const v = items[i]!;
      if (v < 0 || v >= C) throw new RangeError(`seen.items[${i}] = ${v} is outside [0, ${C})`);
      if (i > a && items[i - 1]! >= v)
        throw new RangeError(`seen.items of user ${u} must be sorted and unique`);
    }
  }
}

/** [u, c − c0] pairs (flattened) of seen items inside the chunk [c0, c0 + n), for a scatter mask. */
export function seenInChunk(seen: SeenItems, U: number, c0: number, n: number): Int32Array {
  const out: number[] = [];
  for (let u = 0; u < U; u++) {
    let lo = seen.offsets[u]!;
    let hi = seen.offsets[u + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seen.items[mid]! < c0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < seen.offsets[u + 1]! && seen.items[i]! < c0 + n; i++)
      out.push(u, seen.items[i]! - c0);
  }
  return Int32Array.from(out);
}
