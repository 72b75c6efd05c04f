/**
 * The benchmark's training step: @cutrec/models' `Trainer` (forward, loss, gradients, AdamW,
 * `trainStepAsync`, so it waits for the GPU asynchronously), with the loss as a parameter so the
 * benchmark can swap in a trivial one to time the body alone.
 */
import { type AdamWConfig, computeLoss, type LossSpec, type SASRec, Trainer } from '@cutrec/models';
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

/**
 * A tfjs-engine trainer of `model` stepping with `loss` (a spec, or a StepLoss function such as
 * the trivial loss), through @cutrec/models' own `Trainer` — the one training step every app uses.
 * Ids are not re-checked on the host (the batches are synthetic), so the timed step is the step.
 */
export function benchTrainer(
  model: SASRec,
  loss: LossSpec | StepLoss,
  optimizer: AdamWConfig = {},
  seed = model.config.seed,
): Trainer {
  const spec: LossSpec =
    typeof loss === 'function'
      ? {
          kind: 'custom',
          fn: (h, w, y, ctx) => loss(h, w, y, ctx.step, ctx.hostTargets ?? new Int32Array(0)),
        }
      : loss;
  return new Trainer(model, { loss: spec, optimizer, seed, checkIds: false });
}

/** One step of `trainer` on `batch`, waited for until the device is done; resolves to the loss. */
export async function benchStep(trainer: Trainer, batch: StepBatch): Promise<number> {
  const v = await trainer.trainStepAsync(batch);
  await settle();
  return v;
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
