import { describe, expect, it } from 'vitest';
import {
  detectDelimiter,
  readDelimited,
  readInteractions,
  splitDelimited,
  textSource,
} from '../src/index.js';
import { plain, tempFile } from './helpers.js';

describe('readDelimited (CSV/TSV)', () => {
  it('finds default column names in a header and sorts each user by timestamp (stable)', async () => {
    const p = tempFile(
      'log.csv',
      'user_id,item_id,rating,timestamp\nalice,x,5,30\nbob,y,3,10\nalice,y,4,10\nalice,z,1,30\nbob,x,2,5\n',
    );
    const ds = await readDelimited(p);
    expect(ds.userIds).toEqual(['alice', 'bob']);
    expect(ds.itemIds).toEqual(['x', 'y', 'z']);
    expect(plain(ds.sequences)).toEqual([
      [1, 0, 2], // y@10, then x@30 and z@30 in file order
      [0, 1],
    ]);
    expect(plain(ds.timestamps!)).toEqual([
      [10, 30, 30],
      [5, 10],
    ]);
  });

  it('keeps rows with rating ≥ ratingThreshold', async () => {
    const p = tempFile(
      'log.csv',
      'user,item,rating,timestamp\n1,a,5,1\n1,b,3,2\n1,c,4,3\n2,a,1,1\n2,d,4.5,2\n',
    );
    const ds = await readDelimited(p, { ratingThreshold: 4 });
    expect(ds.itemIds).toEqual(['a', 'c', 'd']);
    expect(plain(ds.sequences)).toEqual([[0, 1], [2]]);
  });

  it('takes columns by name or by index, any delimiter, quotes, and ISO timestamps', async () => {
    const byName = await readDelimited(
      textSource('ts;who;"what, exactly"\n2024-01-02T00:00:00Z;u1;"a;b"\n2024-01-01;u1;c\n', 'x.csv'),
      { columns: { user: 'who', item: 'what, exactly', timestamp: 'TS' } },
    );
    expect(byName.itemIds).toEqual(['a;b', 'c']);
    expect(plain(byName.sequences)).toEqual([[1, 0]]);
    expect(byName.timestamps![0]![0]).toBe(Date.UTC(2024, 0, 1) / 1000);
    const byIndex = await readDelimited(textSource('9|x|7\n8|y|6\n9|z|5\n', 'x.psv'), {
      columns: { user: 0, item: 1, timestamp: 2 },
    });
    expect(byIndex.userIds).toEqual(['8', '9']);
    expect(plain(byIndex.sequences)).toEqual([[1], [2, 0]]);
  });

  it('TSV through readInteractions', async () => {
    const p = tempFile('log.tsv', 'user\titem\n1\t10\n1\t11\n');
    const ds = await readInteractions(p, { format: 'tsv' });
    expect(plain(ds.sequences)).toEqual([[0, 1]]);
    expect((await readInteractions(p)).numItems).toBe(2);
  });

  it('errors name file and line: missing column in the header', async () => {
    const p = tempFile('nocol.csv', 'user,product\n1,2\n');
    await expect(readDelimited(p)).rejects.toThrow(`${p}:1: expected the item column`);
    await expect(readDelimited(p, { columns: { item: 'sku' } })).rejects.toThrow(
      `${p}:1: expected a column named "sku" (the item)`,
    );
  });

  it('errors name file and line: a short row, a non-numeric rating, a bad timestamp', async () => {
    const p1 = tempFile('short.csv', 'user,item,rating\n1,2,5\n3\n');
    await expect(readDelimited(p1)).rejects.toThrow(`${p1}:3: expected at least 3 fields, found 1`);
    const p2 = tempFile('rating.csv', 'user,item,rating\n1,2,five\n');
    await expect(readDelimited(p2)).rejects.toThrow(`${p2}:2: expected a numeric rating, got "five"`);
    const p3 = tempFile('ts.csv', 'user,item,timestamp\n1,2,3\n1,3,yesterday\n');
    await expect(readDelimited(p3)).rejects.toThrow(
      `${p3}:3: expected a numeric or ISO 8601 timestamp, got "yesterday"`,
    );
    const p4 = tempFile('empty-id.csv', 'user,item\n1,\n');
    await expect(readDelimited(p4)).rejects.toThrow(`${p4}:2: expected an item id`);
    const p5 = tempFile('quote.csv', 'user,item\n1,"abc\n');
    await expect(readDelimited(p5)).rejects.toThrow(`${p5}:2: unterminated quoted field`);
  });

  it('reads quoted fields that span lines (LF and CRLF), and names the right line after them', async () => {
    const text =
      'user,item,note,timestamp\r\n1,"a\r\nb",x,1\r\n2,"c, ""d""","two\nline\nnote",2\r\n\r\n"1",e,,3\r\n';
    for (const src of [tempFile('multi.csv', text), textSource(text, 'multi.csv')]) {
      const ds = await readDelimited(src);
      expect(ds.userIds).toEqual(['1', '2']);
      // From a LineSource, lines are rejoined with \n, so a CRLF inside quotes reads as LF.
      const ab = typeof src === 'string' ? 'a\r\nb' : 'a\nb';
      expect(ds.itemIds).toEqual([ab, 'c, "d"', 'e'].sort());
      expect(ds.sequences.map((q) => Array.from(q, (i) => ds.itemIds[i]))).toEqual([[ab, 'e'], ['c, "d"']]);
    }
    // The row after a 3-line record is line 6; an unclosed quote names the line it opens on.
    const bad = 'user,item,timestamp\n1,"a\nb\nc",1\n\n1,x,later\n';
    await expect(readDelimited(textSource(bad, 'b.csv'))).rejects.toThrow(
      'b.csv:6: expected a numeric or ISO 8601 timestamp, got "later"',
    );
    const open = 'user,item\n1,2\n\n3,"x\n4,5\n6,7\n';
    await expect(readDelimited(textSource(open, 'o.csv'))).rejects.toThrow(
      'o.csv:4: unterminated quoted field',
    );
  });

  it('streams a large file through the bounded queue: every row read, and a late error on its line', async () => {
    const rows = ['user,item,note', '0,"multi\r\nline",x'];
    for (let r = 1; r < 30_000; r++) rows.push(`${r % 997},${r % 101},"n, ${r}"`);
    const good = tempFile('big.csv', `${rows.join('\r\n')}\r\n`);
    const ds = await readDelimited(good);
    expect(ds.numUsers).toBe(997);
    expect(ds.sequences.reduce((a, q) => a + q.length, 0)).toBe(30_000);
    rows[25_000] = '5,'; // line 25,002: the header, and the two-line record above it
    const bad = tempFile('big-bad.csv', `${rows.join('\n')}\n`);
    await expect(readDelimited(bad)).rejects.toThrow(`${bad}:25002: expected an item id`);
  });

  it('errors: empty file, header only, threshold without a rating column', async () => {
    const p = tempFile('empty.csv', '');
    await expect(readDelimited(p)).rejects.toThrow(`${p}: no interactions`);
    const h = tempFile('header.csv', 'user,item\n');
    await expect(readDelimited(h)).rejects.toThrow(`${h}: no interactions`);
    await expect(readDelimited(h, { ratingThreshold: 4 })).rejects.toThrow(
      'ratingThreshold is set but there is no rating column',
    );
  });

  it('splitDelimited and detectDelimiter', () => {
    expect(splitDelimited('a,"b,""c""",d', ',')).toEqual(['a', 'b,"c"', 'd']);
    expect(splitDelimited('a::b::c', '::')).toEqual(['a', 'b', 'c']);
    expect(detectDelimiter('a\tb\tc,d')).toBe('\t');
    expect(detectDelimiter('abc')).toBe(',');
  });
});
