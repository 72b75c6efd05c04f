/** The training step: SASRec forward, any loss, gradients, AdamW; a step counter that streams negatives and dropout. */
import * as tf from '@tensorflow/tfjs';
import { computeLoss } from './losses/loss.js';
import { checkLossSpec, type LossSpec } from './losses/types.js';
import { AdamW, type AdamWConfig } from './optim/adamw.js';
import { checkInputIds, type SASRec } from './sasrec.js';

/** A training batch, row-major [B, L] (what @cutrec/data's `trainingBatches` yields). */
export interface Batch {
  /** [B·L] item ids in [0, C]; C = padding (left-padded rows). */
  inputs: Int32Array;
  /** [B·L] next items in [0, C), or `ignoreIndex` (−1) where there is none. */
  targets: Int32Array;
}

/** Options of a {@link Trainer}. */
export interface TrainerOptions {
  /** The loss (see {@link LossSpec}). */
  loss: LossSpec;
  /** AdamW settings. */
  optimizer?: AdamWConfig;
  /** Seed of the negatives; default the model's seed. */
  seed?: number;
  /** Target value of padding positions. Default -1. */
  ignoreIndex?: number;
  /** Check every input and target id on the host before a step. Default true. */
  checkIds?: boolean;
}

/** Trains a SASRec with one loss and AdamW; `step` counts completed steps (and is the negatives' and dropout's stream). */
export class Trainer {
  readonly model: SASRec;
  readonly optimizer: AdamW;
  readonly loss: LossSpec;
  readonly seed: number;
  readonly ignoreIndex: number;
  private readonly checkIds: boolean;

  constructor(model: SASRec, options: TrainerOptions) {
    checkLossSpec(options.loss);
    this.model = model;
    this.loss = options.loss;
    this.seed = options.seed ?? model.config.seed;
    this.ignoreIndex = options.ignoreIndex ?? -1;
    this.checkIds = options.checkIds ?? true;
    this.optimizer = new AdamW(model.parameters, options.optimizer);
  }

  /** Steps completed so far. */
  get step(): number {
    return this.optimizer.step;
  }

  /**
   * One optimisation step on `batch`; returns the batch's mean loss before the update. Reads the
   * loss synchronously, which tfjs's WebGPU backend cannot do in Node: use {@link trainStepAsync} there.
   */
  trainStep(batch: Batch): number {
    if (tf.getBackend() === 'webgpu') {
      throw new Error('trainStep: the WebGPU backend cannot read the loss synchronously; use trainStepAsync');
    }
    const pending = this.lossAndGrads(batch);
    return this.finish(pending, pending.value.dataSync()[0]!);
  }

  /** One optimisation step on `batch` on any backend; resolves to the batch's mean loss before the update. */
  async trainStepAsync(batch: Batch): Promise<number> {
    const pending = this.lossAndGrads(batch);
    let loss: number;
    try {
      loss = (await pending.value.data())[0]!;
    } catch (err) {
      tf.dispose([pending.value, ...Object.values(pending.grads)]);
      throw err;
    }
    return this.finish(pending, loss);
  }

  private checkBatch(batch: Batch): number {
    const { maxLen: L, numItems: C } = this.model.config;
    const { inputs, targets } = batch;
    if (inputs.length === 0 || inputs.length % L !== 0) {
      throw new RangeError(
        `trainStep: batch.inputs has ${inputs.length} entries, not a positive multiple of maxLen ${L}`,
      );
    }
    if (targets.length !== inputs.length) {
      throw new RangeError(
        `trainStep: batch.targets has ${targets.length} entries, batch.inputs ${inputs.length}`,
      );
    }
    if (this.checkIds) {
      checkInputIds(inputs, C, 'batch.inputs');
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i]!;
        if (t !== this.ignoreIndex && (t < 0 || t >= C)) {
          throw new RangeError(
            `batch.targets[${i}] = ${t} is neither an item in [0, ${C - 1}] nor ignoreIndex ${this.ignoreIndex}`,
          );
        }
      }
    }
    return inputs.length / L;
  }

  /** Forward and backward: the loss scalar and gradients by parameter name (caller disposes). */
  private lossAndGrads(batch: Batch): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
    const B = this.checkBatch(batch);
    const { maxLen: L, hidden: D } = this.model.config;
    const step = this.step;
    const vars = this.model.parameters.map((p) => p.variable);
    const nameOf = new Map(this.model.parameters.map((p) => [p.variable.name, p.name]));
    const inputT = tf.tensor2d(batch.inputs, [B, L], 'int32');
    // Made outside variableGrads so that it outlives the backward pass.
    const targetT = tf.tensor1d(batch.targets, 'int32');
    try {
      const { value, grads } = tf.variableGrads(() => {
        const h = this.model.forward(inputT, { training: true, stream: step });
        return computeLoss(tf.reshape(h, [B * L, D]), this.model.itemEmbeddings(), targetT, this.loss, {
          seed: this.seed,
          step,
          ignoreIndex: this.ignoreIndex,
          hostTargets: batch.targets,
        });
      }, vars);
      const byName: Record<string, tf.Tensor> = {};
      for (const [varName, g] of Object.entries(grads)) byName[nameOf.get(varName)!] = g;
      return { value: value as tf.Scalar, grads: byName };
    } finally {
      inputT.dispose();
      targetT.dispose();
    }
  }

  /** Applies the update unless the loss is not finite (then throws); frees the step's tensors. */
  private finish(pending: { value: tf.Scalar; grads: Record<string, tf.Tensor> }, loss: number): number {
    try {
      if (!Number.isFinite(loss)) {
        throw new Error(
          `trainStep: the loss at step ${this.step} is ${loss}; lower the learning rate or check the inputs`,
        );
      }
      this.optimizer.apply(pending.grads);
      return loss;
    } finally {
      tf.dispose([pending.value, ...Object.values(pending.grads)]);
    }
  }

  /** Frees the optimizer state (the model stays). */
  dispose(): void {
    this.optimizer.dispose();
  }
}
