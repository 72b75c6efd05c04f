/**
 * MovieLens ratings: `ratings.dat` (`user::item::rating::timestamp`, ML-1M/10M) and `u.data`
 * (tab-separated `user item rating timestamp`, ML-100K). The layout is detected from the first line.
 */
import { InteractionLog } from '../builder.js';
import type { Dataset } from '../dataset.js';
import type { ResolvedColumns } from './columns.js';
import { addRow, checkThreshold } from './delimited.js';
import { type CommonReadOptions, openSource, type Source } from './source.js';

/** Options of `readMovieLens`. */
export interface MovieLensOptions extends CommonReadOptions {
  /** Keep only ratings ≥ this (e.g. 4 for "liked" items); all ratings by default. */
  ratingThreshold?: number;
}

const COLUMNS: ResolvedColumns = { user: 0, item: 1, rating: 2, timestamp: 3 };

/** Reads MovieLens `ratings.dat` or `u.data` into a Dataset ordered by timestamp; errors name file and line. */
export async function readMovieLens(source: Source, options: MovieLensOptions = {}): Promise<Dataset> {
  const { name, lines } = openSource(source);
  checkThreshold(options.ratingThreshold, COLUMNS, name);
  const log = new InteractionLog();
  let split: ((s: string) => string[]) | null = null;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    if (split === null) split = line.includes('::') ? (s) => s.split('::') : (s) => s.trim().split(/[\t ]+/);
    const fields = split(line);
    const where = `${name}:${lineNo}`;
    if (fields.length !== 4) {
      throw new Error(`${where}: expected 4 fields (user, item, rating, timestamp), found ${fields.length}`);
    }
    addRow(log, fields, COLUMNS, options.ratingThreshold, where);
  }
  return log.build({ idOrder: options.idOrder ?? 'sorted', source: name });
}
