/**
 * Where `cutrec recommend --all` writes: JSON Lines (one user a line), CSV or Parquet (one
 * recommendation a row: user, rank, item, score). Every writer writes a temporary file beside the
 * target and renames it over the target when done, so a failed run leaves nothing behind.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';

/** One user's list, in original ids, best first. */
export interface UserRecs {
  user: string;
  items: string[];
  scores: number[];
}

/** The output formats, chosen by the file's extension. */
export const RECS_FORMATS = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
  '.parquet': 'parquet',
} as const;

export type RecsFormat = (typeof RECS_FORMATS)[keyof typeof RECS_FORMATS];

/** The format of `path` from its extension; throws naming the extensions known. */
export function recsFormat(path: string): RecsFormat {
  const ext = /\.[^./\\]+$/.exec(path)?.[0]?.toLowerCase() ?? '';
  const f = RECS_FORMATS[ext as keyof typeof RECS_FORMATS];
  if (!f) {
    throw new Error(
      `--out ${path}: unknown extension '${ext}' (use ${Object.keys(RECS_FORMATS).join(', ')})`,
    );
  }
  return f;
}

/** Streams users' lists into a file; `close` publishes it, `abort` removes the partial file. */
export interface RecsWriter {
  write(batch: readonly UserRecs[]): void;
  close(): void;
  abort(): void;
}

/** A float32 score as the shortest decimal that reads back to the same float32. */
export function scoreText(s: number): number {
  return Number(s.toPrecision(9));
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
}

function publish(tmp: string, path: string): void {
  renameSync(tmp, path);
}

/** A text writer (JSON Lines or CSV) over a temporary file. */
class TextWriter implements RecsWriter {
  private readonly tmp: string;
  private fd: number | undefined;

  constructor(
    private readonly path: string,
    private readonly lines: (r: UserRecs) => string,
    header?: string,
  ) {
    this.tmp = tempPath(path);
    this.fd = openSync(this.tmp, 'wx');
    if (header) this.append(header);
  }

  private append(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    let at = 0;
    while (at < bytes.length) at += writeSync(this.fd!, bytes, at, bytes.length - at);
  }

  write(batch: readonly UserRecs[]): void {
    this.append(batch.map(this.lines).join(''));
  }

  close(): void {
    fsyncSync(this.fd!);
    closeSync(this.fd!);
    this.fd = undefined;
    publish(this.tmp, this.path);
  }

  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmp, { force: true });
  }
}

/** A CSV field, quoted when it holds a comma, quote or line break. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function jsonlLine(r: UserRecs): string {
  return `${JSON.stringify({ user: r.user, items: r.items, scores: r.scores.map(scoreText) })}\n`;
}

function csvLines(r: UserRecs): string {
  const u = csvField(r.user);
  return r.items.map((item, i) => `${u},${i + 1},${csvField(item)},${scoreText(r.scores[i]!)}\n`).join('');
}

/** Parquet columns user (string), rank (int32, 1 = best), item (string), score (float32), a row group per batch. */
class ParquetRecsWriter implements RecsWriter {
  private readonly tmp: string;
  private writer: ParquetWriter | undefined;

  constructor(private readonly path: string) {
    this.tmp = tempPath(path);
  }

  private columns(batch: readonly UserRecs[]) {
    const user: string[] = [];
    const item: string[] = [];
    const rank: number[] = [];
    const score: number[] = [];
    for (const r of batch) {
      r.items.forEach((it, i) => {
        user.push(r.user);
        item.push(it);
        rank.push(i + 1);
        score.push(r.scores[i]!);
      });
    }
    return [
      { name: 'user', data: user, type: 'STRING' as const },
      { name: 'rank', data: Int32Array.from(rank), type: 'INT32' as const },
      { name: 'item', data: item, type: 'STRING' as const },
      { name: 'score', data: Float32Array.from(score), type: 'FLOAT' as const },
    ];
  }

  write(batch: readonly UserRecs[]): void {
    const columnData = this.columns(batch);
    if (!this.writer) {
      this.writer = new ParquetWriter({
        writer: fileWriter(this.tmp),
        schema: schemaFromColumnData({ columnData }),
        createdBy: 'cutrec',
      });
    }
    if (columnData[0]!.data.length > 0)
      this.writer.write({ columnData, rowGroupSize: columnData[0]!.data.length });
  }

  close(): void {
    if (!this.writer) this.write([]);
    this.writer!.finish();
    this.writer = undefined;
    publish(this.tmp, this.path);
  }

  abort(): void {
    this.writer = undefined;
    rmSync(this.tmp, { force: true });
  }
}

/** A writer of `format` that publishes `path` on close. */
export function openRecsWriter(path: string, format: RecsFormat): RecsWriter {
  switch (format) {
    case 'jsonl':
      return new TextWriter(path, jsonlLine);
    case 'csv':
      return new TextWriter(path, csvLines, 'user,rank,item,score\n');
    case 'parquet':
      return new ParquetRecsWriter(path);
  }
}
