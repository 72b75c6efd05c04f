/**
 * CSV / TSV (any single-character or string delimiter) with configurable columns, streamed line by
 * line. Fields may be double-quoted ("" is a quote inside); a quoted field cannot span lines.
 */
import { InteractionLog } from '../builder.js';
import type { Dataset } from '../dataset.js';
import {
  type ColumnSpec,
  fieldsNeeded,
  type ResolvedColumns,
  resolveColumns,
  specUsesOnlyIndices,
} from './columns.js';
import { type CommonReadOptions, openSource, parseNumber, parseTimestamp, type Source } from './source.js';

/** Options of `readDelimited`. */
export interface DelimitedOptions extends CommonReadOptions {
  /** 'auto' (default): the most frequent of `,` `\t` `;` `|` on the first line. */
  delimiter?: 'auto' | string;
  /** Whether the first line names the columns; default true unless every given column is an index. */
  header?: boolean;
  /** Which columns hold user, item, timestamp, rating (names or 0-based indices); see README. */
  columns?: ColumnSpec;
  /** Keep only rows whose rating is ≥ this (needs a rating column). */
  ratingThreshold?: number;
}

/** Splits one line into fields on `delim`, honouring double quotes. */
export function splitDelimited(line: string, delim: string): string[] {
  if (!line.includes('"')) return line.split(delim);
  const out: string[] = [];
  let field = '';
  let k = 0;
  let quoted = false;
  while (k < line.length) {
    const ch = line[k]!;
    if (quoted) {
      if (ch === '"') {
        if (line[k + 1] === '"') {
          field += '"';
          k += 2;
          continue;
        }
        quoted = false;
        k++;
        continue;
      }
      field += ch;
      k++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      k++;
      continue;
    }
    if (line.startsWith(delim, k)) {
      out.push(field);
      field = '';
      k += delim.length;
      continue;
    }
    field += ch;
    k++;
  }
  if (quoted) throw new Error('unterminated quoted field');
  out.push(field);
  return out;
}

/** The delimiter of a line: the most frequent of `,` `\t` `;` `|` (comma when none occurs). */
export function detectDelimiter(line: string): string {
  let best = ',';
  let bestCount = 0;
  for (const d of [',', '\t', ';', '|']) {
    const c = line.split(d).length - 1;
    if (c > bestCount) {
      best = d;
      bestCount = c;
    }
  }
  return best;
}

/** Row filter and conversion shared by the delimited and MovieLens readers. */
export function addRow(
  log: InteractionLog,
  fields: readonly string[],
  cols: ResolvedColumns,
  ratingThreshold: number | undefined,
  where: string,
): void {
  const need = fieldsNeeded(cols);
  if (fields.length < need)
    throw new Error(`${where}: expected at least ${need} fields, found ${fields.length}`);
  const user = fields[cols.user]!.trim();
  const item = fields[cols.item]!.trim();
  if (user === '') throw new Error(`${where}: expected a user id, found an empty field`);
  if (item === '') throw new Error(`${where}: expected an item id, found an empty field`);
  if (cols.rating >= 0) {
    const r = parseNumber(fields[cols.rating], 'rating', where);
    if (ratingThreshold !== undefined && r < ratingThreshold) return;
  }
  const ts = cols.timestamp >= 0 ? parseTimestamp(fields[cols.timestamp], where) : undefined;
  log.add(user, item, ts, where);
}

/** Checks a rating threshold option against the resolved columns. */
export function checkThreshold(
  ratingThreshold: number | undefined,
  cols: ResolvedColumns,
  name: string,
): void {
  if (ratingThreshold === undefined) return;
  if (!Number.isFinite(ratingThreshold))
    throw new RangeError(`ratingThreshold must be a finite number, got ${ratingThreshold}`);
  if (cols.rating < 0)
    throw new Error(`${name}: ratingThreshold is set but there is no rating column (set columns.rating)`);
}

/** Reads a CSV/TSV file (or LineSource) into a Dataset; errors name file and line. */
export async function readDelimited(source: Source, options: DelimitedOptions = {}): Promise<Dataset> {
  const { name, lines } = openSource(source);
  const spec = options.columns ?? {};
  const header = options.header ?? !specUsesOnlyIndices(spec);
  if (options.delimiter !== undefined && options.delimiter !== 'auto' && options.delimiter.length === 0) {
    throw new RangeError('delimiter must be a non-empty string or "auto"');
  }
  const log = new InteractionLog();
  let delim: string | null =
    options.delimiter === undefined || options.delimiter === 'auto' ? null : options.delimiter;
  let cols: ResolvedColumns | null = null;
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    if (raw.trim() === '') continue;
    const line = lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    const where = `${name}:${lineNo}`;
    if (delim === null) delim = detectDelimiter(line);
    let fields: string[];
    try {
      fields = splitDelimited(line, delim);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    if (cols === null) {
      if (header) {
        cols = resolveColumns(spec, fields, where);
        checkThreshold(options.ratingThreshold, cols, name);
        continue;
      }
      cols = resolveColumns(spec, null, where);
      checkThreshold(options.ratingThreshold, cols, name);
    }
    addRow(log, fields, cols, options.ratingThreshold, where);
  }
  if (cols === null) throw new Error(`${name}: no interactions (empty file)`);
  return log.build({ idOrder: options.idOrder ?? 'sorted', source: name });
}
