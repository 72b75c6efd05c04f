import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Batch, gbceBeta, type LossSpec, learningRate, SASRec, Trainer } from '../src/index.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

const C = 31;
const L = 6;

/** Sequences that follow item → (3·item + 1) mod C, left-padded by a varying amount. */
function tinyBatch(B: number): Batch {
  const inputs = new Int32Array(B * L).fill(C);
  const targets = new Int32Array(B * L).fill(-1);
  for (let b = 0; b < B; b++) {
    let item = (b * 7) % C;
    for (let t = b % 3; t < L; t++) {
      inputs[b * L + t] = item;
      item = (3 * item + 1) % C;
      targets[b * L + t] = item;
    }
  }
  return { inputs, targets };
}

const losses: [string, LossSpec][] = [
  ['ce', { kind: 'ce', impl: 'tfjs' }],
  ['cce- row', { kind: 'cce-', negatives: 5, impl: 'tfjs' }],
  ['cce- block', { kind: 'cce-', negatives: 5, share: 'block', blockRows: 4, impl: 'tfjs' }],
  ['bce', { kind: 'bce' }],
  ['bce K=4', { kind: 'bce', negatives: 4 }],
  ['gbce', { kind: 'gbce', negatives: 4, t: 0.75 }],
];

describe('Trainer.trainStep', () => {
  for (const [name, loss] of losses) {
    it(`${name}: runs and decreases the loss on a tiny problem`, () => {
      const model = new SASRec({ numItems: C, maxLen: L, hidden: 16, numBlocks: 1, dropout: 0, seed: 1 });
      const trainer = new Trainer(model, { loss, optimizer: { lr: 1e-2 } });
      const batch = tinyBatch(12);
      const before = tf.memory().numTensors;
      const values: number[] = [];
      for (let i = 0; i < 40; i++) values.push(trainer.trainStep(batch));
      expect(trainer.step).toBe(40);
      expect(tf.memory().numTensors).toBe(before);
      const first = values.slice(0, 5).reduce((a, b) => a + b) / 5;
      const last = values.slice(-5).reduce((a, b) => a + b) / 5;
      expect(values.every(Number.isFinite)).toBe(true);
      expect(last).toBeLessThan(0.5 * first);
      trainer.dispose();
      model.dispose();
    });
  }

  it('bad batches fail naming the argument', () => {
    const model = new SASRec({ numItems: C, maxLen: L, hidden: 8, numBlocks: 1 });
    const trainer = new Trainer(model, { loss: { kind: 'bce' } });
    const b = tinyBatch(2);
    expect(() => trainer.trainStep({ inputs: b.inputs.slice(1), targets: b.targets })).toThrow(/maxLen/);
    const bad = b.targets.slice();
    bad[L - 1] = C;
    expect(() => trainer.trainStep({ inputs: b.inputs, targets: bad })).toThrow(/batch\.targets\[5\]/);
    const badIn = b.inputs.slice();
    badIn[0] = -3;
    expect(() => trainer.trainStep({ inputs: badIn, targets: b.targets })).toThrow(/batch\.inputs\[0\]/);
    expect(() => new Trainer(model, { loss: { kind: 'gbce', negatives: 2, t: 2 } })).toThrow(/loss\.t/);
    expect(() => new Trainer(model, { loss: { kind: 'nope' } as unknown as LossSpec })).toThrow(/loss\.kind/);
    trainer.dispose();
    model.dispose();
  });
});

describe('gBCE β', () => {
  it('is 1 at t = 0 and α = K/(C−1) at t = 1 (Petrov & Macdonald 2023)', () => {
    expect(gbceBeta(256, 12102, 0)).toBeCloseTo(1, 12);
    expect(gbceBeta(256, 12102, 1)).toBeCloseTo(256 / 12101, 12);
    // Between the ends β is linear in t (test/reference.test.ts); the loss it weights is compared
    // with the float64 reference there.
    expect(gbceBeta(4, 31, 0.5)).toBeCloseTo((1 + 4 / 30) / 2, 12);
  });
});

describe('learning-rate schedules', () => {
  it('constant, warmup + cosine, warmup + linear', () => {
    expect(learningRate(0.1, { kind: 'constant' }, 1000)).toBe(0.1);
    const cos = { kind: 'cosine' as const, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 };
    expect(learningRate(0.1, cos, 0)).toBeCloseTo(0.01, 12);
    expect(learningRate(0.1, cos, 9)).toBeCloseTo(0.1, 12);
    expect(learningRate(0.1, cos, 60)).toBeCloseTo(0.01 + 0.09 * 0.5, 12);
    expect(learningRate(0.1, cos, 110)).toBeCloseTo(0.01, 12);
    expect(learningRate(0.1, cos, 500)).toBeCloseTo(0.01, 12);
    const lin = { kind: 'linear' as const, totalSteps: 100 };
    expect(learningRate(0.1, lin, 25)).toBeCloseTo(0.075, 12);
  });
});
