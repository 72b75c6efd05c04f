/**
 * One grid cell: train SASRec on a dataset to early stopping on validation NDCG@10 (or for fixed
 * epochs) with the fused or the tfjs engine, and report the test metrics of the chosen epoch,
 * time and peak device memory (runs in a child process under `--parallel`).
 */
import {
  type InteractionFormat,
  leaveOneOut,
  readInteractions,
  type Split,
  syntheticDataset,
  trainingBatches,
} from '@cutrec/data';
import type { LossSpec } from '@cutrec/models';
import { loadState, removeState, saveState } from './cell-state.js';
import {
  type ConvergeEngine,
  type ConvergeResult,
  converge,
  type EpochRow,
  type StopReason,
} from './converge.js';
import { type CellDevice, type CellEngine, cellEngine } from './engine.js';

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
  /** At most this many epochs. */
  epochs: number;
  /** Early stopping: epochs without a better validation NDCG@10 before stopping; 0 = train `epochs`, then evaluate. */
  patience: number;
  hidden: number;
  numBlocks: number;
  numHeads: number;
  dropout: number;
  lr: number;
  loss: 'cce-' | 'bce' | 'gbce';
  share: 'row' | 'block' | 'batch';
  blockRows: number;
  /** Loss impl of the tfjs engine (the fused engine runs its own kernels). */
  impl: 'auto' | 'tfjs' | 'wgsl' | 'cuda';
  engine: 'fused' | 'tfjs';
  /** The fused engine's device (host: the float64 references, for tests). */
  device: 'cuda' | 'webgpu' | 'host';
  /** bf16 on CUDA, f16 on WebGPU. */
  precision: 'fp32' | 'bf16' | 'f16';
  /** Remove each user's history from the candidates in evaluation. */
  removeSeen: boolean;
  seed: number;
  /** Stop training after this many steps (all epochs together); 0 = no cap. */
  maxSteps?: number;
  /** Evaluate on this many examples (every ⌈n / evalUsers⌉-th, deterministic); 0 = all. */
  evalUsers?: number;
  /** Start no epoch after this time (ms since 1970): the cell then reports `complete: false`. */
  deadline?: number;
  /** Where a cell cut by the deadline saves its state, and whence it continues (fused engine). */
  stateFile?: string;
}

/** What a cell reports. */
export interface CellResult {
  negatives: number;
  batchSize: number;
  maxLen: number;
  engine?: 'fused' | 'tfjs';
  device?: CellDevice;
  precision?: 'fp32' | 'bf16' | 'f16';
  /** Trained to its end (early stop, the epoch or step cap); false when the deadline cut it or it failed. */
  complete?: boolean;
  stoppedBy?: StopReason;
  /** Test NDCG@10 and HR@10 of the model at the best validation epoch. */
  ndcg10: number | null;
  hr10: number | null;
  /** Validation NDCG@10 at the best epoch (what chose it). */
  validNdcg10?: number | null;
  /** 1-based epoch chosen by validation, and epochs trained. */
  bestEpoch?: number;
  epochs?: number;
  steps: number;
  /** Seconds spent training, evaluating (validation and test), up to the best epoch (training and validation), and in all (process start-up and data loading included). */
  trainSeconds: number;
  evalSeconds: number;
  secondsToBest?: number;
  totalSeconds: number;
  stepsPerSec: number | null;
  /** Peak device bytes of the engine over the cell, by the device's meter (null on the host and the tfjs CPU backend). */
  measuredPeakBytes: number | null;
  /** The fused engine's predicted device bytes (`fusedBytes`); null for tfjs. */
  predictedPeakBytes?: number | null;
  finalLoss: number | null;
  /** Examples each evaluation used. */
  evalExamples?: number;
  /** Loss and validation NDCG@10 per epoch. */
  history?: EpochRow[];
  /** Continued from the state a deadline-cut run saved, after this many epochs. */
  resumedAtEpoch?: number;
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

/** Every ⌈n / evalUsers⌉-th example (all with evalUsers 0). */
function subsample<T>(all: readonly T[], evalUsers = 0): readonly T[] {
  const stride = evalUsers ? Math.max(1, Math.ceil(all.length / evalUsers)) : 1;
  return stride === 1 ? all : all.filter((_, i) => i % stride === 0);
}

/** The loop's view of a cell's engine on its data. */
function convergeEngine(s: CellSpec, e: CellEngine, split: Split, numItems: number): ConvergeEngine {
  const valid = subsample(split.valid, s.evalUsers);
  const test = subsample(split.test, s.evalUsers);
  const evalOpts = { ks: [10], removeSeen: s.removeSeen, batchSize: 512 };
  const batchOpts = { batchSize: s.batchSize, maxLen: s.maxLen, numItems, seed: s.seed };
  return {
    async trainEpoch(epoch, maxSteps) {
      let steps = 0;
      for (const b of trainingBatches(split.train, batchOpts, epoch)) {
        if (steps >= maxSteps) break;
        await e.step(b);
        steps++;
      }
      const losses = await e.losses();
      return { steps, meanLoss: losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length) };
    },
    validate: () => e.trainer.evaluate(valid, evalOpts),
    test: () => e.trainer.evaluate(test, evalOpts),
    keepBest: () => e.keepBest(),
    restoreBest: () => e.restoreBest(),
  };
}

/** What a cut cell saves besides the engine's arrays. */
interface CellProgress {
  step: number;
  loop: ConvergeResult;
  peakBytes: number | null;
  totalSeconds: number;
}

/** The saved progress of a cut cell, restored into `e` (null when there is none or the engine cannot). */
function resumeFrom(s: CellSpec, e: CellEngine): CellProgress | null {
  const saved = s.stateFile && e.loadState ? loadState<CellProgress>(s.stateFile) : null;
  if (!saved) return null;
  e.loadState!({ step: saved.meta.step, arrays: saved.arrays });
  return saved.meta;
}

/** Saves a cut cell's state (where it can), or removes a finished cell's. */
async function keepOrDrop(
  s: CellSpec,
  e: CellEngine,
  r: ConvergeResult,
  meta: Omit<CellProgress, 'step' | 'loop'>,
) {
  if (!s.stateFile) return;
  if (r.stoppedBy !== 'deadline' || !e.saveState) {
    removeState(s.stateFile);
    return;
  }
  const state = await e.saveState();
  saveState<CellProgress>(s.stateFile, {
    meta: { ...meta, step: state.step, loop: r },
    arrays: state.arrays,
  });
}

/** The larger of two peaks (null counts as none). */
const maxPeak = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** A cell's result from its loop (all but the process-level numbers). */
function resultOf(
  s: CellSpec,
  e: CellEngine,
  r: ConvergeResult,
): Omit<CellResult, 'totalSeconds' | 'measuredPeakBytes'> {
  return {
    negatives: s.negatives,
    batchSize: s.batchSize,
    maxLen: s.maxLen,
    engine: s.engine,
    device: e.device,
    precision: s.precision,
    complete: r.stoppedBy !== 'deadline',
    stoppedBy: r.stoppedBy,
    ndcg10: r.test?.['ndcg@10'] ?? null,
    hr10: r.test?.['hr@10'] ?? null,
    validNdcg10: r.valid?.['ndcg@10'] ?? null,
    bestEpoch: r.bestEpoch,
    epochs: r.epochsRun,
    steps: r.steps,
    trainSeconds: r.trainSeconds,
    evalSeconds: r.validSeconds + r.testSeconds,
    secondsToBest: r.secondsToBest,
    stepsPerSec: r.trainSeconds > 0 ? r.steps / r.trainSeconds : null,
    predictedPeakBytes: e.predictedBytes,
    finalLoss: r.history.at(-1)?.loss ?? null,
    history: r.history,
  };
}

/** Trains and evaluates one cell (the tfjs backend must be set up; the fused engine on WebGPU uses `gpu` or tfjs's device). */
export async function runCell(
  s: CellSpec,
  started = performance.now(),
  gpu?: GPUDevice,
): Promise<CellResult> {
  const { split, numItems } = await loadSplit(s);
  const e = cellEngine({
    engine: s.engine,
    device: s.device,
    precision: s.precision,
    model: {
      numItems,
      maxLen: s.maxLen,
      hidden: s.hidden,
      numBlocks: s.numBlocks,
      numHeads: s.numHeads,
      dropout: s.dropout,
      seed: s.seed,
    },
    loss: cellLoss(s),
    optimizer: { lr: s.lr },
    seed: s.seed,
    batchSize: s.batchSize,
    ...(gpu ? { gpu } : {}),
  });
  try {
    const before = resumeFrom(s, e);
    const r = await converge(convergeEngine(s, e, split, numItems), {
      epochs: s.epochs,
      patience: s.patience,
      maxSteps: s.maxSteps ?? 0,
      ...(s.deadline !== undefined ? { deadline: s.deadline } : {}),
      ...(before ? { resume: before.loop } : {}),
    });
    const measuredPeakBytes = maxPeak(before?.peakBytes ?? null, e.peakBytes());
    const totalSeconds = (before?.totalSeconds ?? 0) + (performance.now() - started) / 1e3;
    await keepOrDrop(s, e, r, { peakBytes: measuredPeakBytes, totalSeconds });
    return {
      ...resultOf(s, e, r),
      totalSeconds,
      measuredPeakBytes,
      evalExamples: subsample(split.valid, s.evalUsers).length,
      ...(before ? { resumedAtEpoch: before.loop.epochsRun } : {}),
    };
  } finally {
    e.dispose();
  }
}
