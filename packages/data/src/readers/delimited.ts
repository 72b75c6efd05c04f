/**
 * CSV / TSV (any single-character or string delimiter) with configurable columns, streamed through
 * csv-parse. Fields may be double-quoted ("" is a quote inside), and a quoted field may span lines;
 * a quote inside an unquoted field is an ordinary character.
 */
import { CsvError, parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { InteractionLog } from '../builder.js';
import type { Dataset } from '../dataset.js';
import {
  type ColumnSpec,
  fieldsNeeded,
  type ResolvedColumns,
  resolveColumns,
  specUsesOnlyIndices,
} from './columns.js';
import { type CommonReadOptions, openChunks, parseNumber, parseTimestamp, type Source } from './source.js';

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

/** Splits one line into fields on `delim` (double quotes as in the reader; "" is a quote inside). */
export function splitDelimited(line: string, delim: string): string[] {
  const rows = parseSync(line, { delimiter: delim, relax_quotes: true, relax_column_count: true });
  return (rows[0] as string[] | undefined) ?? [''];
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

/** Line breaks inside a record's fields (CRLF, LF or CR each count one, as an editor numbers lines). */
function breaksIn(record: readonly string[]): number {
  let n = 0;
  for (const f of record) {
    for (let k = 0; k < f.length; k++) {
      const c = f.charCodeAt(k);
      if (c === 10) n++;
      else if (c === 13) {
        n++;
        if (f.charCodeAt(k + 1) === 10) k++;
      }
    }
  }
  return n;
}

/** The first line of `text` with a non-blank character, when a line break ends it (BOM removed). */
function firstCompleteLine(text: string): string | undefined {
  const lines = text.split(/\r\n|\n|\r/);
  for (let k = 0; k < lines.length - 1; k++) {
    const l = k === 0 && lines[0]!.charCodeAt(0) === 0xfeff ? lines[0]!.slice(1) : lines[k]!;
    if (l.trim() !== '') return l;
  }
  return undefined;
}

/**
 * Records of a delimited source with the line each starts on (a record with a quoted field across
 * lines starts where its first field does). Parse errors (an unclosed quote) name file:line.
 */
async function* delimitedRecords(
  source: Source,
  delimiter: string | null,
): AsyncGenerator<{ fields: string[]; line: number }> {
  const { name, chunks } = openChunks(source);
  const it = chunks[Symbol.asyncIterator]();
  // The first chunks, up to the first line break, decide an 'auto' delimiter.
  const head: string[] = [];
  let headText = '';
  let first: string | undefined;
  while (delimiter === null) {
    const r = await it.next();
    if (r.done) {
      // The whole input is read: its last line has no line break after it.
      first = firstCompleteLine(`${headText}\n`);
      break;
    }
    head.push(r.value);
    headText += r.value;
    first = firstCompleteLine(headText);
    if (first !== undefined) break;
  }
  const delim = delimiter ?? detectDelimiter(first ?? '');

  // Records come from csv-parse in file order; empty lines are records too (a single empty field,
  // skipped by the caller), so each record spans 1 + its fields' line breaks lines and the line a
  // record starts on is counted here. The queue is bounded: the feeder waits while it holds more
  // than HIGH records. A parse error (an unclosed quote, found at the end) comes after every
  // record before it, so errors are reported in file order.
  const HIGH = 4096;
  const queue: { fields: string[]; line: number }[] = [];
  let next = 0;
  let line = 1;
  let failure: unknown = null;
  let finished = false;
  let stop = false;
  let wakeConsumer: (() => void) | null = null;
  let wakeFeeder: (() => void) | null = null;
  const wake = (which: 'consumer' | 'feeder') => {
    const w = which === 'consumer' ? wakeConsumer : wakeFeeder;
    if (which === 'consumer') wakeConsumer = null;
    else wakeFeeder = null;
    w?.();
  };
  const parser = parse({
    delimiter: delim,
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
  });
  const finish = (e: unknown) => {
    if (e !== null && failure === null) failure = e;
    finished = true;
    wake('consumer');
  };
  parser.on('data', (record: string[]) => {
    queue.push({ fields: record, line });
    line += 1 + breaksIn(record);
    wake('consumer');
  });
  parser.on('error', finish);
  parser.on('end', () => finish(null));
  const feeding = (async () => {
    const write = async (c: string) => {
      if (stop || finished) return;
      parser.write(c);
      while (!stop && !finished && queue.length - next > HIGH) {
        await new Promise<void>((resolve) => {
          wakeFeeder = resolve;
        });
      }
    };
    try {
      for (const c of head) await write(c);
      for (;;) {
        if (stop || finished) break;
        const r = await it.next();
        if (r.done) break;
        await write(r.value);
      }
      if (!stop && !finished) parser.end();
    } catch (e) {
      finish(e);
      parser.destroy();
    } finally {
      await it.return?.();
    }
  })();
  try {
    for (;;) {
      if (next < queue.length) {
        const r = queue[next++]!;
        if (next > HIGH && next * 2 > queue.length) {
          queue.splice(0, next);
          next = 0;
        }
        if (queue.length - next <= HIGH / 2) wake('feeder');
        yield r;
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
    if (failure instanceof CsvError) {
      // The failing record starts where the last one read ended.
      if (failure.code === 'CSV_QUOTE_NOT_CLOSED') {
        throw new Error(
          `${name}:${line}: unterminated quoted field (a field opens with " and no closing " follows before the end of the file)`,
        );
      }
      throw new Error(`${name}:${line}: ${failure.message}`);
    }
    if (failure !== null) throw failure;
  } finally {
    stop = true;
    wake('feeder');
    parser.destroy();
    await feeding;
  }
}

/** Reads a CSV/TSV file (or LineSource) into a Dataset; errors name file and line. */
export async function readDelimited(source: Source, options: DelimitedOptions = {}): Promise<Dataset> {
  const name = typeof source === 'string' ? source : source.name;
  const spec = options.columns ?? {};
  const header = options.header ?? !specUsesOnlyIndices(spec);
  if (options.delimiter !== undefined && options.delimiter !== 'auto' && options.delimiter.length === 0) {
    throw new RangeError('delimiter must be a non-empty string or "auto"');
  }
  const delim = options.delimiter === undefined || options.delimiter === 'auto' ? null : options.delimiter;
  const log = new InteractionLog();
  let cols: ResolvedColumns | null = null;
  for await (const { fields, line } of delimitedRecords(source, delim)) {
    // A line of blanks only is an empty line.
    if (fields.length === 1 && fields[0]!.trim() === '') continue;
    const where = `${name}:${line}`;
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
