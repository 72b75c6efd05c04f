import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
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
