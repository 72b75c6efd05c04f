/** The training step: SASRec forward, any loss, gradients, AdamW; a step counter that streams negatives and dropout. */

import type { Example } from '@cutrec/data';
import { firstOutside } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import type { TrainingState } from './checkpoint/checkpoint.js';
import type { ResolvedSASRecConfig } from './config.js';
import type { EngineEvaluateOptions, TrainingEngine } from './engine.js';
import { evaluateModel } from './eval/evaluate.js';
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

/**
 * Checks a batch for a model of `config` (shapes always; ids in range when `checkIds`); returns
 * its number of sequences. Errors name the entry and the limit. Both engines call it.
 */
export function checkBatch(
  batch: Batch,
  config: { maxLen: number; numItems: number },
  ignoreIndex: number,
  checkIds: boolean,
): number {
  const { maxLen: L, numItems: C } = config;
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
  if (checkIds) {
    checkInputIds(inputs, C, 'batch.inputs');
    const i = firstOutside(targets, 0, C - 1, ignoreIndex);
    if (i >= 0) {
      throw new RangeError(
        `batch.targets[${i}] = ${targets[i]} is neither an item in [0, ${C - 1}] nor ignoreIndex ${ignoreIndex}`,
      );
    }
  }
  return inputs.length / L;
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
export class Trainer implements TrainingEngine {
  readonly engine = 'tfjs' as const;
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

  get config(): ResolvedSASRecConfig {
    return this.model.config;
  }

  /** The learning rate the next step uses. */
  currentLr(): number {
    return this.optimizer.currentLr();
  }

  /** Full-catalog ranking metrics of the model on `examples` (see `evaluateModel`). */
  evaluate(examples: readonly Example[], options: EngineEvaluateOptions): Promise<Record<string, number>> {
    return evaluateModel(this.model, examples, {
      ks: options.ks,
      removeSeen: options.removeSeen,
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.beforeBatch ? { beforeBatch: options.beforeBatch } : {}),
    });
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

  /**
   * One optimisation step on `batch` that also returns every parameter's gradient (host copies,
   * by name, before clipping): what the engine-contract tests compare engines with. Any backend.
   */
  async trainStepWithGradients(batch: Batch): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
    const pending = this.lossAndGrads(batch);
    const grads: Record<string, Float32Array> = {};
    let loss: number;
    try {
      loss = (await pending.value.data())[0]!;
      for (const [name, g] of Object.entries(pending.grads)) grads[name] = (await g.data()) as Float32Array;
    } catch (err) {
      tf.dispose([pending.value, ...Object.values(pending.grads)]);
      throw err;
    }
    return { loss: this.finish(pending, loss), grads };
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
    return checkBatch(batch, this.model.config, this.ignoreIndex, this.checkIds);
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

  /** The whole training state as host arrays (what a checkpoint holds). */
  async trainingState(): Promise<TrainingState> {
    const params: TrainingState['params'] = {};
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const p of this.model.parameters) {
      params[p.name] = {
        shape: p.variable.shape.slice(),
        data: Float32Array.from((await p.variable.data()) as Float32Array),
      };
    }
    for (const s of this.optimizer.state()) {
      m[s.name] = Float32Array.from((await s.m.data()) as Float32Array);
      v[s.name] = Float32Array.from((await s.v.data()) as Float32Array);
    }
    return {
      step: this.step,
      seed: this.seed,
      ignoreIndex: this.ignoreIndex,
      config: this.model.config,
      optimizer: this.optimizer.config,
      loss: this.loss,
      params,
      m,
      v,
    };
  }

  /** Frees the optimizer state (the model stays). */
  dispose(): void {
    this.optimizer.dispose();
  }
}
