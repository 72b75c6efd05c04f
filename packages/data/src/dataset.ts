/**
 * The dataset every cutrec package passes around: dense 0-based user and item ids, the original
 * ids they came from, and one time-ordered item sequence per user.
 */

/**
 * Interactions grouped per user, with dense ids.
 *
 * - `sequences[u]` holds user u's items (dense ids in [0, numItems)) in time order: a stable sort
 *   by timestamp where the source had one, file order otherwise. Treat it as read-only (readers
 *   return views into one shared buffer).
 * - `timestamps[u]` (when the source had timestamps) is aligned with `sequences[u]`.
 * - `userIds[u]` / `itemIds[i]` are the original ids as strings; `userIndex` / `itemIndex` map an
 *   original id back to its dense id (undefined when unknown).
 * - The model's padding row is conventionally `numItems` (one past the last item).
 */
export interface Dataset {
  readonly numUsers: number;
  readonly numItems: number;
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
  readonly sequences: Int32Array[];
  readonly timestamps?: Float64Array[];
  /** Dense item id of an original item id, or undefined when the dataset has no such item. */
  itemIndex(originalId: string | number): number | undefined;
  /** Dense user id of an original user id, or undefined when the dataset has no such user. */
  userIndex(originalId: string | number): number | undefined;
}

/** The plain fields of a Dataset (what `createDataset` takes). */
export interface DatasetFields {
  numUsers: number;
  numItems: number;
  userIds: readonly string[];
  itemIds: readonly string[];
  sequences: Int32Array[];
  timestamps?: Float64Array[];
}

function lookup(ids: readonly string[]): (id: string | number) => number | undefined {
  let map: Map<string, number> | null = null;
  return (id) => {
    if (map === null) {
      map = new Map();
      for (let i = 0; i < ids.length; i++) map.set(ids[i]!, i);
    }
    return map.get(String(id));
  };
}

/** Builds a Dataset from its fields, checking shapes and id ranges; throws naming the field. */
export function createDataset(fields: DatasetFields): Dataset {
  const { numUsers, numItems, userIds, itemIds, sequences, timestamps } = fields;
  if (!Number.isInteger(numUsers) || numUsers < 0)
    throw new RangeError(`numUsers must be an integer ≥ 0, got ${numUsers}`);
  if (!Number.isInteger(numItems) || numItems < 0)
    throw new RangeError(`numItems must be an integer ≥ 0, got ${numItems}`);
  if (userIds.length !== numUsers)
    throw new RangeError(`userIds has ${userIds.length} entries, numUsers is ${numUsers}`);
  if (itemIds.length !== numItems)
    throw new RangeError(`itemIds has ${itemIds.length} entries, numItems is ${numItems}`);
  if (sequences.length !== numUsers) {
    throw new RangeError(`sequences has ${sequences.length} entries, numUsers is ${numUsers}`);
  }
  for (let u = 0; u < numUsers; u++) {
    const s = sequences[u]!;
    for (let t = 0; t < s.length; t++) {
      const v = s[t]!;
      if (v < 0 || v >= numItems)
        throw new RangeError(`sequences[${u}][${t}] = ${v} is outside [0, ${numItems})`);
    }
  }
  if (timestamps !== undefined) {
    if (timestamps.length !== numUsers) {
      throw new RangeError(`timestamps has ${timestamps.length} entries, numUsers is ${numUsers}`);
    }
    for (let u = 0; u < numUsers; u++) {
      if (timestamps[u]!.length !== sequences[u]!.length) {
        throw new RangeError(
          `timestamps[${u}] has ${timestamps[u]!.length} entries, sequences[${u}] has ${sequences[u]!.length}`,
        );
      }
    }
  }
  const ds: Dataset = {
    numUsers,
    numItems,
    userIds,
    itemIds,
    sequences,
    itemIndex: lookup(itemIds),
    userIndex: lookup(userIds),
  };
  if (timestamps !== undefined) (ds as { timestamps?: Float64Array[] }).timestamps = timestamps;
  return ds;
}

/**
 * A Dataset from dense sequences (arrays of item ids in [0, numItems)); original ids default to
 * the dense ids as strings. Handy for tests and generated data.
 */
export function datasetFromSequences(
  sequences: ArrayLike<number>[],
  options: {
    numItems?: number;
    userIds?: string[];
    itemIds?: string[];
    timestamps?: ArrayLike<number>[];
  } = {},
): Dataset {
  let maxItem = -1;
  for (const s of sequences) for (let t = 0; t < s.length; t++) maxItem = Math.max(maxItem, s[t]!);
  const numItems = options.numItems ?? options.itemIds?.length ?? maxItem + 1;
  const fields: DatasetFields = {
    numUsers: sequences.length,
    numItems,
    userIds: options.userIds ?? sequences.map((_, u) => String(u)),
    itemIds: options.itemIds ?? Array.from({ length: numItems }, (_, i) => String(i)),
    sequences: sequences.map((s) => Int32Array.from(s)),
  };
  if (options.timestamps !== undefined)
    fields.timestamps = options.timestamps.map((t) => Float64Array.from(t));
  return createDataset(fields);
}

/** Counts of a dataset: users, items, interactions, and sequence length statistics. */
export function datasetStats(ds: Dataset): {
  numUsers: number;
  numItems: number;
  numInteractions: number;
  minLength: number;
  maxLength: number;
  meanLength: number;
} {
  let n = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const s of ds.sequences) {
    n += s.length;
    min = Math.min(min, s.length);
    max = Math.max(max, s.length);
  }
  return {
    numUsers: ds.numUsers,
    numItems: ds.numItems,
    numInteractions: n,
    minLength: ds.numUsers === 0 ? 0 : min,
    maxLength: max,
    meanLength: ds.numUsers === 0 ? 0 : n / ds.numUsers,
  };
}
