import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterEach, describe, expect, it } from 'vitest';
import { readInteractions, readParquet } from '../src/index.js';
import { plain, tempFile } from './helpers.js';

// Fixtures are written with hyparquet-writer (a dev dependency of this package).
function parquetFile(
  name: string,
  columnData: Parameters<typeof parquetWriteBuffer>[0]['columnData'],
  rowGroupSize?: number,
): string {
  return tempFile(
    name,
    new Uint8Array(parquetWriteBuffer({ columnData, ...(rowGroupSize ? { rowGroupSize } : {}) })),
  );
}

describe('readParquet', () => {
  it('reads string ids, INT64 timestamps and a rating threshold across several row groups', async () => {
    const p = parquetFile(
      'log.parquet',
      [
        { name: 'user_id', data: ['u2', 'u1', 'u1', 'u2', 'u1'], type: 'STRING' },
        { name: 'item_id', data: ['b', 'a', 'c', 'a', 'b'], type: 'STRING' },
        { name: 'rating', data: [5, 4, 1, 5, 5], type: 'DOUBLE' },
        { name: 'timestamp', data: [3n, 2n, 9n, 1n, 1n], type: 'INT64' },
      ],
      2,
    );
    const ds = await readInteractions(p, { ratingThreshold: 4 });
    expect(ds.userIds).toEqual(['u1', 'u2']);
    expect(ds.itemIds).toEqual(['a', 'b']);
    expect(plain(ds.sequences)).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(plain(ds.timestamps!)).toEqual([
      [1, 2],
      [1, 3],
    ]);
  });

  it('reads integer ids with columns chosen by name', async () => {
    const p = parquetFile('ids.parquet', [
      { name: 'visitor', data: Int32Array.of(10, 2, 10), type: 'INT32' },
      { name: 'sku', data: Int32Array.of(7, 7, 8), type: 'INT32' },
    ]);
    const ds = await readParquet(p, { columns: { user: 'visitor', item: 'sku' } });
    expect(ds.userIds).toEqual(['2', '10']);
    expect(plain(ds.sequences)).toEqual([[0], [0, 1]]);
  });

  it('errors: a missing column, a null id, a non-numeric rating, not a Parquet file', async () => {
    const p = parquetFile('nocol.parquet', [
      { name: 'user', data: ['a'], type: 'STRING' },
      { name: 'thing', data: ['b'], type: 'STRING' },
    ]);
    await expect(readParquet(p)).rejects.toThrow(`${p}: schema: expected the item column`);
    const n = parquetFile('null.parquet', [
      { name: 'user', data: ['a', null], type: 'STRING', nullable: true },
      { name: 'item', data: ['b', 'c'], type: 'STRING' },
    ]);
    await expect(readParquet(n)).rejects.toThrow(
      `${n}:row 2: expected a user id (string or integer), found null`,
    );
    const r = parquetFile('rating.parquet', [
      { name: 'user', data: ['a'], type: 'STRING' },
      { name: 'item', data: ['b'], type: 'STRING' },
      { name: 'rating', data: ['good'], type: 'STRING' },
    ]);
    await expect(readParquet(r)).rejects.toThrow(`${r}:row 1: expected a numeric rating, got "good"`);
    const t = tempFile('text.parquet', 'user,item\n1,2\n');
    await expect(readParquet(t)).rejects.toThrow(`${t}: not a readable Parquet file`);
  });
});

/** A 608-byte file with one corrupted byte on which hyparquet 1.33 never returns (see fuzz.test.ts). */
const HANG = fileURLToPath(new URL('./fixtures/hyparquet-hang.parquet', import.meta.url));
const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * The one-line error for HANG stopped at `s` seconds. Which stage it names depends on how far the
 * worker got in `s` (on a loaded machine a 0.25 s limit can end while the footer is still being
 * read), so `stage` is pinned only where the limit leaves room (2 s).
 */
const stoppedAt = (path: string, s: number, stage?: string) =>
  new RegExp(
    `^${literal(`${path}: could not be decoded within ${s} s (the limit for a Parquet file of 608 bytes; hyparquet was still `)}(${stage ? literal(stage) : 'reading the footer|decoding the row group of rows 1–1'})${literal('), so it is probably corrupted: re-export it, or check it with another Parquet reader (e.g. pyarrow or DuckDB); if it is sound, allow more time with CUTREC_PARQUET_TIME_LIMIT=<seconds>')}$`,
  );

describe('readParquet decodes in a worker thread under a time limit', () => {
  const env = process.env.CUTREC_PARQUET_TIME_LIMIT;
  afterEach(() => {
    if (env === undefined) delete process.env.CUTREC_PARQUET_TIME_LIMIT;
    else process.env.CUTREC_PARQUET_TIME_LIMIT = env;
  });

  const sound = () =>
    parquetFile(
      'sound.parquet',
      [
        { name: 'user', data: ['u1', 'u2', 'u1', 'u3'], type: 'STRING' },
        { name: 'item', data: Int32Array.of(5, 6, 7, 5), type: 'INT32' },
        { name: 'timestamp', data: [4n, 1n, 2n, 3n], type: 'INT64' },
      ],
      3,
    );
  const check = (ds: Awaited<ReturnType<typeof readParquet>>) => {
    expect(ds.userIds).toEqual(['u1', 'u2', 'u3']);
    expect(ds.itemIds).toEqual(['5', '6', '7']);
    expect(plain(ds.sequences)).toEqual([[2, 0], [1], [0]]);
    expect(plain(ds.timestamps!)).toEqual([[2, 4], [1], [3]]);
  };

  it('decodeTimeLimit stops a file hyparquet never finishes with one line, and the next read works', async () => {
    await expect(readParquet(HANG, { decodeTimeLimit: 2 })).rejects.toThrow(
      stoppedAt(HANG, 2, 'decoding the row group of rows 1–1'),
    );
    check(await readParquet(sound()));
    await expect(readInteractions(HANG, { decodeTimeLimit: 0.25 })).rejects.toThrow(stoppedAt(HANG, 0.25));
  });

  it('CUTREC_PARQUET_TIME_LIMIT sets the limit (the option wins); bad values name what is wrong', async () => {
    process.env.CUTREC_PARQUET_TIME_LIMIT = '0.5';
    await expect(readParquet(HANG)).rejects.toThrow(stoppedAt(HANG, 0.5));
    await expect(readParquet(HANG, { decodeTimeLimit: 0.25 })).rejects.toThrow(stoppedAt(HANG, 0.25));
    // The option wins the other way too: a sound file read with room to spare, so a loaded
    // machine's slow worker start-up cannot trip the environment's 0.5 s.
    check(await readParquet(sound(), { decodeTimeLimit: 60 }));
    process.env.CUTREC_PARQUET_TIME_LIMIT = 'soon';
    await expect(readParquet(HANG)).rejects.toThrow(
      'CUTREC_PARQUET_TIME_LIMIT must be a positive number of seconds, got "soon"',
    );
    delete process.env.CUTREC_PARQUET_TIME_LIMIT;
    for (const bad of [0, -1, Number.NaN]) {
      await expect(readParquet(HANG, { decodeTimeLimit: bad })).rejects.toThrow(
        `decodeTimeLimit must be a positive number of seconds, got ${bad}`,
      );
    }
  });

  it('reads many files at once (more than one worker per core), a stopped one among them', async () => {
    const n = 2 * availableParallelism() + 3;
    const paths = Array.from({ length: n }, sound);
    const reads = paths.map((p, k) =>
      k === 1
        ? readParquet(HANG, { decodeTimeLimit: 0.5 }).then(
            () => 'read',
            (e: Error) => e.message,
          )
        : readParquet(p),
    );
    const got = await Promise.all(reads);
    expect(got[1]).toMatch(stoppedAt(HANG, 0.5));
    for (const [k, ds] of got.entries()) if (k !== 1) check(ds as Awaited<ReturnType<typeof readParquet>>);
  });

  it('a missing file is the same ENOENT error as before (from the reader, not the worker)', async () => {
    const missing = `${sound()}.missing`;
    await expect(readParquet(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
