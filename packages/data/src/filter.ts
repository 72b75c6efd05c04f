/**
 * Minimum-count filters: drop users with fewer than `minUserCount` interactions and items with fewer
 * than `minItemCount`, once or repeated until nothing changes (the k-core).
 */
import { createDataset, type Dataset, type DatasetFields } from './dataset.js';

/** Options of `filterMinCount`. */
export interface MinCountOptions {
  /** Keep users with at least this many interactions (default 0: all). */
  minUserCount?: number;
  /** Keep items with at least this many interactions (default 0: all). */
  minItemCount?: number;
  /** Repeat both filters until neither removes anything (k-core; default true). */
  iterate?: boolean;
}

function checkMin(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be an integer ≥ 0, got ${v}`);
}

/**
 * A new Dataset without rare users and items (interaction counts, repeats included). Surviving
 * ids keep their relative order and are renumbered densely; original ids follow them. With
 * `iterate: false` the user filter runs once, then the item filter once (users may then fall below
 * the minimum); users left with no items are always dropped.
 */
export function filterMinCount(ds: Dataset, options: MinCountOptions): Dataset {
  const minUser = options.minUserCount ?? 0;
  const minItem = options.minItemCount ?? 0;
  checkMin('minUserCount', minUser);
  checkMin('minItemCount', minItem);
  const iterate = options.iterate ?? true;
  const itemAlive = new Uint8Array(ds.numItems).fill(1);
  const userAlive = new Uint8Array(ds.numUsers).fill(1);
  const userLen = new Int32Array(ds.numUsers);
  for (let u = 0; u < ds.numUsers; u++) userLen[u] = ds.sequences[u]!.length;
  for (;;) {
    let changed = false;
    // Users: count their surviving items.
    for (let u = 0; u < ds.numUsers; u++) {
      if (!userAlive[u]) continue;
      const s = ds.sequences[u]!;
      let n = 0;
      for (let t = 0; t < s.length; t++) n += itemAlive[s[t]!]!;
      userLen[u] = n;
      if (n < minUser || n === 0) {
        userAlive[u] = 0;
        changed = true;
      }
    }
    // Items: count occurrences among surviving users.
    const itemCount = new Int32Array(ds.numItems);
    for (let u = 0; u < ds.numUsers; u++) {
      if (!userAlive[u]) continue;
      const s = ds.sequences[u]!;
      for (let t = 0; t < s.length; t++) itemCount[s[t]!]!++;
    }
    for (let i = 0; i < ds.numItems; i++) {
      if (itemAlive[i] && (itemCount[i]! < minItem || itemCount[i] === 0)) {
        itemAlive[i] = 0;
        changed = true;
      }
    }
    if (!changed || !iterate) break;
  }
  // A last pass so that users reflect the final item set (and drop users left empty).
  const newItem = new Int32Array(ds.numItems).fill(-1);
  const itemIds: string[] = [];
  for (let i = 0; i < ds.numItems; i++) {
    if (itemAlive[i]) {
      newItem[i] = itemIds.length;
      itemIds.push(ds.itemIds[i]!);
    }
  }
  const userIds: string[] = [];
  const sequences: Int32Array[] = [];
  const timestamps: Float64Array[] | undefined = ds.timestamps ? [] : undefined;
  for (let u = 0; u < ds.numUsers; u++) {
    if (!userAlive[u]) continue;
    const s = ds.sequences[u]!;
    const keep: number[] = [];
    for (let t = 0; t < s.length; t++) if (itemAlive[s[t]!]) keep.push(t);
    if (keep.length === 0) continue;
    userIds.push(ds.userIds[u]!);
    sequences.push(Int32Array.from(keep, (t) => newItem[s[t]!]!));
    if (timestamps) timestamps.push(Float64Array.from(keep, (t) => ds.timestamps![u]![t]!));
  }
  const fields: DatasetFields = {
    numUsers: userIds.length,
    numItems: itemIds.length,
    userIds,
    itemIds,
    sequences,
  };
  if (timestamps) fields.timestamps = timestamps;
  return createDataset(fields);
}
