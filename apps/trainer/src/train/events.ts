/** The events a training run emits (one JSON object per line with `--json`), and the records they carry. */

/** Metrics by name, e.g. `{ 'ndcg@10': 0.41, 'hr@10': 0.62 }`. */
export type Metrics = Record<string, number>;

/** One line of `metrics.jsonl` for a finished epoch. */
export interface EpochRecord {
  type: 'epoch';
  /** 0-based epoch index. */
  epoch: number;
  /** Optimizer steps completed after this epoch. */
  step: number;
  /** Mean training loss over the epoch's steps. */
  trainLoss: number;
  /** Validation metrics (absent on epochs without evaluation). */
  valid?: Metrics;
  /** Seconds of training in the epoch (evaluation excluded). */
  epochTimeSec: number;
  /** Seconds of the validation pass. */
  evalTimeSec?: number;
  /** Non-padding training positions per second. */
  positionsPerSec: number;
  /** Peak GPU bytes during the epoch (WebGPU meter; CUDA meter with impl 'cuda'); null on the CPU backend. */
  peakGpuBytes: number | null;
  /** Learning rate at the end of the epoch. */
  lr: number;
}

/** The last line of `metrics.jsonl`: test metrics of the best checkpoint and the popularity baseline. */
export interface TestRecord {
  type: 'test';
  /** Epoch of the checkpoint that was evaluated (the best on validation). */
  bestEpoch: number;
  test: Metrics;
  popularity: Metrics;
}

export type TrainEvent =
  | {
      event: 'start';
      runDir: string;
      resumed: boolean;
      backend: string;
      device: string | null;
      engine: 'fused' | 'tfjs';
      /** The fused engine's precision ('bf16' on CUDA, 'f16' on WebGPU); null for tfjs. */
      precision: 'fp32' | 'bf16' | 'f16' | null;
      /** Why --engine auto did not pick the fused engine. */
      engineReason?: string;
      dataset: { name: string; users: number; items: number; interactions: number };
      stepsPerEpoch: number;
      epochs: number;
      startEpoch: number;
      popularity: { valid: Metrics; test: Metrics };
      plantedBest?: { 'ndcg@10': number; 'hr@10': number };
    }
  | ({ event: 'epoch' } & Omit<EpochRecord, 'type' | 'valid'>)
  | { event: 'eval'; epoch: number; split: 'valid' | 'test'; metrics: Metrics; best: boolean }
  | { event: 'checkpoint'; kind: 'best' | 'last'; path: string; epoch: number; step: number }
  | { event: 'early-stop'; epoch: number; bestEpoch: number; patience: number }
  | { event: 'interrupted'; signal: string; epoch: number; step: number; checkpoint: string; resume: string }
  | {
      event: 'done';
      runDir: string;
      bestEpoch: number;
      epochs: number;
      test: Metrics;
      popularity: Metrics;
      epochTimeSec: number;
      peakGpuBytes: number | null;
      report: string;
    }
  | { event: 'error'; message: string };
