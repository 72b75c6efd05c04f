/**
 * Fuzz suite for the readers (fast-check): generated malformed and edge-case inputs for every
 * format, each checked against a small model of its format. An input must be read exactly as the
 * model reads it (every user's items, and timestamps, in order), or rejected with the error the
 * model expects: `name:LINE: …` on the line the model names (Parquet: `name:row N: …`), or
 * `name: no interactions …` when nothing is left. Any other error — a TypeError, a message
 * without file:line, the wrong line — fails the run and prints the counterexample.
 *
 * Runs per format: 10,000 each for text, CSV/TSV, MovieLens and Parquet (one in 16 text inputs
 * goes through a file on disk, the rest through in-memory LineSources; every Parquet input is a
 * file written with hyparquet-writer and read back with hyparquet; one in 100 gets a corrupted byte,
 * one in 13 with CUTREC_FUZZ_CORRUPT=1 for a longer look; hyparquet loops forever on some of them,
 * and the reader's time limit stops those: see the hyparquet-hang test).
 * About 40 s on this 2-core machine, 10 s of it the hyparquet-hang test waiting out the default
 * limit (a corrupted file that hangs costs CORRUPT_LIMIT_S more: about 1 in 800 do). The counts are
 * printed.
 * CUTREC_TEST_SEED replays a run; CUTREC_FUZZ_RUNS scales the counts (e.g. 0.1 for a quick look).
 */

import { fileURLToPath } from 'node:url';
import { testSeed } from '@cutrec/config/testing';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import {
  type Dataset,
  type LineSource,
  readDelimited,
  readMovieLens,
  readParquet,
  readSequenceText,
  textSource,
} from '../src/index.js';
import { tempFile } from './helpers.js';

const SEED = testSeed('reader fuzz');
const SCALE = Number(process.env.CUTREC_FUZZ_RUNS ?? 1);
/** One Parquet file in CORRUPT_ONE_IN gets a corrupted byte. */
const CORRUPT_ONE_IN = process.env.CUTREC_FUZZ_CORRUPT === '1' ? 13 : 100;
/**
 * Decoding seconds a corrupted file gets (sound files get the default limit): a tiny file decodes in
 * milliseconds, so this only shortens the wait on the ones hyparquet never finishes.
 */
const CORRUPT_LIMIT_S = 3;
const RUNS = Math.max(1, Math.round(10_000 * SCALE));
const PARQUET_RUNS = Math.max(1, Math.round(10_000 * SCALE));

// ---- the model's outcome, and the comparison --------------------------------------------------

/** What the model says an input reads as. */
type Expected =
  | { ok: true; users: Map<string, { items: string[]; ts?: number[] }> }
  | { ok: false; line: number | string | null };

class ModelLog {
  users = new Map<string, { items: string[]; ts: number[] }>();
  timed: boolean | null = null;
  add(user: string, item: string, ts: number | undefined): void {
    let u = this.users.get(user);
    if (!u) {
      u = { items: [], ts: [] };
      this.users.set(user, u);
    }
    u.items.push(item);
    if (ts !== undefined) u.ts.push(ts);
  }
  /** The users with items stably sorted by timestamp where there are timestamps. */
  result(timed: boolean): Expected {
    if (this.users.size === 0) return { ok: false, line: null };
    const users = new Map<string, { items: string[]; ts?: number[] }>();
    for (const [k, u] of this.users) {
      if (!timed) {
        users.set(k, { items: u.items });
        continue;
      }
      const order = u.items.map((_, i) => i).sort((a, b) => u.ts[a]! - u.ts[b]! || a - b);
      users.set(k, { items: order.map((i) => u.items[i]!), ts: order.map((i) => u.ts[i]!) });
    }
    return { ok: true, users };
  }
}

class ModelError {
  constructor(readonly line: number | string) {}
}

const counts: Record<string, { read: number; rejected: number }> = {};

/** Runs `read` and checks its outcome against `want`; throws (fails the property) otherwise. */
async function checkOutcome(
  format: string,
  name: string,
  read: () => Promise<Dataset>,
  want: Expected,
): Promise<void> {
  counts[format] ??= { read: 0, rejected: 0 };
  const c = counts[format];
  let ds: Dataset;
  try {
    ds = await read();
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) {
      throw new Error(`crash: ${String((e as Error)?.stack ?? e)}`);
    }
    if (want.ok) throw new Error(`rejected an input the model reads: ${e.message}`);
    const prefix =
      want.line === null
        ? `${name}: no interactions`
        : `${name}:${typeof want.line === 'number' ? `${want.line}:` : want.line}`;
    if (!e.message.startsWith(prefix)) {
      throw new Error(`error ${JSON.stringify(e.message)} does not start with ${JSON.stringify(prefix)}`);
    }
    c.rejected++;
    return;
  }
  if (!want.ok) throw new Error(`read an input the model rejects at ${want.line}`);
  const got = new Map<string, { items: string[]; ts?: number[] }>();
  for (let u = 0; u < ds.numUsers; u++) {
    got.set(ds.userIds[u]!, {
      items: Array.from(ds.sequences[u]!, (i) => ds.itemIds[i]!),
      ...(ds.timestamps ? { ts: Array.from(ds.timestamps[u]!) } : {}),
    });
  }
  expect(got).toEqual(want.users);
  expect(ds.numItems).toBe(new Set([...want.users.values()].flatMap((u) => u.items)).size);
  c.read++;
}

/** Splits text into lines the way a LineSource from textSource (memory) or a file (disk) does. */
function modelLines(text: string, onDisk: boolean): string[] {
  if (!onDisk) return text.split(/\r?\n/);
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

let files = 0;
/** Every 16th input goes through a file on disk, the rest through memory. */
function sourceOf(text: string, name: string, onDisk: boolean): string | LineSource {
  return onDisk ? tempFile(`${files++}-${name}`, text) : textSource(text, name);
}

const params = (runs: number) => ({ numRuns: runs, seed: SEED, endOnFailure: true });

// ---- SASRec / ICLRec text ---------------------------------------------------------------------

const numericId = fc.oneof(
  fc.nat({ max: 30 }).map(String),
  fc.constantFrom('0', '007', '12345678901234567890'),
);
const badId = fc.oneof(
  fc.constantFrom(
    'abc',
    '-1',
    '1.5',
    '1e3',
    '0x1f',
    'NaN',
    'Infinity',
    '١٢',
    '１',
    '+3',
    '1_000',
    '"7"',
    '7,',
  ),
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 4 })
    .filter((s) => !/[\s]/.test(s) && !/^\d+$/.test(s)),
);
const sep = fc.constantFrom(' ', '\t', '  ', ' \t ');
const textLine = fc.oneof(
  {
    weight: 40,
    arbitrary: fc
      .tuple(numericId, fc.array(numericId, { minLength: 1, maxLength: 5 }))
      .map(([u, it]) => [u, ...it]),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(numericId, fc.array(numericId, { maxLength: 3 }), badId, fc.array(numericId, { maxLength: 2 }))
      .map(([u, a, b, c]) => [u, ...a, b, ...c]),
  },
  { weight: 1, arbitrary: fc.tuple(badId, numericId).map(([u, i]) => [u, i]) },
  { weight: 1, arbitrary: numericId.map((u) => [u]) },
  { weight: 3, arbitrary: fc.constant([] as string[]) },
);
const textInput = fc.record({
  lines: fc.array(fc.tuple(textLine, sep, fc.constantFrom('', ' ', '\t'), fc.constantFrom('', ' ', '\r')), {
    maxLength: 12,
  }),
  eol: fc.constantFrom('\n', '\r\n'),
  finalEol: fc.boolean(),
  layout: fc.constantFrom('auto', 'sequence', 'pairs') as fc.Arbitrary<'auto' | 'sequence' | 'pairs'>,
  idOrder: fc.constantFrom('sorted', 'appearance') as fc.Arbitrary<'sorted' | 'appearance'>,
  onDisk: fc.nat({ max: 15 }).map((k) => k === 0),
});

function modelText(text: string, onDisk: boolean, layout: string): Expected {
  const log = new ModelLog();
  const lines = modelLines(text, onDisk);
  try {
    lines.forEach((raw, k) => {
      const s = raw.replace(/^[ \t\r]+|[ \t\r]+$/g, '');
      if (s === '') return;
      const tokens = s.split(/[ \t]+/);
      if (tokens.length < 2) throw new ModelError(k + 1);
      if (layout === 'pairs' && tokens.length !== 2) throw new ModelError(k + 1);
      if (!tokens.every((t) => /^[0-9]+$/.test(t))) throw new ModelError(k + 1);
      for (const item of tokens.slice(1)) log.add(tokens[0]!, item, undefined);
    });
  } catch (e) {
    if (e instanceof ModelError) return { ok: false, line: e.line };
    throw e;
  }
  return log.result(false);
}

// ---- CSV / TSV --------------------------------------------------------------------------------

const DELIMS = [',', '\t', ';', '|', '::'] as const;
/** Field text: ordinary characters, and the ones that need quoting. */
const fieldChar = fc.constantFrom(
  'a',
  'b',
  'Z',
  '1',
  '2',
  '9',
  ' ',
  '-',
  '_',
  'é',
  '😀',
  '"',
  ',',
  ';',
  '|',
  '\t',
  ':',
  '\n',
  '\r\n',
);
const fieldText = fc.array(fieldChar, { maxLength: 5 }).map((a) => a.join(''));
const goodId = fc.oneof(
  fc.nat({ max: 20 }).map(String),
  fc.array(fieldChar, { minLength: 1, maxLength: 4 }).map((a) => a.join('')),
);

type TsCell = { text: string; value: number | null };
const ISO: [string, number][] = [
  ['2024-01-02', Date.UTC(2024, 0, 2) / 1000],
  ['2024-01-02T03:04:05Z', Date.UTC(2024, 0, 2, 3, 4, 5) / 1000],
  ['1999-12-31T23:59:59.5Z', Date.UTC(1999, 11, 31, 23, 59, 59, 500) / 1000],
];
const tsCell: fc.Arbitrary<TsCell> = fc.oneof(
  { weight: 24, arbitrary: fc.integer({ min: -5, max: 40 }).map((v) => ({ text: String(v), value: v })) },
  { weight: 1, arbitrary: fc.constantFrom(...ISO).map(([t, v]) => ({ text: t, value: v })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(' 7 ', '1.25', '-0.5', '1e2').map((t) => ({ text: t, value: Number(t) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('', 'later', 'NaN', '1e400', '2024-13-45', '12:00', 'Infinity')
      .map((t) => ({ text: t, value: null })),
  },
);
const ratingCell: fc.Arbitrary<TsCell> = fc.oneof(
  { weight: 40, arbitrary: fc.integer({ min: 1, max: 5 }).map((v) => ({ text: String(v), value: v })) },
  { weight: 1, arbitrary: fc.constantFrom('', 'five', '4.5x', '∞').map((t) => ({ text: t, value: null })) },
);

interface CsvRow {
  user: string;
  item: string;
  ts: TsCell;
  rating: TsCell;
  note: string;
  /** Fields to drop from the end (a short row). */
  short: number;
  /** Per field: quote it even when it does not need quotes. */
  quote: boolean[];
  blankBefore: string;
}
const csvRow: fc.Arbitrary<CsvRow> = fc.record({
  user: fc.oneof({ weight: 60, arbitrary: goodId }, { weight: 1, arbitrary: fc.constantFrom('', '  ') }),
  item: fc.oneof({ weight: 60, arbitrary: goodId }, { weight: 1, arbitrary: fc.constantFrom('', ' \t ') }),
  ts: tsCell,
  rating: ratingCell,
  note: fieldText,
  short: fc.oneof(
    { weight: 60, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
  ),
  quote: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  blankBefore: fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('\n', '   \n', '\n\n') },
  ),
});
const csvInput = fc.record({
  delim: fc.constantFrom(...DELIMS),
  auto: fc.boolean(),
  header: fc.boolean(),
  /** Column order: a permutation of user, item, timestamp, rating, note, some left out. */
  order: fc.shuffledSubarray(['user', 'item', 'timestamp', 'rating', 'note'], { minLength: 2 }),
  rows: fc.array(csvRow, { maxLength: 8 }),
  eol: fc.constantFrom('\n', '\r\n'),
  finalEol: fc.boolean(),
  threshold: fc.constantFrom(undefined, 3),
  bom: fc.boolean(),
  /** Cut the text after an opening quote of the last row (an unterminated quoted field). */
  unterminated: fc.oneof(
    { weight: 15, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  onDisk: fc.nat({ max: 15 }).map((k) => k === 0),
});
type CsvInput = typeof csvInput extends fc.Arbitrary<infer T> ? T : never;

/** Builds the CSV text and the model's outcome. */
function buildCsv(x: CsvInput): {
  text: string;
  want: Expected;
  options: Parameters<typeof readDelimited>[1];
} {
  const { delim, eol } = x;
  const onDisk = x.onDisk;
  // CRLF inside quotes reads back as LF from a LineSource (which splits lines and rejoins with \n).
  const asRead = (s: string) => (onDisk ? s : s.replace(/\r\n/g, '\n'));
  const cols =
    x.order.includes('user') && x.order.includes('item')
      ? x.order
      : ['user', 'item', ...x.order.filter((c) => c !== 'user' && c !== 'item')];
  const hasTs = cols.includes('timestamp');
  const hasRating = cols.includes('rating');
  // A value holding a delimiter character, a line break or a leading quote must be quoted (a quote
  // inside an unquoted field is an ordinary character); others are quoted when `quote` says so.
  const needsQuote = (s: string) =>
    [...delim].some((d) => s.includes(d)) || /[\r\n]/.test(s) || s.startsWith('"');
  const cell = (s: string, quote: boolean) => (quote || needsQuote(s) ? `"${s.replaceAll('"', '""')}"` : s);
  let text = x.bom ? '\ufeff' : '';
  let line = 1;
  const breaks = (s: string) => (s.match(/\r\n|\n/g) ?? []).length;
  const options: NonNullable<Parameters<typeof readDelimited>[1]> = {
    // 'auto' reads the delimiter off the header (a data row may hold other delimiters in quotes).
    delimiter: x.auto && x.header && delim.length === 1 ? 'auto' : delim,
    ratingThreshold: hasRating ? x.threshold : undefined,
  };
  if (x.header) {
    const h = cols.map((c, k) => cell(c, k === 0 && x.rows.length % 2 === 1)).join(delim);
    text += h + eol;
    line += 1;
  } else {
    options.columns = {
      user: cols.indexOf('user'),
      item: cols.indexOf('item'),
      timestamp: hasTs ? cols.indexOf('timestamp') : null,
      rating: hasRating ? cols.indexOf('rating') : null,
    };
  }
  const log = new ModelLog();
  let error: number | null = null;
  const need = Math.max(...['user', 'item', 'timestamp', 'rating'].map((c) => cols.indexOf(c))) + 1;
  x.rows.forEach((r, k) => {
    const last = k === x.rows.length - 1;
    if (r.blankBefore && !(k === 0 && !x.header)) {
      text += r.blankBefore.replaceAll('\n', eol);
      line += breaks(r.blankBefore);
    }
    const values: Record<string, string> = {
      user: r.user,
      item: r.item,
      timestamp: r.ts.text,
      rating: r.rating.text,
      note: r.note,
    };
    const n = Math.max(1, cols.length - r.short);
    const fields = cols.slice(0, n).map((c, j) => cell(values[c]!, r.quote[j]!));
    if (x.unterminated && last) {
      // An opening quote that never closes: the rest of the file is inside it.
      fields[n - 1] = `"${values[cols[n - 1]!]!.replaceAll('"', '')}`;
      text += fields.join(delim) + eol;
      if (error === null) error = line;
      return;
    }
    const rowText = fields.join(delim);
    text += rowText + (last && !x.finalEol ? '' : eol);
    const start = line;
    line += breaks(rowText) + 1;
    if (error !== null) return;
    // A row that reads as one blank field is skipped as an empty line.
    if (n === 1 && asRead(values[cols[0]!]!).trim() === '') return;
    if (n < need) {
      error = start;
      return;
    }
    const user = asRead(r.user).trim();
    const item = asRead(r.item).trim();
    if (user === '' || item === '') {
      error = start;
      return;
    }
    if (hasRating) {
      if (r.rating.value === null) {
        error = start;
        return;
      }
      if (options.ratingThreshold !== undefined && r.rating.value < options.ratingThreshold) return;
    }
    if (hasTs && r.ts.value === null) {
      error = start;
      return;
    }
    log.add(user, item, hasTs ? r.ts.value! : undefined);
  });
  if (error !== null) return { text, want: { ok: false, line: error }, options };
  return { text, want: log.result(hasTs), options };
}

// ---- MovieLens --------------------------------------------------------------------------------

const mlField = fc.oneof(
  { weight: 40, arbitrary: fc.nat({ max: 30 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('', 'x', ' 3 ', '1.5', '-2', 'NaN', ':', '2e1') },
);
const mlInput = fc.record({
  dat: fc.boolean(),
  rows: fc.array(
    fc.record({
      fields: fc.array(mlField, { minLength: 4, maxLength: 4 }),
      count: fc.oneof(
        { weight: 20, arbitrary: fc.constant(4) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) },
      ),
      blankBefore: fc.oneof(
        { weight: 8, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
      sep: fc.constantFrom('\t', ' ', '\t\t'),
    }),
    { maxLength: 10 },
  ),
  eol: fc.constantFrom('\n', '\r\n'),
  threshold: fc.constantFrom(undefined, 3),
  onDisk: fc.nat({ max: 15 }).map((k) => k === 0),
});
type MlInput = typeof mlInput extends fc.Arbitrary<infer T> ? T : never;

function buildMovieLens(x: MlInput): { text: string; want: Expected } {
  const log = new ModelLog();
  let text = '';
  let line = 1;
  let error: number | null = null;
  let layout: 'dat' | 'tab' | null = null;
  const num = (s: string): number | null => {
    const t = s.trim();
    return t === '' || !Number.isFinite(Number(t)) ? null : Number(t);
  };
  for (const r of x.rows) {
    if (r.blankBefore) {
      text += x.eol;
      line++;
    }
    const extra = ['7', '8'];
    const f = [...r.fields, ...extra].slice(0, r.count);
    const rowText = f.join(x.dat ? '::' : r.sep);
    text += rowText + x.eol;
    const at = line++;
    if (error !== null) continue;
    if (rowText.trim() === '') continue;
    layout ??= rowText.includes('::') ? 'dat' : 'tab';
    const fields = layout === 'dat' ? rowText.split('::') : rowText.trim().split(/[\t ]+/);
    if (fields.length !== 4) {
      error = at;
      continue;
    }
    const [u, i, rt, ts] = fields.map((s) => s.trim()) as [string, string, string, string];
    if (u === '' || i === '') {
      error = at;
      continue;
    }
    const rating = num(rt);
    if (rating === null) {
      error = at;
      continue;
    }
    if (x.threshold !== undefined && rating < x.threshold) continue;
    const t = num(ts);
    if (t === null) {
      error = at;
      continue;
    }
    log.add(u, i, t);
  }
  if (error !== null) return { text, want: { ok: false, line: error } };
  return { text, want: log.result(true) };
}

// ---- Parquet ----------------------------------------------------------------------------------

type Cell = string | number | bigint | boolean | null;
type ColumnKind = 'STRING' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN';
const weighted = <T>(...xs: [T, number][]) =>
  fc.oneof(...xs.map(([v, weight]) => ({ weight, arbitrary: fc.constant(v) })));
const idColumn = weighted<ColumnKind>(
  ['STRING', 4],
  ['INT32', 3],
  ['INT64', 3],
  ['DOUBLE', 1],
  ['BOOLEAN', 1],
);
const tsColumn = weighted<ColumnKind | 'TIMESTAMP' | 'FLOAT'>(
  ['INT64', 3],
  ['DOUBLE', 2],
  ['STRING', 2],
  ['INT32', 2],
  ['TIMESTAMP', 3],
  ['FLOAT', 1],
  ['BOOLEAN', 1],
);

function cellOf(kind: string, seed: number, nullish: boolean): Cell {
  if (nullish) return null;
  switch (kind) {
    case 'STRING':
      return [
        'a',
        ' b ',
        '12',
        'é😀',
        '2024-01-02',
        'x"y',
        ' 3 ',
        '2024-01-02T03:04:05Z',
        '7',
        'c',
        '',
        '  ',
        'soon',
      ][seed % 13]!;
    case 'INT32':
      return (seed % 9) - 2;
    case 'INT64':
      return BigInt((seed % 11) - 3);
    case 'DOUBLE':
      return [1.5, -0, 3, 1e300, 7, 2.25, -4, 11, 0.5, 8, Number.NaN][seed % 11]!;
    case 'BOOLEAN':
      return seed % 2 === 0;
    case 'TIMESTAMP':
      return seed * 1000;
    case 'FLOAT':
      return Math.fround([1.5, -0, 3, Number.NaN, 1e300, 7.1][seed % 6]!);
    default:
      throw new Error(kind);
  }
}

const parquetInput = fc.record({
  userKind: idColumn,
  itemKind: idColumn,
  tsKind: fc.option(tsColumn, { nil: undefined }),
  ratingKind: fc.option(fc.constantFrom<ColumnKind>('INT32', 'DOUBLE', 'STRING'), { nil: undefined }),
  rows: fc.array(
    fc.tuple(
      fc.nat({ max: 15 }),
      fc.nat({ max: 15 }),
      fc.nat({ max: 15 }),
      fc.nat({ max: 15 }),
      fc.nat({ max: 80 }),
    ),
    {
      minLength: 1,
      maxLength: 8,
    },
  ),
  rowGroupSize: fc.integer({ min: 1, max: 6 }),
  threshold: fc.constantFrom(undefined, 3),
  // hyparquet 1.33 loops forever (synchronously) on some single-byte corruptions of a data page —
  // test/fixtures/hyparquet-hang.parquet is one — and the reader's worker time limit stops it.
  corrupt: fc.oneof(
    { weight: CORRUPT_ONE_IN - 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat({ max: 255 })) },
  ),
});
type ParquetInput = typeof parquetInput extends fc.Arbitrary<infer T> ? T : never;

function modelId(v: Cell): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}
function modelNumber(v: Cell | Date, what: string): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.getTime() / 1000 : null;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t !== '' && Number.isFinite(Number(t))) return Number(t);
    if (what === 'timestamp' && /^\d{4}-\d{2}-\d{2}/.test(t) && Number.isFinite(Date.parse(t)))
      return Date.parse(t) / 1000;
    return null;
  }
  return null;
}

function buildParquet(x: ParquetInput): { bytes: Uint8Array; want: Expected; corrupt: boolean } {
  const n = x.rows.length;
  const col = (name: string, kind: string, k: number) => {
    const data = x.rows.map((r) => cellOf(kind, r[k]!, r[4]! === k + 30));
    const nullable = data.some((v) => v === null);
    if (kind === 'TIMESTAMP')
      return {
        name,
        data: data.map((v) => (v === null ? null : new Date(v as number))),
        type: 'TIMESTAMP' as const,
        nullable,
      };
    return { name, data, type: kind as ColumnKind, nullable };
  };
  const columnData = [col('user', x.userKind, 0), col('item', x.itemKind, 1)];
  if (x.tsKind) columnData.push(col('timestamp', x.tsKind, 2));
  if (x.ratingKind) columnData.push(col('rating', x.ratingKind, 3));
  let bytes = new Uint8Array(
    parquetWriteBuffer({ columnData: columnData as never, rowGroupSize: x.rowGroupSize }),
  );
  if (x.corrupt) {
    bytes = bytes.slice();
    bytes[x.corrupt[0] % bytes.length] = x.corrupt[1];
  }
  const log = new ModelLog();
  for (let r = 0; r < n; r++) {
    const at = `row ${r + 1}:`;
    const get = (name: string) => columnData.find((c) => c.name === name)!.data[r] as Cell | Date;
    if (x.ratingKind) {
      const v = modelNumber(get('rating'), 'rating');
      if (v === null) return { bytes, want: { ok: false, line: at }, corrupt: !!x.corrupt };
      if (x.threshold !== undefined && v < x.threshold) continue;
    }
    let ts: number | undefined;
    if (x.tsKind) {
      const v = modelNumber(get('timestamp'), 'timestamp');
      if (v === null) return { bytes, want: { ok: false, line: at }, corrupt: !!x.corrupt };
      ts = v;
    }
    const u = modelId(get('user') as Cell);
    const i = modelId(get('item') as Cell);
    if (u === null || i === null) return { bytes, want: { ok: false, line: at }, corrupt: !!x.corrupt };
    log.add(u, i, ts);
  }
  return { bytes, want: log.result(!!x.tsKind), corrupt: !!x.corrupt };
}

// ---- the properties ---------------------------------------------------------------------------

describe(`reader fuzz (seed ${SEED}; replay with CUTREC_TEST_SEED=${SEED})`, () => {
  it(`SASRec/ICLRec text: ${RUNS} generated inputs`, async () => {
    await fc.assert(
      fc.asyncProperty(textInput, async (x) => {
        const body = x.lines.map(([tokens, s, lead, trail]) => lead + tokens.join(s) + trail);
        const text = body.join(x.eol) + (x.finalEol && body.length ? x.eol : '');
        const name = 'Beauty.txt';
        const src = sourceOf(text, name, x.onDisk);
        const shown = typeof src === 'string' ? src : name;
        await checkOutcome(
          'text',
          shown,
          () => readSequenceText(src, { layout: x.layout, idOrder: x.idOrder }),
          modelText(text, x.onDisk, x.layout),
        );
      }),
      params(RUNS),
    );
    const c = counts.text!;
    console.log(
      `[fuzz] text: ${c.read + c.rejected} inputs (${c.read} read, ${c.rejected} rejected with file:line)`,
    );
    expect(c.read + c.rejected).toBe(RUNS);
    expect(c.read).toBeGreaterThan(RUNS / 10);
    expect(c.rejected).toBeGreaterThan(RUNS / 10);
  });

  it(`CSV/TSV (quotes, multi-line fields, BOM, blank lines, any delimiter): ${RUNS} generated inputs`, async () => {
    await fc.assert(
      fc.asyncProperty(csvInput, async (x) => {
        const { text, want, options } = buildCsv(x);
        const name = x.delim === '\t' ? 'log.tsv' : 'log.csv';
        const src = sourceOf(text, name, x.onDisk);
        const shown = typeof src === 'string' ? src : name;
        await checkOutcome('csv', shown, () => readDelimited(src, options), want);
      }),
      params(RUNS),
    );
    const c = counts.csv!;
    console.log(
      `[fuzz] csv/tsv: ${c.read + c.rejected} inputs (${c.read} read, ${c.rejected} rejected with file:line)`,
    );
    expect(c.read + c.rejected).toBe(RUNS);
    expect(c.read).toBeGreaterThan(RUNS / 10);
    expect(c.rejected).toBeGreaterThan(RUNS / 10);
  });

  it(`MovieLens (ratings.dat and u.data): ${RUNS} generated inputs`, async () => {
    await fc.assert(
      fc.asyncProperty(mlInput, async (x) => {
        const { text, want } = buildMovieLens(x);
        const name = x.dat ? 'ratings.dat' : 'u.data';
        const src = sourceOf(text, name, x.onDisk);
        const shown = typeof src === 'string' ? src : name;
        await checkOutcome(
          'movielens',
          shown,
          () => readMovieLens(src, { ratingThreshold: x.threshold }),
          want,
        );
      }),
      params(RUNS),
    );
    const c = counts.movielens!;
    console.log(
      `[fuzz] movielens: ${c.read + c.rejected} inputs (${c.read} read, ${c.rejected} rejected with file:line)`,
    );
    expect(c.read + c.rejected).toBe(RUNS);
    expect(c.read).toBeGreaterThan(RUNS / 10);
    expect(c.rejected).toBeGreaterThan(RUNS / 10);
  });

  // hyparquet 1.33 never returns from this 608-byte file (one corrupted byte in a data page), found
  // by this suite (seed 2029672022 with corruption on): the reader stops its worker at the default
  // limit (10 s + 10 s per MiB) and says so in one line. The test's own timeout is the hang check.
  it('test/fixtures/hyparquet-hang.parquet is rejected at the time limit instead of hanging the reader', async () => {
    const path = fileURLToPath(new URL('./fixtures/hyparquet-hang.parquet', import.meta.url));
    const err = await readParquet(path).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toBe(
      `${path}: could not be decoded within 10 s (the limit for a Parquet file of 608 bytes; hyparquet was still decoding the row group of rows 1–1), so it is probably corrupted: re-export it, or check it with another Parquet reader (e.g. pyarrow or DuckDB); if it is sound, allow more time with CUTREC_PARQUET_TIME_LIMIT=<seconds>`,
    );
    expect(message).not.toContain('\n');
  }, 40_000);

  it(`Parquet (odd column types, nulls, row groups, corrupted bytes): ${PARQUET_RUNS} generated files`, async () => {
    let corrupted = 0;
    let stopped = 0;
    counts.parquet = { read: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(parquetInput, async (x) => {
        const { bytes, want, corrupt } = buildParquet(x);
        const threshold = x.ratingKind ? x.threshold : undefined;
        const path = tempFile('fuzz.parquet', bytes);
        if (!corrupt) {
          await checkOutcome('parquet', path, () => readParquet(path, { ratingThreshold: threshold }), want);
          return;
        }
        // A corrupted byte: the model cannot say what it reads as, only how it may fail — a
        // file-level or file:row error, never a crash.
        corrupted++;
        try {
          await readParquet(path, { ratingThreshold: threshold, decodeTimeLimit: CORRUPT_LIMIT_S });
        } catch (e) {
          if (!(e instanceof Error) || e.constructor !== Error || !e.message.startsWith(`${path}:`)) {
            throw new Error(`crash on a corrupted file: ${String((e as Error)?.stack ?? e)}`);
          }
          if (e.message.startsWith(`${path}: could not be decoded within ${CORRUPT_LIMIT_S} s`)) stopped++;
        }
      }),
      params(PARQUET_RUNS),
    );
    const c = counts.parquet!;
    console.log(
      `[fuzz] parquet: ${c.read + c.rejected + corrupted} files (${c.read} read, ${c.rejected} rejected with file:row, ${corrupted} with a corrupted byte (${stopped} stopped at the time limit), none crashed)`,
    );
    expect(c.read + c.rejected + corrupted).toBe(PARQUET_RUNS);
    expect(c.read).toBeGreaterThan(PARQUET_RUNS / 20);
    expect(c.rejected).toBeGreaterThan(PARQUET_RUNS / 20);
  });
});
