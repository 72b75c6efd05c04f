/**
 * One training step that works on every tfjs backend. @cutrec/models' `Trainer.trainStep` reads
 * the loss with `dataSync()`, which tfjs's WebGPU backend cannot do in Node (it needs an
 * OffscreenCanvas); this does the same computation — the same forward pass, loss, gradients and
 * AdamW update, with the same streams — and reads the loss asynchronously.
 */
import { type Batch, checkInputIds, computeLoss, type Trainer } from '@cutrec/models';
import * as tf from '@tensorflow/tfjs';

/** One optimisation step of `trainer` on `batch`; resolves to the batch's mean loss before the update. */
export async function trainStep(trainer: Trainer, batch: Batch): Promise<number> {
  if (tf.getBackend() === 'cpu') return trainer.trainStep(batch);
  const { maxLen: L, numItems: C, hidden: D } = trainer.model.config;
  const { inputs, targets } = batch;
  if (inputs.length === 0 || inputs.length % L !== 0 || targets.length !== inputs.length) {
    throw new RangeError(
      `trainStep: batch of ${inputs.length} inputs / ${targets.length} targets does not fit maxLen ${L}`,
    );
  }
  checkInputIds(inputs, C, 'batch.inputs');
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (t !== trainer.ignoreIndex && (t < 0 || t >= C)) {
      throw new RangeError(
        `batch.targets[${i}] = ${t} is neither an item in [0, ${C - 1}] nor ignoreIndex ${trainer.ignoreIndex}`,
      );
    }
  }
  const B = inputs.length / L;
  const step = trainer.step;
  const model = trainer.model;
  const vars = model.parameters.map((p) => p.variable);
  const nameOf = new Map(model.parameters.map((p) => [p.variable.name, p.name]));
  const inputT = tf.tensor2d(inputs, [B, L], 'int32');
  const targetT = tf.tensor1d(targets, 'int32');
  try {
    const { value, grads } = tf.variableGrads(() => {
      const h = model.forward(inputT, { training: true, stream: step });
      return computeLoss(tf.reshape(h, [B * L, D]), model.itemEmbeddings(), targetT, trainer.loss, {
        seed: trainer.seed,
        step,
        ignoreIndex: trainer.ignoreIndex,
        hostTargets: targets,
      });
    }, vars);
    const byName: Record<string, tf.Tensor> = {};
    for (const [varName, g] of Object.entries(grads)) byName[nameOf.get(varName)!] = g;
    let loss: number;
    try {
      loss = (await value.data())[0]!;
    } catch (err) {
      tf.dispose([value, ...Object.values(grads)]);
      throw err;
    }
    if (!Number.isFinite(loss)) {
      tf.dispose([value, ...Object.values(grads)]);
      throw new Error(
        `the loss at step ${step} is ${loss}; lower the learning rate (--lr) or check the inputs`,
      );
    }
    trainer.optimizer.apply(byName);
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  } finally {
    inputT.dispose();
    targetT.dispose();
  }
}
