/**
 * `cutrec-bench train`: steps per second and peak memory of a SASRec training step for each loss,
 * with the step split into body (the same step with a trivial loss) and loss (the loss alone,
 * forward+backward on the body's output shape).
 */
import type { LossSpec } from '@cutrec/models';
import { SASRec, type SASRecConfig } from '@cutrec/models';
import { measurePeak } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { summarize } from '../stats.js';
import { benchStep, benchTrainer, settle, specLoss, syntheticBatch, trivialLoss } from './step.js';

/** The losses the train benchmark knows by name. */
export const TRAIN_LOSSES = ['ce', 'cce-', 'bce', 'gbce'] as const;
export type TrainLossName = (typeof TRAIN_LOSSES)[number];

/** Options of {@link runTrainBench}. */
export interface TrainBenchOptions {
  model: SASRecConfig;
  batchSize: number;
  losses: readonly TrainLossName[];
  /** K for cce-, bce and gbce. */
  negatives: number;
  share: 'row' | 'block' | 'batch';
  blockRows: number;
  /** impl of ce and cce- ('auto', 'tfjs', 'wgsl', 'cuda'). */
  impl: 'auto' | 'tfjs' | 'wgsl' | 'cuda';
  warmup: number;
  steps: number;
  seed: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** One loss's training-step numbers. */
export interface TrainResult {
  engine: 'tfjs';
  /** The tfjs backend the step ran on ('webgpu', 'cpu'). */
  device: string;
  precision: 'fp32';
  loss: string;
  spec: LossSpec;
  /** Median wall-clock ms of a full step (forward, loss, backward, AdamW; waits for the device). */
  stepMs: number | null;
  stepSpreadMs: number | null;
  stepsPerSec: number | null;
  /** Median ms of the same step with the trivial loss mean(hidden): the body's share. */
  bodyMs: number | null;
  /** Median ms of the loss alone, forward+backward on [B·L, D] hidden states against the item table. */
  lossMs: number | null;
  /** stepMs − bodyMs: what the loss adds to a step. */
  lossInStepMs: number | null;
  /** Peak bytes allocated during one step beyond what was held before (WebGPU meter; null on the CPU). */
  peakBytes: number | null;
  /** Loss of the last timed step (the same seed and batches give the same loss on every engine). */
  lossValue: number | null;
  skipped?: string;
}

/** The loss spec for a loss name under the options. */
export function lossSpec(
  name: TrainLossName,
  o: Pick<TrainBenchOptions, 'negatives' | 'share' | 'blockRows' | 'impl'>,
): LossSpec {
  switch (name) {
    case 'ce':
      return { kind: 'ce', impl: o.impl };
    case 'cce-':
      return { kind: 'cce-', negatives: o.negatives, share: o.share, blockRows: o.blockRows, impl: o.impl };
    case 'bce':
      return { kind: 'bce', negatives: o.negatives };
    case 'gbce':
      return { kind: 'gbce', negatives: o.negatives, t: 0.75 };
  }
}

async function timeSteps(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    await settle();
    const t0 = performance.now();
    await fn(i);
    times.push(performance.now() - t0);
  }
  return times;
}

/** Runs the train benchmark: the body once, then each loss. */
export async function runTrainBench(
  o: TrainBenchOptions,
): Promise<{ bodyMs: number; bodyPeakBytes: number | null; results: TrainResult[] }> {
  const L = o.model.maxLen;
  const C = o.model.numItems;
  const batches = Array.from({ length: 4 }, (_, i) => syntheticBatch(o.batchSize, L, C, o.seed + i));
  const onWebGpu = tf.getBackend() === 'webgpu';
  const total = o.losses.length + 1;
  o.onProgress?.(0, total, 'warming up');
  const model = new SASRec({ ...o.model, seed: o.seed });
  const results: TrainResult[] = [];
  try {
    // Body: the whole step with mean(hidden) as the loss.
    // (warmed up first, timed last, so that pipelines compiled by any step are ready)
    const body = benchTrainer(model, trivialLoss, {}, o.seed);
    for (let i = 0; i < Math.max(1, o.warmup); i++) await benchStep(body, batches[i % 4]!);
    const bodyPeak = onWebGpu ? (await measurePeak(() => benchStep(body, batches[0]!))).peakExtraBytes : null;
    let bodyMs = Number.NaN;
    const D = model.config.hidden;
    for (const [k, name] of o.losses.entries()) {
      o.onProgress?.(k, total, `loss ${name}`);
      const spec = lossSpec(name, o);
      const loss = specLoss(spec, o.seed);
      const trainer = benchTrainer(model, spec, {}, o.seed);
      try {
        for (let i = 0; i < o.warmup; i++) await benchStep(trainer, batches[i % 4]!);
        const peakBytes = onWebGpu
          ? (await measurePeak(() => benchStep(trainer, batches[0]!))).peakExtraBytes
          : null;
        let lossValue: number | null = null;
        const step = summarize(
          await timeSteps(o.steps, async (i) => {
            lossValue = await benchStep(trainer, batches[i % 4]!);
          }),
        );
        // The loss alone on the body's output shape.
        const N = o.batchSize * L;
        const h = tf.randomNormal([N, D], 0, 0.5, 'float32', o.seed) as tf.Tensor2D;
        const y = tf.tensor1d(batches[0]!.targets, 'int32');
        const items = model.itemEmbeddings();
        const lossOnce = (i: number) =>
          tf.dispose(
            tf.grads((a, b) => loss(a as tf.Tensor2D, b as tf.Tensor2D, y, i, batches[0]!.targets))([
              h,
              items,
            ]),
          );
        for (let i = 0; i < o.warmup; i++) lossOnce(i);
        const alone = summarize(
          await timeSteps(o.steps, async (i) => {
            lossOnce(100 + i);
            await settle();
          }),
        );
        tf.dispose([h, y, items]);
        results.push({
          engine: 'tfjs',
          device: tf.getBackend(),
          precision: 'fp32',
          loss: name,
          spec,
          lossValue,
          stepMs: step.ms,
          stepSpreadMs: step.msSpread,
          stepsPerSec: 1000 / step.ms,
          bodyMs,
          lossMs: alone.ms,
          lossInStepMs: step.ms - bodyMs,
          peakBytes,
        });
      } catch (err) {
        const msg = String((err as Error)?.message ?? err)
          .split('\n')[0]!
          .slice(0, 300);
        results.push({
          engine: 'tfjs',
          device: tf.getBackend(),
          precision: 'fp32',
          loss: name,
          spec,
          lossValue: null,
          stepMs: null,
          stepSpreadMs: null,
          stepsPerSec: null,
          bodyMs,
          lossMs: null,
          lossInStepMs: null,
          peakBytes: null,
          skipped: /memory|OOM|alloc|exceed/i.test(msg) ? `OOM: ${msg}` : `error: ${msg}`,
        });
      } finally {
        trainer.dispose();
      }
    }
    o.onProgress?.(total - 1, total, 'body (trivial loss)');
    bodyMs = summarize(await timeSteps(o.steps, (i) => benchStep(body, batches[i % 4]!))).ms;
    body.dispose();
    for (const r of results) {
      r.bodyMs = bodyMs;
      r.lossInStepMs = r.stepMs === null ? null : r.stepMs - bodyMs;
    }
    o.onProgress?.(total, total, 'done');
    return { bodyMs, bodyPeakBytes: bodyPeak, results };
  } finally {
    model.dispose();
  }
}
