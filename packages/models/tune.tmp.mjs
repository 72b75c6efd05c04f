import { syntheticDataset, trainingBatches } from '@cutrec/data';
import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { evaluateModel, SASRec, Trainer } from './dist/index.js';

await setupTfjs({ backend: 'cpu' });
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a) => a.split('='))
    .map(([k, v]) => [k, Number.isNaN(Number(v)) ? v : Number(v)]),
);
const {
  hidden = 32,
  blocks = 1,
  epochs = 6,
  lr = 3e-3,
  K = 64,
  B = 128,
  L = 24,
  dropout = 0.1,
  heads = 1,
  share = 'row',
} = args;
const t0 = performance.now();
const synth = syntheticDataset();
console.log('best', synth.best, 'pop', synth.popularity, 'gen ms', (performance.now() - t0).toFixed(0));
const C = synth.dataset.numItems;
const model = new SASRec({
  numItems: C,
  maxLen: L,
  hidden,
  numBlocks: blocks,
  numHeads: heads,
  dropout,
  seed: 1,
});
const steps = epochs * Math.ceil(synth.split.train.length / B);
const trainer = new Trainer(model, {
  loss: { kind: 'cce-', negatives: K, share, blockRows: 64, impl: 'tfjs' },
  optimizer: { lr, schedule: { kind: 'cosine', warmupSteps: 5, totalSteps: steps } },
});
for (let e = 0; e < epochs; e++) {
  let sum = 0,
    n = 0;
  for (const b of trainingBatches(synth.split.train, { batchSize: B, maxLen: L, numItems: C, seed: 3 }, e)) {
    sum += trainer.trainStep(b);
    n++;
  }
  const m = await evaluateModel(model, synth.split.test, { ks: [10] });
  console.log(
    `epoch ${e} loss ${(sum / n).toFixed(3)} ndcg ${m['ndcg@10'].toFixed(4)} ratio ${(m['ndcg@10'] / synth.best.ndcg10).toFixed(3)} t ${((performance.now() - t0) / 1000).toFixed(1)}s`,
  );
}
