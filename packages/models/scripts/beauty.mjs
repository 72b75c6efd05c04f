#!/usr/bin/env node
// Trains SASRec on a SASRec-format text file (default: ../shared/data/Beauty.txt from the repo
// root) with a chosen loss, leave-one-out, full-catalog ranking; early-stops on validation
// NDCG@10 and prints test NDCG@10 / HR@10 of the best epoch. Uses the built dist (`npx tsup` first).
//
//   node packages/models/scripts/beauty.mjs --loss cce- --negatives 256 --share row --backend webgpu
//   node packages/models/scripts/beauty.mjs --loss ce --backend webgpu
//   node packages/models/scripts/beauty.mjs --loss bce --backend webgpu
//   node packages/models/scripts/beauty.mjs --loss cce- --share block --block-rows 64 --backend webgpu
//
// Smoke test on a CPU: add --max-steps 20 --eval-users 500 --epochs 1.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { leaveOneOut, readInteractions, trainingBatches } from '@cutrec/data';
import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { evaluateModel, SASRec, Trainer } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(here, '../../../../shared/data/Beauty.txt') },
    loss: { type: 'string', default: 'cce-' },
    negatives: { type: 'string' },
    share: { type: 'string', default: 'row' },
    'block-rows': { type: 'string', default: '64' },
    t: { type: 'string', default: '0.75' },
    impl: { type: 'string', default: 'auto' },
    backend: { type: 'string', default: 'auto' },
    epochs: { type: 'string', default: '200' },
    patience: { type: 'string', default: '10' },
    'eval-every': { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '128' },
    'max-len': { type: 'string', default: '50' },
    hidden: { type: 'string', default: '64' },
    blocks: { type: 'string', default: '1' },
    heads: { type: 'string', default: '1' },
    dropout: { type: 'string', default: '0.2' },
    lr: { type: 'string', default: '1e-3' },
    'weight-decay': { type: 'string', default: '0' },
    seed: { type: 'string', default: '0' },
    'remove-seen': { type: 'boolean', default: false },
    'max-steps': { type: 'string' },
    minutes: { type: 'string' },
    'eval-users': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const num = (k) => Number(a[k]);
const K = a.negatives !== undefined ? num('negatives') : a.loss === 'bce' ? 1 : 256;
if (!existsSync(a.data)) {
  console.error(`beauty.mjs: ${a.data} not found (pass --data PATH)`);
  process.exit(2);
}

const setup = await setupTfjs({ backend: a.backend });
const ds = await readInteractions(a.data, { format: 'sasrec' });
const split = leaveOneOut(ds);
const C = ds.numItems;
const L = num('max-len');
const B = num('batch-size');
const evalUsers = a['eval-users'] ? num('eval-users') : undefined;
const valid = evalUsers ? split.valid.slice(0, evalUsers) : split.valid;
const test = evalUsers ? split.test.slice(0, evalUsers) : split.test;
const loss =
  a.loss === 'ce'
    ? { kind: 'ce', impl: a.impl }
    : a.loss === 'cce-'
      ? { kind: 'cce-', negatives: K, share: a.share, blockRows: num('block-rows'), impl: a.impl }
      : a.loss === 'bce'
        ? { kind: 'bce', negatives: K }
        : a.loss === 'gbce'
          ? { kind: 'gbce', negatives: K, t: num('t') }
          : undefined;
if (!loss) {
  console.error(`beauty.mjs: --loss must be ce, cce-, bce or gbce, got ${a.loss}`);
  process.exit(2);
}
const model = new SASRec({
  numItems: C,
  maxLen: L,
  hidden: num('hidden'),
  numBlocks: num('blocks'),
  numHeads: num('heads'),
  dropout: num('dropout'),
  seed: num('seed'),
});
const trainer = new Trainer(model, {
  loss,
  optimizer: { lr: num('lr'), betas: [0.9, 0.98], weightDecay: num('weight-decay') },
});
const log = (o) =>
  console.log(
    a.json
      ? JSON.stringify(o)
      : Object.entries(o)
          .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(5) : v}`)
          .join(' '),
  );
log({
  event: 'start',
  backend: setup.backend,
  users: ds.numUsers,
  items: C,
  loss: JSON.stringify(loss),
  params: model.numParameters,
});

const evalOpts = { ks: [10, 20], removeSeen: a['remove-seen'], batchSize: 512 };
let best = { ndcg: -1, epoch: -1, weights: undefined };
let bad = 0;
const maxSteps = a['max-steps'] ? num('max-steps') : Number.POSITIVE_INFINITY;
const t0 = performance.now();
// --minutes M: a wall-clock budget for training; the epoch that crosses it is the last one
// (evaluated on validation), then the best epoch is evaluated on test.
const deadline = a.minutes ? t0 + num('minutes') * 60_000 : Number.POSITIVE_INFINITY;
for (let epoch = 0; epoch < num('epochs') && trainer.step < maxSteps; epoch++) {
  const te = performance.now();
  let sum = 0;
  let n = 0;
  for (const b of trainingBatches(
    split.train,
    { batchSize: B, maxLen: L, numItems: C, seed: num('seed') },
    epoch,
  )) {
    sum += await trainer.trainStepAsync(b);
    n++;
    if (trainer.step >= maxSteps || performance.now() >= deadline) break;
  }
  const trainS = (performance.now() - te) / 1000;
  const last = epoch + 1 === num('epochs') || trainer.step >= maxSteps || performance.now() >= deadline;
  if ((epoch + 1) % num('eval-every') !== 0 && !last) {
    log({ event: 'epoch', epoch, loss: sum / n, train_s: trainS });
    continue;
  }
  const v = await evaluateModel(model, valid, evalOpts);
  log({
    event: 'epoch',
    epoch,
    loss: sum / n,
    train_s: trainS,
    'valid_ndcg@10': v['ndcg@10'],
    'valid_hr@10': v['hr@10'],
  });
  if (v['ndcg@10'] > best.ndcg) {
    for (const w of best.weights ?? []) w.dispose();
    best = { ndcg: v['ndcg@10'], epoch, weights: model.parameters.map((p) => tf.clone(p.variable)) };
    bad = 0;
  } else if (++bad >= num('patience')) {
    break;
  }
  if (last) break;
}
for (const [i, p] of model.parameters.entries()) p.variable.assign(best.weights[i]);
const r = await evaluateModel(model, test, evalOpts);
log({
  event: 'test',
  best_epoch: best.epoch,
  'ndcg@10': r['ndcg@10'],
  'hr@10': r['hr@10'],
  'ndcg@20': r['ndcg@20'],
  'hr@20': r['hr@20'],
  steps: trainer.step,
  total_s: (performance.now() - t0) / 1000,
});
