import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { datasetStats, evaluatePopularity, leaveOneOut, readInteractions } from '../src/index.js';

// /work/shared/data: ../shared/data relative to the repository root (packages/data/test → ../../../..).
const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data');
const present = existsSync(DATA);
if (!present) {
  if (process.env.CI === 'true')
    throw new Error(`real datasets are missing: ${DATA} does not exist (required under CI=true)`);
  console.warn(`skipping real-data tests: ${DATA} is missing (put Beauty.txt and ml-100k.u.data there)`);
}

describe.skipIf(!present)('real datasets in ../shared/data', () => {
  it('Beauty.txt: 22,363 users, 12,101 items, 198,502 interactions; leave-one-out covers every user', async () => {
    const ds = await readInteractions(join(DATA, 'Beauty.txt'), { format: 'sasrec' });
    const st = datasetStats(ds);
    expect([st.numUsers, st.numItems, st.numInteractions]).toEqual([22363, 12101, 198502]);
    expect(ds.itemIndex('1')).toBe(0); // 1-based ids keep their order
    expect(Array.from(ds.sequences[0]!)).toEqual([0, 1, 2, 3, 4]); // "1 1 2 3 4 5"
    const split = leaveOneOut(ds);
    expect(split.test).toHaveLength(22363);
    const pop = evaluatePopularity(split.train, split.test, { ks: [10], numItems: ds.numItems });
    console.log(
      `Beauty popularity baseline (test, full ranking): NDCG@10 ${pop['ndcg@10']!.toFixed(4)}, HR@10 ${pop['hr@10']!.toFixed(4)}`,
    );
    expect(pop['hr@10']).toBeGreaterThan(0);
  });

  it('ml-100k.u.data: 943 users, 1,682 items, 100,000 ratings, time-ordered', async () => {
    const ds = await readInteractions(join(DATA, 'ml-100k.u.data'), { format: 'movielens' });
    const st = datasetStats(ds);
    expect([st.numUsers, st.numItems, st.numInteractions]).toEqual([943, 1682, 100000]);
    for (const ts of ds.timestamps!)
      for (let k = 1; k < ts.length; k++) expect(ts[k]! >= ts[k - 1]!).toBe(true);
  });
});
