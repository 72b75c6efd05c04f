/**
 * `cutrec-bench train --engine fused`: the fused SASRec step on CUDA (one CUDA graph per step),
 * per precision and loss: the median wall-clock time of a step waited for alone, the mean time of
 * steps queued back to back (what a training loop sees), the device memory the engine holds, and
 * the loss of the last timed step (the same seed and batches give the same loss on every engine).
 */
import { CudaDevice, FusedTrainer, type LossSpec, type SASRecConfig } from '@cutrec/models';
import { cudaMemoryMeter } from '@cutrec/tensor';
import { summarize } from '../stats.js';
import { type StepBatch, syntheticBatch } from './step.js';

/** One fused-engine row. */
export interface FusedTrainResult {
  engine: 'fused';
  device: 'cuda';
  precision: 'fp32' | 'bf16';
  loss: string;
  spec: LossSpec;
  /** Median ms of one step, launched and waited for. */
  stepMs: number | null;
  stepSpreadMs: number | null;
  /** Mean ms per step of `steps` steps queued back to back (losses read at the end). */
  pipelinedMs: number | null;
  /** Device bytes held by the engine (parameters, moments, activations, workspaces) at its peak. */
  peakBytes: number | null;
  /** Loss of the last timed step. */
  lossValue: number | null;
  /** Nodes of the captured step graph. */
  graphNodes: number | null;
  /** With `profile`: device ms per step by op (events around each op, no graph), slowest first. */
  profile?: { op: string; calls: number; ms: number }[];
  skipped?: string;
}

/** Options of {@link runFusedTrainBench}. */
export interface FusedBenchOptions {
  model: SASRecConfig;
  batchSize: number;
  losses: readonly { name: string; spec: LossSpec }[];
  precisions: readonly ('fp32' | 'bf16')[];
  warmup: number;
  steps: number;
  seed: number;
  /** Also time every op of a few eager steps with CUDA events. */
  profile?: boolean;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Device ms per step of each op over `steps` eager steps (after two warm-up steps). */
function profileSteps(
  o: FusedBenchOptions,
  precision: 'fp32' | 'bf16',
  spec: LossSpec,
  batches: StepBatch[],
  steps = 5,
) {
  const device = new CudaDevice({ dtype: precision === 'fp32' ? 'float32' : 'bfloat16', profile: true });
  const trainer = new FusedTrainer({ ...o.model, seed: o.seed }, device, {
    loss: spec,
    batchSize: o.batchSize,
    optimizer: { lr: 1e-3 },
  });
  try {
    for (let i = 0; i < 2; i++) trainer.trainStep(batches[i % batches.length]!);
    device.profile();
    for (let i = 0; i < steps; i++) trainer.trainStep(batches[i % batches.length]!);
    return device.profile().map((r) => ({ op: r.op, calls: r.calls / steps, ms: r.ms / steps }));
  } finally {
    trainer.dispose();
  }
}

function measure(
  o: FusedBenchOptions,
  precision: 'fp32' | 'bf16',
  name: string,
  spec: LossSpec,
  batches: StepBatch[],
): FusedTrainResult {
  const meter = cudaMemoryMeter();
  const base = meter.read().current;
  meter.resetPeak();
  const device = new CudaDevice({ dtype: precision === 'fp32' ? 'float32' : 'bfloat16' });
  const trainer = new FusedTrainer({ ...o.model, seed: o.seed }, device, {
    loss: spec,
    batchSize: o.batchSize,
    optimizer: { lr: 1e-3 },
  });
  try {
    for (let i = 0; i < Math.max(3, o.warmup); i++) trainer.trainStep(batches[i % batches.length]!);
    const times: number[] = [];
    let lossValue = Number.NaN;
    for (let i = 0; i < o.steps; i++) {
      const t0 = performance.now();
      lossValue = trainer.trainStep(batches[i % batches.length]!);
      times.push(performance.now() - t0);
    }
    const t0 = performance.now();
    for (let i = 0; i < o.steps; i++) trainer.enqueueStep(batches[i % batches.length]!);
    trainer.takeLosses();
    const pipelinedMs = (performance.now() - t0) / o.steps;
    const s = summarize(times);
    return {
      engine: 'fused',
      device: 'cuda',
      precision,
      loss: name,
      spec,
      stepMs: s.ms,
      stepSpreadMs: s.msSpread,
      pipelinedMs,
      peakBytes: meter.read().peak - base,
      lossValue,
      graphNodes: device.graphNodes ?? null,
    };
  } finally {
    trainer.dispose();
  }
}

/** {@link measure}, plus the per-op profile of a second engine when asked for. */
function one(
  o: FusedBenchOptions,
  precision: 'fp32' | 'bf16',
  name: string,
  spec: LossSpec,
  batches: StepBatch[],
): FusedTrainResult {
  const r = measure(o, precision, name, spec, batches);
  return o.profile ? { ...r, profile: profileSteps(o, precision, spec, batches) } : r;
}

/** Runs the fused engine for every precision × loss (each in its own engine, freed after). */
export function runFusedTrainBench(o: FusedBenchOptions): FusedTrainResult[] {
  const { maxLen: L, numItems: C } = o.model;
  const batches = Array.from({ length: 4 }, (_, i) => syntheticBatch(o.batchSize, L, C, o.seed + i));
  const out: FusedTrainResult[] = [];
  const total = o.precisions.length * o.losses.length;
  for (const precision of o.precisions) {
    for (const { name, spec } of o.losses) {
      o.onProgress?.(out.length, total, `fused ${precision} ${name}`);
      try {
        out.push(one(o, precision, name, spec, batches));
      } catch (err) {
        const msg = String((err as Error)?.message ?? err)
          .split('\n')[0]!
          .slice(0, 300);
        out.push({
          engine: 'fused',
          device: 'cuda',
          precision,
          loss: name,
          spec,
          stepMs: null,
          stepSpreadMs: null,
          pipelinedMs: null,
          peakBytes: null,
          lossValue: null,
          graphNodes: null,
          skipped: /memory|OOM/i.test(msg) ? `OOM: ${msg}` : `error: ${msg}`,
        });
      }
    }
  }
  o.onProgress?.(total, total, 'done');
  return out;
}
