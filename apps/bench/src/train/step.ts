/**
 * One SASRec training step that waits for the GPU asynchronously: the same computation as
 * @cutrec/models' `Trainer.trainStep` (forward, loss, gradients, AdamW), written here because
 * `trainStep` reads the loss with `dataSync`, which tfjs's WebGPU backend cannot do in Node.
 * The loss is a parameter, so the benchmark can swap in a trivial one to time the body alone.
 */
import { AdamW, type AdamWConfig, computeLoss, type LossSpec, type SASRec } from '@cutrec/models';
import { flushTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';

/** A training batch, row-major [B, L]. */
export interface StepBatch {
  inputs: Int32Array;
  targets: Int32Array;
}

/** A loss of hidden [N, D] against items [C, D] for targets [N] at a step. */
export type StepLoss = (
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  step: number,
  hostTargets: Int32Array,
) => tf.Scalar;

/** The loss of a spec through @cutrec/models' `computeLoss`. */
export function specLoss(spec: LossSpec, seed: number): StepLoss {
  return (h, w, y, step, hostTargets) =>
    computeLoss(h, w, y, spec, { seed, step, ignoreIndex: -1, hostTargets });
}

/** The trivial loss mean(hidden): its gradient runs the whole body backward and costs nothing itself. */
export const trivialLoss: StepLoss = (h) => tf.mean(h) as tf.Scalar;

/** A SASRec with its optimizer, stepping with a given loss. */
export class BenchTrainer {
  readonly optimizer: AdamW;
  constructor(
    readonly model: SASRec,
    optimizer: AdamWConfig = {},
  ) {
    this.optimizer = new AdamW(model.parameters, optimizer);
  }

  /** One optimisation step with `loss` on `batch`; resolves with the loss value once the GPU is done. */
  async step(batch: StepBatch, loss: StepLoss): Promise<number> {
    const { maxLen: L, hidden: D } = this.model.config;
    const B = batch.inputs.length / L;
    const step = this.optimizer.step;
    const vars = this.model.parameters.map((p) => p.variable);
    const nameOf = new Map(this.model.parameters.map((p) => [p.variable.name, p.name]));
    const inputT = tf.tensor2d(batch.inputs, [B, L], 'int32');
    const targetT = tf.tensor1d(batch.targets, 'int32');
    try {
      const { value, grads } = tf.variableGrads(() => {
        const h = this.model.forward(inputT, { training: true, stream: step });
        return loss(tf.reshape(h, [B * L, D]), this.model.itemEmbeddings(), targetT, step, batch.targets);
      }, vars);
      const byName: Record<string, tf.Tensor> = {};
      for (const [varName, g] of Object.entries(grads)) byName[nameOf.get(varName)!] = g;
      const v = (await value.data())[0]!;
      this.optimizer.apply(byName);
      tf.dispose([value, ...Object.values(grads)]);
      await settle();
      return v;
    } finally {
      inputT.dispose();
      targetT.dispose();
    }
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Waits until the device has finished the work queued so far (WebGPU), or returns (CPU). */
export async function settle(): Promise<void> {
  if (tf.getBackend() !== 'webgpu') return;
  flushTfjs();
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  await device.queue.onSubmittedWorkDone();
}

/** Random training batches: B users, left-padded sequences of random length in [2, L], targets shifted by one. */
export function syntheticBatch(B: number, L: number, C: number, seed: number): StepBatch {
  let s = seed >>> 0 || 1;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const inputs = new Int32Array(B * L).fill(C);
  const targets = new Int32Array(B * L).fill(-1);
  for (let b = 0; b < B; b++) {
    const len = 2 + Math.floor(rand() * (L - 1));
    for (let t = L - len; t < L; t++) {
      inputs[b * L + t] = Math.floor(rand() * C);
      targets[b * L + t] = Math.floor(rand() * C);
    }
  }
  return { inputs, targets };
}
