/**
 * Parquet interaction tables through hyparquet (all common codecs through hyparquet-compressors),
 * read one row group at a time so memory holds one group's selected columns, not the file. The
 * decoding runs in a worker thread under a time limit (`parquet-decode.ts`), since hyparquet can
 * loop forever on a corrupted file.
 */
import { stat } from 'node:fs/promises';
import { InteractionLog } from '../builder.js';
import type { Dataset } from '../dataset.js';
import { type ColumnSpec, resolveColumns } from './columns.js';
import { checkThreshold } from './delimited.js';
import { decodeTimeLimit, ParquetDecoding } from './parquet-decode.js';
import { type CommonReadOptions, parseTimestamp } from './source.js';

/** Options of `readParquet`. */
export interface ParquetOptions extends CommonReadOptions {
  /** Which columns hold user, item, timestamp, rating (schema names or 0-based indices); see README. */
  columns?: ColumnSpec;
  /** Keep only rows whose rating is ≥ this (needs a rating column). */
  ratingThreshold?: number;
  /**
   * Seconds hyparquet may spend decoding the file (in its worker thread) before the read fails as
   * probably corrupted; default 10 s + 10 s per MiB of the file (or `CUTREC_PARQUET_TIME_LIMIT`).
   */
  decodeTimeLimit?: number;
}

function idOf(v: unknown, what: string, where: string): string {
  if (typeof v === 'string') {
    if (v.trim() === '') throw new Error(`${where}: expected a ${what} id, found an empty string`);
    return v.trim();
  }
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  throw new Error(
    `${where}: expected a ${what} id (string or integer), found ${v === null || v === undefined ? 'null' : typeof v}`,
  );
}

function numberOf(v: unknown, what: string, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date && Number.isFinite(v.getTime())) return v.getTime() / 1000;
  if (typeof v === 'string') {
    if (what === 'timestamp') return parseTimestamp(v, where);
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw new Error(
    `${where}: expected a numeric ${what}, got ${v === null || v === undefined ? 'null' : JSON.stringify(String(v))}`,
  );
}

/**
 * Reads a Parquet file into a Dataset. Timestamps may be numbers, INT64, TIMESTAMP/DATE logical
 * types (→ Unix seconds) or ISO strings. Errors name the file and the 1-based row; a file whose
 * decoding does not finish within `decodeTimeLimit` fails with one line that says so.
 */
export async function readParquet(path: string, options: ParquetOptions = {}): Promise<Dataset> {
  const { size } = await stat(path);
  const limit = decodeTimeLimit(size, options.decodeTimeLimit);
  const decoding = await ParquetDecoding.open(path, size, limit);
  try {
    const schema = await decoding.schema();
    if (!schema.ok) throw new Error(`${path}: not a readable Parquet file (${schema.message})`);
    const names = schema.names;
    const cols = resolveColumns(options.columns ?? {}, names, `${path}: schema`);
    checkThreshold(options.ratingThreshold, cols, path);
    const want = {
      user: names[cols.user]!,
      item: names[cols.item]!,
      timestamp: cols.timestamp >= 0 ? names[cols.timestamp]! : null,
      rating: cols.rating >= 0 ? names[cols.rating]! : null,
    };
    const columns = [
      want.user,
      want.item,
      ...(want.timestamp ? [want.timestamp] : []),
      ...(want.rating ? [want.rating] : []),
    ];
    const log = new InteractionLog();
    let rowStart = 0;
    for (const numRows of schema.groups) {
      const rowEnd = rowStart + numRows;
      const group = await decoding.group(rowStart, rowEnd, columns);
      if (!group.ok) {
        throw new Error(
          `${path}:row ${rowStart + 1}: the row group of rows ${rowStart + 1}–${rowEnd} cannot be decoded (${group.message})`,
        );
      }
      // The decoded columns, in the order of `columns`.
      const [users, items] = group.values as [ArrayLike<unknown>, ArrayLike<unknown>];
      const times = want.timestamp ? group.values[2]! : null;
      const ratings = want.rating ? group.values[want.timestamp ? 3 : 2]! : null;
      for (let r = 0; r < group.length; r++) {
        const where = `${path}:row ${rowStart + r + 1}`;
        if (ratings) {
          const rating = numberOf(ratings[r], 'rating', where);
          if (options.ratingThreshold !== undefined && rating < options.ratingThreshold) continue;
        }
        const ts = times ? numberOf(times[r], 'timestamp', where) : undefined;
        log.add(idOf(users[r], 'user', where), idOf(items[r], 'item', where), ts, where);
      }
      rowStart = rowEnd;
    }
    return log.build({ idOrder: options.idOrder ?? 'sorted', source: path });
  } finally {
    decoding.close();
  }
}
