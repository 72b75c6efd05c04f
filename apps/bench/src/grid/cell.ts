/** One grid cell: train SASRec for a few epochs on a dataset and evaluate NDCG@10 (runs in a child process under `--parallel`). */
import {
  type InteractionFormat,
  leaveOneOut,
  readInteractions,
  type Split,
  syntheticDataset,
  trainingBatches,
} from '@cutrec/data';
import { evaluateModel, type LossSpec, SASRec } from '@cutrec/models';
import { measurePeak } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { benchStep, benchTrainer } from '../train/step.js';

/** Everything a cell needs (JSON, passed to the child). */
export interface CellSpec {
  /** A dataset path, or 'synthetic' (the @cutrec/data generator with `syntheticUsers`/`syntheticItems`). */
  data: string;
  format: InteractionFormat;
  syntheticUsers?: number;
  syntheticItems?: number;
  negatives: number;
  batchSize: number;
  maxLen: number;
  epochs: number;
  hidden: number;
  numBlocks: number;
  numHeads: number;
  dropout: number;
  lr: number;
  loss: 'cce-' | 'bce' | 'gbce';
  share: 'row' | 'block' | 'batch';
  blockRows: number;
  impl: 'auto' | 'tfjs' | 'wgsl' | 'cuda';
  /** Which examples NDCG@10 is measured on. */
  evalSplit: 'valid' | 'test';
  seed: number;
  /** Stop training after this many steps (all epochs together); 0 = no cap. */
  maxSteps?: number;
  /** Evaluate on this many examples (every ⌈n / evalUsers⌉-th, deterministic); 0 = all. */
  evalUsers?: number;
}

/** What a cell reports. */
export interface CellResult {
  negatives: number;
  batchSize: number;
  maxLen: number;
  ndcg10: number | null;
  hr10: number | null;
  steps: number;
  /** Seconds spent training, evaluating, and in all (process start-up and data loading included). */
  trainSeconds: number;
  evalSeconds: number;
  totalSeconds: number;
  stepsPerSec: number | null;
  /** Peak bytes of one training step beyond what was held before it (WebGPU meter; null on the CPU). */
  measuredPeakBytes: number | null;
  finalLoss: number | null;
  /** Examples NDCG@10 was measured on. */
  evalExamples?: number;
  error?: string;
}

/** The loss spec of a cell. */
export function cellLoss(s: CellSpec): LossSpec {
  if (s.loss === 'bce') return { kind: 'bce', negatives: s.negatives };
  if (s.loss === 'gbce') return { kind: 'gbce', negatives: s.negatives, t: 0.75 };
  return { kind: 'cce-', negatives: s.negatives, share: s.share, blockRows: s.blockRows, impl: s.impl };
}

async function loadSplit(s: CellSpec): Promise<{ split: Split; numItems: number }> {
  if (s.data === 'synthetic') {
    const d = syntheticDataset({
      numUsers: s.syntheticUsers ?? 300,
      numItems: s.syntheticItems ?? 100,
      seed: s.seed,
    });
    return { split: d.split, numItems: d.dataset.numItems };
  }
  const ds = await readInteractions(s.data, { format: s.format });
  return { split: leaveOneOut(ds), numItems: ds.numItems };
}

/** Trains and evaluates one cell on the current tfjs backend. */
export async function runCell(s: CellSpec, started = performance.now()): Promise<CellResult> {
  const base = { negatives: s.negatives, batchSize: s.batchSize, maxLen: s.maxLen };
  const { split, numItems } = await loadSplit(s);
  const model = new SASRec({
    numItems,
    maxLen: s.maxLen,
    hidden: s.hidden,
    numBlocks: s.numBlocks,
    numHeads: s.numHeads,
    dropout: s.dropout,
    seed: s.seed,
  });
  const trainer = benchTrainer(model, cellLoss(s), { lr: s.lr }, s.seed);
  let steps = 0;
  let finalLoss: number | null = null;
  let measuredPeakBytes: number | null = null;
  try {
    const t0 = performance.now();
    const cap = s.maxSteps || Number.POSITIVE_INFINITY;
    for (let epoch = 0; epoch < s.epochs && steps < cap; epoch++) {
      for (const b of trainingBatches(
        split.train,
        { batchSize: s.batchSize, maxLen: s.maxLen, numItems, seed: s.seed },
        epoch,
      )) {
        if (steps === 1 && tf.getBackend() === 'webgpu') {
          const m = await measurePeak(() => benchStep(trainer, b));
          measuredPeakBytes = m.peakExtraBytes;
          finalLoss = m.result;
        } else finalLoss = await benchStep(trainer, b);
        steps++;
        if (steps >= cap) break;
      }
    }
    const trainSeconds = (performance.now() - t0) / 1e3;
    const t1 = performance.now();
    const all = s.evalSplit === 'valid' ? split.valid : split.test;
    const stride = s.evalUsers ? Math.max(1, Math.ceil(all.length / s.evalUsers)) : 1;
    const examples = stride === 1 ? all : all.filter((_, i) => i % stride === 0);
    const m = await evaluateModel(model, examples, { ks: [10] });
    const evalSeconds = (performance.now() - t1) / 1e3;
    return {
      ...base,
      ndcg10: m['ndcg@10'] ?? null,
      hr10: m['hr@10'] ?? null,
      steps,
      trainSeconds,
      evalSeconds,
      totalSeconds: (performance.now() - started) / 1e3,
      stepsPerSec: steps / trainSeconds,
      measuredPeakBytes,
      finalLoss,
      evalExamples: examples.length,
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
