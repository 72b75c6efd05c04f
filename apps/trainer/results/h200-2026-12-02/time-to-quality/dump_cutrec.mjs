// Dumps what @cutrec/data (packages/data/dist) builds from Beauty.txt, for check_data.py to compare
// with sasrec_torch.py's numpy data pipeline: the dataset, the leave-one-out split, the training
// batches of epochs 0 and 1, the evaluation batches, and reference metrics (popularity, and a
// tie-heavy integer scorer) with seen items kept and removed.
// Usage: node dump_cutrec.mjs Beauty.txt OUT_DIR   (after `npm run build -w @cutrec/data`)
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  countTrainingBatches,
  evaluatePopularity,
  evaluateScorer,
  evaluationBatches,
  leaveOneOut,
  readInteractions,
  trainingBatches,
} from '@cutrec/data';
import { negatives } from '@cutrec/sampler';

const [path, out] = process.argv.slice(2);
const SCORER_USERS = 3000;
if (!path || !out) throw new Error('usage: node dump_cutrec.mjs Beauty.txt OUT_DIR');
mkdirSync(out, { recursive: true });
const i32 = (name, arrays) => {
  const n = arrays.reduce((s, a) => s + a.length, 0);
  const all = new Int32Array(n);
  let k = 0;
  for (const a of arrays) {
    all.set(a, k);
    k += a.length;
  }
  writeFileSync(`${out}/${name}.i32`, Buffer.from(all.buffer));
};

const ds = await readInteractions(path, { format: 'auto' }); // what `cutrec train --data` reads
const split = leaveOneOut(ds);
// apps/trainer/src/data.ts longestInput and setup.ts: maxLen 'auto' = min(50, longest input).
let longest = 1;
for (const s of split.train) if (s.length - 1 > longest) longest = s.length - 1;
const maxLen = Math.min(50, longest);
const C = ds.numItems;
const batchOpts = { batchSize: 256, maxLen, numItems: C, seed: 0 };
const meta = {
  numUsers: ds.numUsers,
  numItems: C,
  maxLen,
  stepsPerEpoch: countTrainingBatches(split.train, batchOpts),
  nValid: split.valid.length,
  nTest: split.test.length,
  firstItemIds: ds.itemIds.slice(0, 5),
  firstUserIds: ds.userIds.slice(0, 5),
};
i32('seq_lengths', [Int32Array.from(ds.sequences, (s) => s.length)]);
i32('seq_items', ds.sequences);
for (const epoch of [0, 1]) {
  const users = [];
  const inputs = [];
  const targets = [];
  const sizes = [];
  for (const b of trainingBatches(split.train, batchOpts, epoch)) {
    users.push(b.users);
    inputs.push(b.inputs);
    targets.push(b.targets);
    sizes.push(b.batchSize);
  }
  i32(`train_e${epoch}_users`, users);
  i32(`train_e${epoch}_inputs`, inputs);
  i32(`train_e${epoch}_targets`, targets);
  meta[`train_e${epoch}_sizes`] = sizes;
}
for (const name of ['valid', 'test']) {
  const ex = split[name];
  const inputs = [];
  const targets = [];
  const users = [];
  for (const b of evaluationBatches(ex, { batchSize: 512, maxLen, numItems: C })) {
    inputs.push(b.inputs);
    targets.push(b.targets);
    users.push(b.users);
  }
  i32(`${name}_inputs`, inputs);
  i32(`${name}_targets`, targets);
  i32(`${name}_users`, users);
  i32(`${name}_hist_lengths`, [Int32Array.from(ex, (e) => e.history.length)]);
  i32(`${name}_hist_items`, ex.map((e) => e.history));
  const ks = [1, 5, 10, 20];
  for (const removeSeen of [false, true]) {
    const tag = `${name}_${removeSeen ? 'removed' : 'kept'}`;
    meta[`popularity_${tag}`] = evaluatePopularity(split.train, ex, { ks, numItems: C, removeSeen });
  }
  // A scorer with exact (dyadic) values and many ties: score(u, c) = H[u] · W[c] + [c in u's
  // history] + 0.5 [c = u's target] in float64 (so that removing seen items matters), with
  // H[u, d] = v(u, d) and W[c, d] = v(c + 1000003, d), v(a, d) = ((hash(a, d) >>> 16) % 9 − 4) / 8,
  // hash(a, d) = (a · 0x9E3779B1 XOR (d + 1) · 0x85EBCA77) mod 2^32 (check_data rebuilds it in numpy).
  const D = 8;
  const U = Math.min(SCORER_USERS, ex.length);
  const v = (a, d) => (((((Math.imul(a, 0x9e3779b1) ^ Math.imul(d + 1, 0x85ebca77)) >>> 0) >>> 16) % 9) - 4) / 8;
  const H = new Float64Array(U * D);
  const W = new Float64Array(C * D);
  for (let u = 0; u < U; u++) for (let d = 0; d < D; d++) H[u * D + d] = v(u, d);
  for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) W[c * D + d] = v(c + 1000003, d);
  const row = new Float64Array(C);
  const exU = ex.slice(0, U);
  const index = new Map(exU.map((e, i) => [e, i]));
  const score = (e) => {
    const u = index.get(e);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += H[u * D + d] * W[c * D + d];
      row[c] = s;
    }
    for (const c of new Set(e.history)) row[c] += 1;
    row[e.target] += 0.5;
    return row;
  };
  for (const removeSeen of [false, true]) {
    const tag = `${name}_${removeSeen ? 'removed' : 'kept'}`;
    meta[`scorer_${tag}`] = evaluateScorer(exU, score, { ks, numItems: C, removeSeen });
  }
  meta.scorerUsers = U;
}
// The loss's uniform negatives (share 'row': group = flat row) of rows 0..699 at step 2.
i32('negatives_rows700_k1024_step2', [negatives({ kind: 'uniform', numItems: C, seed: 0, share: 'row' }, 700, 1024, 2)]);
writeFileSync(`${out}/meta.json`, JSON.stringify(meta, null, 1));
console.log(JSON.stringify({ ...meta, train_e0_sizes: meta.train_e0_sizes.length }, null, 0).slice(0, 600));
