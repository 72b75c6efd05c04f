/**
 * SASRec / ICLRec text: `user item item ...` per line (items in time order), or `user item` pairs
 * per line (the original SASRec files). Tokens are separated by spaces or tabs; every id is a
 * non-negative decimal integer (anything else is a malformed line, reported with file:line).
 */
import { InteractionLog } from '../builder.js';
import type { Dataset } from '../dataset.js';
import { type CommonReadOptions, openSource, type Source } from './source.js';

/** An id of these files: a non-negative decimal integer. */
const ID = /^\d+$/;

/** Options of `readSequenceText`. */
export interface SequenceTextOptions extends CommonReadOptions {
  /**
   * 'sequence': `user item item ...` (one or more items a line); 'pairs': exactly `user item` a
   * line; 'auto' (default): one or more items a line. A user that appears on several lines gets
   * the lines' items appended in file order, so both layouts read the same under 'auto'.
   */
  layout?: 'auto' | 'sequence' | 'pairs';
}

/** Reads a SASRec/ICLRec text file (or LineSource) into a Dataset; errors name file and line. */
export async function readSequenceText(source: Source, options: SequenceTextOptions = {}): Promise<Dataset> {
  const { name, lines } = openSource(source);
  const layout = options.layout ?? 'auto';
  if (layout !== 'auto' && layout !== 'sequence' && layout !== 'pairs') {
    throw new RangeError(`layout must be 'auto', 'sequence' or 'pairs', got ${JSON.stringify(layout)}`);
  }
  const log = new InteractionLog();
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    const s = line.trim();
    if (s === '') continue;
    const tokens = s.split(/[ \t]+/);
    const where = `${name}:${lineNo}`;
    if (tokens.length < 2) {
      throw new Error(
        `${where}: expected a user id followed by ${layout === 'pairs' ? 'an item id' : 'item ids'}, got ${JSON.stringify(s)}`,
      );
    }
    if (layout === 'pairs' && tokens.length !== 2) {
      throw new Error(`${where}: expected exactly 'user item' (2 fields), got ${tokens.length} fields`);
    }
    for (let k = 0; k < tokens.length; k++) {
      if (!ID.test(tokens[k]!)) {
        throw new Error(
          `${where}: expected a numeric ${k === 0 ? 'user' : 'item'} id (a non-negative integer) in field ${k + 1}, got ${JSON.stringify(tokens[k])}`,
        );
      }
    }
    const user = tokens[0]!;
    for (let k = 1; k < tokens.length; k++) log.add(user, tokens[k]!, undefined, where);
  }
  return log.build({ idOrder: options.idOrder ?? 'sorted', source: name });
}
