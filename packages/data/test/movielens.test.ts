import { describe, expect, it } from 'vitest';
import { readInteractions, readMovieLens } from '../src/index.js';
import { plain, tempFile } from './helpers.js';

describe('readMovieLens', () => {
  it('reads ratings.dat (::) ordered by timestamp', async () => {
    const p = tempFile(
      'ratings.dat',
      '1::1193::5::978300760\n1::661::3::978302109\n1::914::3::978301968\n2::1357::5::978298709\n',
    );
    const ds = await readInteractions(p);
    expect(ds.userIds).toEqual(['1', '2']);
    expect(ds.itemIds).toEqual(['661', '914', '1193', '1357']);
    expect(plain(ds.sequences)).toEqual([[2, 1, 0], [3]]);
  });

  it('reads u.data (tabs) with a rating threshold', async () => {
    const p = tempFile(
      'u.data',
      '196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n186\t51\t4\t884182806\n',
    );
    const all = await readMovieLens(p);
    expect(all.numUsers).toBe(2);
    expect(all.numItems).toBe(4);
    const liked = await readMovieLens(p, { ratingThreshold: 3 });
    expect(liked.itemIds).toEqual(['51', '242', '302']);
    expect(plain(liked.sequences)).toEqual([[0, 2], [1]]); // user 186: 51 (884…) before 302 (891…)
  });

  it('errors name file and line: wrong field count, non-numeric rating or timestamp, empty file', async () => {
    const p1 = tempFile('bad.dat', '1::2::5::100\n1::3::5\n');
    await expect(readMovieLens(p1)).rejects.toThrow(
      `${p1}:2: expected 4 fields (user, item, rating, timestamp), found 3`,
    );
    const p2 = tempFile('bad2.data', '1\t2\tx\t100\n');
    await expect(readMovieLens(p2)).rejects.toThrow(`${p2}:1: expected a numeric rating, got "x"`);
    const p3 = tempFile('bad3.data', '1\t2\t4\tsoon\n');
    await expect(readMovieLens(p3)).rejects.toThrow(`${p3}:1: expected a numeric or ISO 8601 timestamp`);
    const p4 = tempFile('empty.dat', '');
    await expect(readMovieLens(p4)).rejects.toThrow(`${p4}: no interactions`);
  });
});
