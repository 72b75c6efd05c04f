import { describe, expect, it } from 'vitest';
import { datasetFromSequences, filterMinCount } from '../src/index.js';
import { plain } from './helpers.js';

describe('filterMinCount', () => {
  // items: 0 ×4, 1 ×3, 2 ×1, 3 ×2
  const ds = datasetFromSequences(
    [
      [0, 1, 2],
      [0, 1, 3],
      [0, 3],
      [0, 1],
    ],
    {
      itemIds: ['a', 'b', 'c', 'd'],
      userIds: ['u', 'v', 'w', 'x'],
      timestamps: [
        [1, 2, 3],
        [1, 2, 3],
        [1, 2],
        [1, 2],
      ],
    },
  );

  it('drops rare items and renumbers, keeping original ids and timestamps aligned', () => {
    const f = filterMinCount(ds, { minItemCount: 2 });
    expect(f.itemIds).toEqual(['a', 'b', 'd']);
    expect(plain(f.sequences)).toEqual([
      [0, 1],
      [0, 1, 2],
      [0, 2],
      [0, 1],
    ]);
    expect(plain(f.timestamps!)).toEqual([
      [1, 2],
      [1, 2, 3],
      [1, 2],
      [1, 2],
    ]);
    expect(f.itemIndex('d')).toBe(2);
  });

  it('iterates to the k-core', () => {
    // min 3 per user and per item: users w, x (2 items) go; then item d (1 left) and b... to a fixed point
    const once = filterMinCount(ds, { minUserCount: 3, minItemCount: 2, iterate: false });
    const core = filterMinCount(ds, { minUserCount: 3, minItemCount: 2 });
    expect(once.userIds).toEqual(['u', 'v']);
    expect(plain(once.sequences)).toEqual([
      [0, 1],
      [0, 1],
    ]); // items c, d dropped after users w, x
    expect(core.numUsers).toBe(0); // u and v now have 2 items < 3 → nothing survives
    expect(core.numItems).toBe(0);
  });

  it('is the identity with no minimum', () => {
    const f = filterMinCount(ds, {});
    expect(plain(f.sequences)).toEqual(plain(ds.sequences));
    expect(() => filterMinCount(ds, { minUserCount: -1 })).toThrow('minUserCount must be an integer ≥ 0');
  });
});
