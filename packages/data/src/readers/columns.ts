/**
 * Column selection shared by the CSV/TSV and Parquet readers: by name (matched against a header or
 * schema, case-insensitively) or by 0-based index, with default names for each role.
 */

/** A column by header name or by 0-based index. */
export type ColumnRef = string | number;

/** Which columns hold the user, item, and optionally timestamp and rating. */
export interface ColumnSpec {
  user?: ColumnRef;
  item?: ColumnRef;
  /** null: ignore any timestamp column (file order is kept). */
  timestamp?: ColumnRef | null;
  /** null: ignore any rating column. */
  rating?: ColumnRef | null;
}

/** Names tried, in order, for a role that the spec leaves out (when there is a header). */
export const DEFAULT_COLUMN_NAMES = {
  user: ['user', 'user_id', 'userid', 'uid', 'user id', 'customer_id', 'visitorid', 'session_id'],
  item: [
    'item',
    'item_id',
    'itemid',
    'iid',
    'item id',
    'movie_id',
    'movieid',
    'product_id',
    'productid',
    'asin',
  ],
  timestamp: ['timestamp', 'time', 'ts', 'datetime', 'date', 'unix_time', 'unixreviewtime'],
  rating: ['rating', 'ratings', 'score', 'stars', 'overall'],
} as const;

/** Resolved 0-based column indices (-1: absent). */
export interface ResolvedColumns {
  user: number;
  item: number;
  timestamp: number;
  rating: number;
}

type Role = keyof ResolvedColumns;

/** True when every column the spec gives is an index (then a CSV has no header by default). */
export function specUsesOnlyIndices(spec: ColumnSpec): boolean {
  const refs = [spec.user, spec.item, spec.timestamp, spec.rating].filter(
    (r) => r !== undefined && r !== null,
  );
  return refs.length > 0 && refs.every((r) => typeof r === 'number');
}

/**
 * Resolves a ColumnSpec against `names` (the header; null when there is none) and throws
 * `${where}: expected ...` when a named or required column is missing.
 */
export function resolveColumns(
  spec: ColumnSpec,
  names: readonly string[] | null,
  where: string,
): ResolvedColumns {
  const lower = names?.map((n) => n.trim().toLowerCase()) ?? null;
  const pick = (role: Role, required: boolean): number => {
    const ref = spec[role];
    if (ref === null) return -1;
    if (typeof ref === 'number') {
      if (!Number.isInteger(ref) || ref < 0)
        throw new RangeError(`columns.${role} must be a name or an index ≥ 0, got ${ref}`);
      if (names !== null && ref >= names.length) {
        throw new Error(
          `${where}: expected a column ${ref} for the ${role} (0-based), found ${names.length} columns`,
        );
      }
      return ref;
    }
    if (typeof ref === 'string') {
      if (lower === null)
        throw new Error(`columns.${role} is the name ${JSON.stringify(ref)} but the input has no header`);
      const k = lower.indexOf(ref.trim().toLowerCase());
      if (k < 0) {
        throw new Error(
          `${where}: expected a column named ${JSON.stringify(ref)} (the ${role}); found ${names!.map((n) => JSON.stringify(n)).join(', ')}`,
        );
      }
      return k;
    }
    // Not given: try the default names, else the position for user/item without a header.
    if (lower !== null) {
      for (const cand of DEFAULT_COLUMN_NAMES[role]) {
        const k = lower.indexOf(cand);
        if (k >= 0) return k;
      }
      if (required) {
        throw new Error(
          `${where}: expected the ${role} column (named one of ${DEFAULT_COLUMN_NAMES[role].join(', ')}, or set columns.${role}); found ${names!.map((n) => JSON.stringify(n)).join(', ')}`,
        );
      }
      return -1;
    }
    if (role === 'user') return 0;
    if (role === 'item') return 1;
    return -1;
  };
  const cols = {
    user: pick('user', true),
    item: pick('item', true),
    timestamp: pick('timestamp', false),
    rating: pick('rating', false),
  };
  if (cols.user === cols.item)
    throw new Error(`${where}: the user and item columns are the same column (${cols.user})`);
  return cols;
}

/** Number of fields a row needs to hold every resolved column. */
export function fieldsNeeded(cols: ResolvedColumns): number {
  return Math.max(cols.user, cols.item, cols.timestamp, cols.rating) + 1;
}
