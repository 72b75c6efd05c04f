import { describe, expect, it } from 'vitest';
import { readInteractions, readSequenceText, textSource } from '../src/index.js';
import { plain, tempFile } from './helpers.js';

describe('readSequenceText (SASRec / ICLRec text)', () => {
  it('reads `user item item ...` lines, remapping 1-based ids to dense ids in numeric order', async () => {
    const p = tempFile('seq.txt', '1 1 2 3\n2 10 2\n\n10 3 1\n');
    const ds = await readSequenceText(p);
    expect(ds.numUsers).toBe(3);
    expect(ds.numItems).toBe(4);
    expect(ds.userIds).toEqual(['1', '2', '10']);
    expect(ds.itemIds).toEqual(['1', '2', '3', '10']);
    expect(plain(ds.sequences)).toEqual([
      [0, 1, 2],
      [3, 1],
      [2, 0],
    ]);
    expect(ds.itemIndex('10')).toBe(3);
    expect(ds.itemIndex(2)).toBe(1);
    expect(ds.itemIndex('nope')).toBeUndefined();
    expect(ds.userIndex('10')).toBe(2);
    expect(ds.timestamps).toBeUndefined();
  });

  it('reads `user item` pairs (the original SASRec layout) the same way, keeping file order', async () => {
    const text = '11 2\n12 1\n11 1\r\n11 3\n';
    const auto = await readSequenceText(textSource(text, 'pairs.txt'));
    const pairs = await readSequenceText(textSource(text, 'pairs.txt'), { layout: 'pairs' });
    expect(plain(auto.sequences)).toEqual([[1, 0, 2], [0]]);
    expect(plain(pairs.sequences)).toEqual(plain(auto.sequences));
    expect(auto.itemIds).toEqual(['1', '2', '3']);
  });

  it("idOrder 'appearance' numbers ids by first appearance", async () => {
    const ds = await readSequenceText(textSource('7 30 20\n5 20 10\n'), { idOrder: 'appearance' });
    expect(ds.userIds).toEqual(['7', '5']);
    expect(ds.itemIds).toEqual(['30', '20', '10']);
    expect(plain(ds.sequences)).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });

  it('names file and line for a line with a user and no item', async () => {
    const p = tempFile('bad.txt', '1 1 2\n2\n');
    await expect(readSequenceText(p)).rejects.toThrow(`${p}:2: expected a user id followed by item ids`);
  });

  it('rejects a non-numeric user or item id, naming file, line and field', async () => {
    const lines = Array.from({ length: 999 }, (_, k) => `${k + 1} 1 2 3`);
    const p = tempFile('Beauty.txt', `${lines.join('\n')}\n1000 5 abc 7\n1001 1 2\n`);
    await expect(readSequenceText(p)).rejects.toThrow(
      `${p}:1000: expected a numeric item id (a non-negative integer) in field 3, got "abc"`,
    );
    for (const format of ['sasrec', 'iclrec'] as const) {
      await expect(readInteractions(p, { format })).rejects.toThrow(`${p}:1000: expected a numeric item id`);
    }
    await expect(readSequenceText(textSource('1 2\nu3 4\n', 'x.txt'))).rejects.toThrow(
      'x.txt:2: expected a numeric user id (a non-negative integer) in field 1, got "u3"',
    );
    for (const bad of ['-1', '1.5', '1e3', '0x10', '２']) {
      await expect(readSequenceText(textSource(`1 ${bad}\n`, 'y.txt'))).rejects.toThrow(
        'y.txt:1: expected a numeric item id',
      );
    }
  });

  it("names file and line when 'pairs' meets a longer line", async () => {
    await expect(readSequenceText(textSource('1 2\n1 2 3\n', 'x.txt'), { layout: 'pairs' })).rejects.toThrow(
      "x.txt:2: expected exactly 'user item' (2 fields), got 3 fields",
    );
  });

  it('rejects an empty file, naming it', async () => {
    const p = tempFile('empty.txt', '\n\n');
    await expect(readSequenceText(p)).rejects.toThrow(`${p}: no interactions`);
  });

  it('rejects a missing file with the path', async () => {
    await expect(readSequenceText('/nonexistent/file.txt')).rejects.toThrow('/nonexistent/file.txt');
  });

  it('readInteractions picks the text reader for sasrec, iclrec and .txt', async () => {
    const p = tempFile('a.txt', '1 5 6\n');
    for (const format of ['sasrec', 'iclrec', 'auto'] as const) {
      const ds = await readInteractions(p, { format });
      expect(plain(ds.sequences)).toEqual([[0, 1]]);
    }
    await expect(readInteractions(p, { format: 'xml' as never })).rejects.toThrow('format must be one of');
  });
});
