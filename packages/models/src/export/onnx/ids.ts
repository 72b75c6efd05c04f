/** The ids file written beside an exported model: original item ids by index, the sequence length and the padding index. */

/** `model.ids.json`: `items[i]` is the original id of item index i; `padding` (= C) fills short histories. */
export interface OnnxIdsFile {
  items: string[];
  maxLen: number;
  padding: number;
}

/** The ids file of a model over `itemIds` (index order) reading `maxLen` positions; throws on duplicate ids. */
export function onnxIdsFile(itemIds: readonly string[], maxLen: number): OnnxIdsFile {
  const seen = new Map<string, number>();
  itemIds.forEach((id, i) => {
    const j = seen.get(id);
    if (j !== undefined) throw new RangeError(`itemIds[${i}] = '${id}' repeats itemIds[${j}]`);
    seen.set(id, i);
  });
  if (!Number.isInteger(maxLen) || maxLen < 1)
    throw new RangeError(`maxLen must be an integer ≥ 1, got ${maxLen}`);
  return { items: [...itemIds], maxLen, padding: itemIds.length };
}

/**
 * The `history` row [maxLen] of a user's items (original ids, oldest first) for the exported model:
 * the last maxLen known items, left-padded with `padding`; unknown ids are returned in `unknown`.
 */
export function historyRow(
  ids: OnnxIdsFile,
  items: readonly string[],
): { row: BigInt64Array; unknown: string[] } {
  const index = new Map(ids.items.map((id, i) => [id, i]));
  const known: number[] = [];
  const unknown: string[] = [];
  for (const id of items) {
    const i = index.get(id);
    if (i === undefined) unknown.push(id);
    else known.push(i);
  }
  const row = new BigInt64Array(ids.maxLen).fill(BigInt(ids.padding));
  const tail = known.slice(Math.max(0, known.length - ids.maxLen));
  tail.forEach((v, j) => {
    row[ids.maxLen - tail.length + j] = BigInt(v);
  });
  return { row, unknown };
}
