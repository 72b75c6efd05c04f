/**
 * `readInteractions(path, { format })`: one entry to every reader, with the format taken from the
 * option or guessed from the file name.
 */
import type { Dataset } from './dataset.js';
import { type DelimitedOptions, readDelimited } from './readers/delimited.js';
import { type MovieLensOptions, readMovieLens } from './readers/movielens.js';
import { type ParquetOptions, readParquet } from './readers/parquet.js';
import { readSequenceText, type SequenceTextOptions } from './readers/text.js';

/** Formats `readInteractions` knows. `sasrec` and `iclrec` are the same text reader. */
export type InteractionFormat =
  | 'auto'
  | 'sasrec'
  | 'iclrec'
  | 'text'
  | 'csv'
  | 'tsv'
  | 'movielens'
  | 'parquet';

export const INTERACTION_FORMATS: readonly InteractionFormat[] = [
  'auto',
  'sasrec',
  'iclrec',
  'text',
  'csv',
  'tsv',
  'movielens',
  'parquet',
];

/** Options of `readInteractions`: the format plus the chosen reader's own options. */
export type ReadOptions = { format?: InteractionFormat } & SequenceTextOptions &
  DelimitedOptions &
  MovieLensOptions &
  ParquetOptions;

/**
 * The format of a path by its name: `.parquet` → parquet, `.dat` / `u.data` / `.data` → movielens,
 * `.csv` → csv, `.tsv` → tsv, anything else → sasrec text.
 */
export function guessFormat(path: string): Exclude<InteractionFormat, 'auto'> {
  const p = path.toLowerCase();
  if (p.endsWith('.parquet') || p.endsWith('.pq')) return 'parquet';
  if (p.endsWith('.dat') || p.endsWith('.data')) return 'movielens';
  if (p.endsWith('.csv')) return 'csv';
  if (p.endsWith('.tsv')) return 'tsv';
  return 'sasrec';
}

/** Reads an interaction log at `path` in `options.format` (default 'auto': by file name) into a Dataset. */
export async function readInteractions(path: string, options: ReadOptions = {}): Promise<Dataset> {
  const format = options.format ?? 'auto';
  if (!INTERACTION_FORMATS.includes(format)) {
    throw new RangeError(
      `format must be one of ${INTERACTION_FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
    );
  }
  const f = format === 'auto' ? guessFormat(path) : format;
  switch (f) {
    case 'sasrec':
    case 'iclrec':
    case 'text':
      return readSequenceText(path, options);
    case 'csv':
      return readDelimited(path, options);
    case 'tsv':
      return readDelimited(path, { ...options, delimiter: options.delimiter ?? '\t' });
    case 'movielens':
      return readMovieLens(path, options);
    case 'parquet':
      return readParquet(path, options);
  }
}
