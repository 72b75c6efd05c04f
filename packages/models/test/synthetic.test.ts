import { syntheticDataset, trainingBatches } from '@cutrec/data';
import { setupTfjs } from '@cutrec/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateModel, SASRec, Trainer } from '../src/index.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

// The target: on the synthetic default (2000 users, 200 items, one planted chain with 2
// successors per item, noise 0.05), SASRec trained with CCE- (tfjs implementation, CPU backend)
// reaches at least 90% of the planted best test NDCG@10. One epoch of 63 small steps (B 32, L 18,
// D 32, one block) is enough: about 20 s on one loaded core of this 2-core machine. Everything is
// seeded (data, initialisation, batch order, negatives), so the result is the same on every run.
describe('SASRec + CCE- on the synthetic default', () => {
  it('reaches 90% of the planted best NDCG@10 on the CPU', async () => {
    const synth = syntheticDataset();
    const C = synth.dataset.numItems;
    const L = 18; // sequences have 10–20 items, so ≤ 18 training items per user
    const B = 32;
    const epochs = 1;
    const model = new SASRec({
      numItems: C,
      maxLen: L,
      hidden: 32,
      numBlocks: 1,
      numHeads: 1,
      dropout: 0,
      seed: 1,
    });
    const stepsPerEpoch = Math.ceil(synth.split.train.length / B);
    const trainer = new Trainer(model, {
      loss: { kind: 'cce-', negatives: 64, share: 'block', blockRows: 64, impl: 'tfjs' },
      optimizer: {
        lr: 3e-2,
        schedule: { kind: 'cosine', warmupSteps: 5, totalSteps: epochs * stepsPerEpoch },
      },
    });
    for (let e = 0; e < epochs; e++) {
      for (const b of trainingBatches(
        synth.split.train,
        { batchSize: B, maxLen: L, numItems: C, seed: 3 },
        e,
      )) {
        trainer.trainStep(b);
      }
    }
    const m = await evaluateModel(model, synth.split.test, { ks: [10] });
    const ratio = m['ndcg@10']! / synth.best.ndcg10;
    console.log(
      `[models] synthetic: NDCG@10 ${m['ndcg@10']!.toFixed(4)} (planted best ${synth.best.ndcg10.toFixed(4)}, ` +
        `ratio ${ratio.toFixed(3)}; popularity ${synth.popularity.ndcg10.toFixed(4)}) after ${trainer.step} steps`,
    );
    expect(ratio).toBeGreaterThanOrEqual(0.9);
    expect(m['ndcg@10']!).toBeGreaterThan(5 * synth.popularity.ndcg10);
    trainer.dispose();
    model.dispose();
  });
});
