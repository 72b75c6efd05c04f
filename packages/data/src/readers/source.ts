/**
 * Where readers get their lines: a file path (streamed with readline, never read whole) or any
 * named iterable of lines (for text in memory or tests).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** A named stream of lines; `name` is what errors print before `:line:`. */
export interface LineSource {
  name: string;
  lines: AsyncIterable<string> | Iterable<string>;
}

/** A file path or a LineSource. */
export type Source = string | LineSource;

/** Lines of a file, streamed (CRLF and LF both end a line). */
export async function* fileLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    input.destroy();
  }
}

/** A LineSource over text in memory, named `name` in errors. */
export function textSource(text: string, name = 'text'): LineSource {
  return { name, lines: text.split(/\r?\n/) };
}

/** Text of a file in chunks, streamed (line breaks kept). */
export async function* fileChunks(path: string): AsyncGenerator<string> {
  const input = createReadStream(path, { encoding: 'utf8' });
  try {
    for await (const chunk of input) yield chunk as string;
  } finally {
    input.destroy();
  }
}

async function* joinLines(lines: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string> {
  for await (const line of lines) yield `${line}\n`;
}

/** Resolves a Source into its name and text chunks (a LineSource's lines, each ended by \n). */
export function openChunks(source: Source): { name: string; chunks: AsyncIterable<string> } {
  return typeof source === 'string'
    ? { name: source, chunks: fileChunks(source) }
    : { name: source.name, chunks: joinLines(source.lines) };
}

/** Resolves a Source into its name and lines. */
export function openSource(source: Source): LineSource {
  return typeof source === 'string' ? { name: source, lines: fileLines(source) } : source;
}

/** Options every reader takes. */
export interface CommonReadOptions {
  /**
   * How dense ids are assigned: 'sorted' (default; numeric order when all ids are integers, so a
   * 1-based file's id k becomes k-1) or 'appearance' (first appearance in the file).
   */
  idOrder?: 'appearance' | 'sorted';
}

/** Parses a numeric field; throws `${where}: expected a numeric ${what}, got "..."`. */
export function parseNumber(field: string | undefined, what: string, where: string): number {
  const s = field?.trim() ?? '';
  const v = s === '' ? Number.NaN : Number(s);
  if (!Number.isFinite(v))
    throw new Error(`${where}: expected a numeric ${what}, got ${JSON.stringify(field ?? '')}`);
  return v;
}

/**
 * Parses a timestamp: a number as given (e.g. Unix seconds), or an ISO 8601 date/time string,
 * converted to Unix seconds. Throws naming `where` otherwise.
 */
export function parseTimestamp(field: string | undefined, where: string): number {
  const s = field?.trim() ?? '';
  if (s !== '') {
    const v = Number(s);
    if (Number.isFinite(v)) return v;
    if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
      const ms = Date.parse(s);
      if (Number.isFinite(ms)) return ms / 1000;
    }
  }
  throw new Error(`${where}: expected a numeric or ISO 8601 timestamp, got ${JSON.stringify(field ?? '')}`);
}
