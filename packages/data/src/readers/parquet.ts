/**
 * Parquet interaction tables through hyparquet (all common codecs through hyparquet-compressors),
 * read one row group at a time so memory holds one group's selected columns, not the file.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { InteractionLog } from '../builder.js';
import type { Dataset } from '../dataset.js';
import { type ColumnSpec, resolveColumns } from './columns.js';
import { checkThreshold } from './delimited.js';
import { type CommonReadOptions, parseTimestamp } from './source.js';

/** Options of `readParquet`. */
export interface ParquetOptions extends CommonReadOptions {
  /** Which columns hold user, item, timestamp, rating (schema names or 0-based indices); see README. */
  columns?: ColumnSpec;
  /** Keep only rows whose rating is ≥ this (needs a rating column). */
  ratingThreshold?: number;
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
 * types (→ Unix seconds) or ISO strings. Errors name the file and the 1-based row.
 */
export async function readParquet(path: string, options: ParquetOptions = {}): Promise<Dataset> {
  const file = await asyncBufferFromFile(path);
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new Error(`${path}: not a readable Parquet file (${(e as Error).message})`);
  }
  let names: string[];
  try {
    names = parquetSchema(metadata).children.map((c, k) => {
      const n = c.element.name;
      if (typeof n !== 'string') throw new Error(`schema column ${k} has no name`);
      return n;
    });
  } catch (e) {
    throw new Error(`${path}: not a readable Parquet file (${(e as Error).message})`);
  }
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
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, columns, rowStart, rowEnd, compressors });
    } catch (e) {
      throw new Error(
        `${path}:row ${rowStart + 1}: the row group of rows ${rowStart + 1}–${rowEnd} cannot be decoded (${(e as Error).message})`,
      );
    }
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const where = `${path}:row ${rowStart + r + 1}`;
      if (want.rating) {
        const rating = numberOf(row[want.rating], 'rating', where);
        if (options.ratingThreshold !== undefined && rating < options.ratingThreshold) continue;
      }
      const ts = want.timestamp ? numberOf(row[want.timestamp], 'timestamp', where) : undefined;
      log.add(idOf(row[want.user], 'user', where), idOf(row[want.item], 'item', where), ts, where);
    }
    rowStart = rowEnd;
  }
  return log.build({ idOrder: options.idOrder ?? 'sorted', source: path });
}
