// Reference numbers of cutrec's own SASRec (tfjs engine, CPU) for sasrec_torch.py --self-test and
// --check-data: the initial parameters of the default model (seed 0), the last hidden state and
// ranking metrics of that untrained model on validation users, and the first three training
// losses with dropout 0 (so that only the initial weights, the Philox negatives, the loss and AdamW
// decide them). Usage: node dump_cutrec_model.mjs Beauty.txt OUT_DIR (packages/*/dist built).
import { mkdirSync, writeFileSync } from 'node:fs';
import { leaveOneOut, readInteractions, trainingBatches } from '@cutrec/data';
import { evaluateModel, initialValues, parameterSpecs, SASRec, Trainer } from '@cutrec/models';
import * as tf from '@tensorflow/tfjs';

const [path, out] = process.argv.slice(2);
if (!path || !out) throw new Error('usage: node dump_cutrec_model.mjs Beauty.txt OUT_DIR');
mkdirSync(out, { recursive: true });
await tf.setBackend('cpu');
const ds = await readInteractions(path, { format: 'auto' });
const split = leaveOneOut(ds);
const C = ds.numItems;
const L = 50;
// apps/trainer/src/train/model.ts sasrecConfig of the default config
const cfg = { numItems: C, maxLen: L, hidden: 64, numBlocks: 2, numHeads: 2, activation: 'relu', dropout: 0.5, norm: 'pre', seed: 0 };
const model = new SASRec(cfg);
const ref = { params: {} };
const specs = parameterSpecs(model.config);
specs.forEach((spec, i) => {
  const v = initialValues(spec, i, 0);
  let s = 0;
  let s2 = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
  }
  ref.params[spec.name] = { index: i, shape: spec.shape, first: Array.from(v.subarray(0, 6)), sum: s, sumsq: s2 };
});
const U = 2000;
const ex = split.valid.slice(0, U);
const hx = new Int32Array(4 * L).fill(C);
for (let b = 0; b < 4; b++) {
  const h = ex[b].history.slice(-L);
  hx.set(h, b * L + L - h.length);
}
ref.lastHidden4 = Array.from(model.lastHidden(tf.tensor2d(hx, [4, L], 'int32')).dataSync());
const ks = [10, 1000, C];
ref.validInitUsers = U;
ref.validInitKept = await evaluateModel(model, ex, { ks, removeSeen: false });
ref.validInitRemoved = await evaluateModel(model, ex, { ks, removeSeen: true });
model.dispose();
const loss = { kind: 'cce-', negatives: 1024, share: 'row', blockRows: 64, sampler: 'uniform', logQ: true, removeAccidentalHits: true, impl: 'auto' };
const optimizer = { lr: 2e-3, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0, clipNorm: 0, schedule: { kind: 'constant', warmupSteps: 0 } };
const trainer = new Trainer(new SASRec({ ...cfg, dropout: 0 }), { loss, optimizer, seed: 0 });
const batch = trainingBatches(split.train, { batchSize: 256, maxLen: L, numItems: C, seed: 0 }, 0).next().value;
ref.batch0Users = Array.from(batch.users);
ref.lossesDropout0 = [];
for (let s = 0; s < 3; s++) ref.lossesDropout0.push(trainer.trainStep(batch));
writeFileSync(`${out}/model_ref.json`, JSON.stringify(ref));
console.log(JSON.stringify({ ...ref, params: Object.keys(ref.params).length, batch0Users: ref.batch0Users.slice(0, 5), lastHidden4: ref.lastHidden4.slice(0, 3) }));
