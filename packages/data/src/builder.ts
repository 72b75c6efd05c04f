/**
 * Accumulates raw (user, item, timestamp) interactions with ids of any kind and turns them into a
 * Dataset with dense ids and per-user time-ordered sequences.
 */
import { createDataset, type Dataset } from './dataset.js';

/** How dense ids are assigned: by first appearance in the file, or by sorting the original ids. */
export type IdOrder = 'appearance' | 'sorted';

/** Assigns dense ids to strings in first-appearance order. */
class IdMap {
  readonly ids: string[] = [];
  private readonly map = new Map<string, number>();
  get(id: string): number {
    let v = this.map.get(id);
    if (v === undefined) {
      v = this.ids.length;
      this.map.set(id, v);
      this.ids.push(id);
    }
    return v;
  }
}

class GrowInt32 {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

class GrowFloat64 {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

const CANONICAL_INT = /^-?(0|[1-9]\d{0,14})$/;

/**
 * A permutation `rank[old] = new` that orders ids: numerically when every id is a canonical integer
 * (so "2" < "10"), else by code unit order.
 */
function sortedRanks(ids: readonly string[]): Int32Array {
  const order = ids.map((_, i) => i);
  if (ids.every((s) => CANONICAL_INT.test(s))) {
    const nums = ids.map(Number);
    order.sort((a, b) => nums[a]! - nums[b]!);
  } else {
    order.sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
  }
  const rank = new Int32Array(ids.length);
  for (let r = 0; r < order.length; r++) rank[order[r]!] = r;
  return rank;
}

/** Collects interactions one at a time; `build()` returns the Dataset. */
export class InteractionLog {
  private readonly users = new IdMap();
  private readonly items = new IdMap();
  private readonly u = new GrowInt32();
  private readonly i = new GrowInt32();
  private readonly t = new GrowFloat64();
  private timed: boolean | null = null;

  /** Number of interactions added so far. */
  get size(): number {
    return this.u.length;
  }

  /**
   * Adds one interaction. Either every interaction has a timestamp or none has (`where` names the
   * source position for the error otherwise).
   */
  add(user: string, item: string, timestamp?: number, where = 'input'): void {
    const hasT = timestamp !== undefined;
    if (this.timed === null) this.timed = hasT;
    else if (this.timed !== hasT) {
      throw new Error(
        `${where}: expected ${this.timed ? 'a timestamp' : 'no timestamp'}, like the rows before`,
      );
    }
    this.u.push(this.users.get(user));
    this.i.push(this.items.get(item));
    if (hasT) this.t.push(timestamp);
  }

  /**
   * The Dataset: dense ids by `idOrder` (default 'sorted': numeric order when all ids are
   * integers, so Beauty.txt's item k becomes k-1), sequences stably sorted by timestamp when the
   * interactions had timestamps, in insertion order otherwise.
   */
  build(options: { idOrder?: IdOrder; source?: string } = {}): Dataset {
    const n = this.u.length;
    if (n === 0)
      throw new Error(
        `${options.source ?? 'input'}: no interactions (empty file, or every row filtered out)`,
      );
    const idOrder = options.idOrder ?? 'sorted';
    const userRank = idOrder === 'sorted' ? sortedRanks(this.users.ids) : null;
    const itemRank = idOrder === 'sorted' ? sortedRanks(this.items.ids) : null;
    const numUsers = this.users.ids.length;
    const numItems = this.items.ids.length;
    const userIds = new Array<string>(numUsers);
    const itemIds = new Array<string>(numItems);
    for (let k = 0; k < numUsers; k++) userIds[userRank ? userRank[k]! : k] = this.users.ids[k]!;
    for (let k = 0; k < numItems; k++) itemIds[itemRank ? itemRank[k]! : k] = this.items.ids[k]!;

    // Counting sort by user (stable, so file order survives within a user).
    const offsets = new Int32Array(numUsers + 1);
    const uCol = this.u.data;
    const iCol = this.i.data;
    for (let r = 0; r < n; r++) {
      const du = userRank ? userRank[uCol[r]!]! : uCol[r]!;
      offsets[du + 1]!++;
    }
    for (let k = 0; k < numUsers; k++) offsets[k + 1]! += offsets[k]!;
    const cursor = offsets.slice(0, numUsers);
    const flatItems = new Int32Array(n);
    const timed = this.timed === true;
    const flatTimes = timed ? new Float64Array(n) : null;
    for (let r = 0; r < n; r++) {
      const du = userRank ? userRank[uCol[r]!]! : uCol[r]!;
      const pos = cursor[du]!++;
      flatItems[pos] = itemRank ? itemRank[iCol[r]!]! : iCol[r]!;
      if (flatTimes) flatTimes[pos] = this.t.data[r]!;
    }
    const sequences: Int32Array[] = new Array(numUsers);
    const timestamps: Float64Array[] | undefined = flatTimes ? new Array(numUsers) : undefined;
    for (let k = 0; k < numUsers; k++) {
      const a = offsets[k]!;
      const b = offsets[k + 1]!;
      if (flatTimes) sortSegmentByTime(flatItems, flatTimes, a, b);
      sequences[k] = flatItems.subarray(a, b);
      if (timestamps && flatTimes) timestamps[k] = flatTimes.subarray(a, b);
    }
    const fields = { numUsers, numItems, userIds, itemIds, sequences };
    return createDataset(timestamps ? { ...fields, timestamps } : fields);
  }
}

/** Stable sort of items[a..b) by times[a..b) (ascending), in place; a no-op when already sorted. */
function sortSegmentByTime(items: Int32Array, times: Float64Array, a: number, b: number): void {
  let sorted = true;
  for (let k = a + 1; k < b; k++) {
    if (times[k]! < times[k - 1]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return;
  const idx = Array.from({ length: b - a }, (_, k) => a + k);
  idx.sort((x, y) => times[x]! - times[y]! || x - y);
  const it = idx.map((k) => items[k]!);
  const ts = idx.map((k) => times[k]!);
  for (let k = 0; k < idx.length; k++) {
    items[a + k] = it[k]!;
    times[a + k] = ts[k]!;
  }
}
