/**
 * `cutrec-bench train --engine fused`: the fused SASRec step on the device the trainer picks (CUDA,
 * one CUDA graph per step, where usable; else WebGPU, one command submission per step), per
 * precision and loss (bf16 on CUDA; f16 always on WebGPU, adapters with 'shader-f16', as
 * `cutrec train --precision f16`): the median wall-clock time of a step waited for alone, the mean time of
 * steps queued back to back (what a training loop sees), the device memory the engine holds, and
 * the loss of the last timed step (the same seed and batches give the same loss on every engine).
 */
import {
  CudaDevice,
  createFusedDevice,
  type FusedDeviceKind,
  FusedTrainer,
  fusedDeviceKind,
  type LossSpec,
  type SASRecConfig,
  tfjsDevice,
} from '@cutrec/models';
import { cudaMemoryMeter, memoryMeter } from '@cutrec/tensor';
import { summarize } from '../stats.js';
import { type StepBatch, syntheticBatch } from './step.js';

/** The fused engine's precisions: bf16 on CUDA, f16 on WebGPU. */
export type FusedPrecision = 'fp32' | 'bf16' | 'f16';

/** One fused-engine row. */
export interface FusedTrainResult {
  engine: 'fused';
  device: FusedDeviceKind;
  /** bf16: CUDA's half precision; f16: WebGPU's. */
  precision: FusedPrecision;
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
  /** Nodes of the captured step graph (CUDA). */
  graphNodes: number | null;
  /** With `profile` (CUDA): device ms per step by op (events around each op, no graph), slowest first. */
  profile?: { op: string; calls: number; ms: number }[];
  skipped?: string;
}

/** Options of {@link runFusedTrainBench}. */
export interface FusedBenchOptions {
  model: SASRecConfig;
  batchSize: number;
  losses: readonly { name: string; spec: LossSpec }[];
  precisions: readonly FusedPrecision[];
  warmup: number;
  steps: number;
  seed: number;
  /** Where to run: 'auto' (default) is the trainer's choice, CUDA where usable, else WebGPU (f16 rows: always WebGPU). */
  device?: FusedDeviceKind | 'auto';
  /** The WebGPU device (default: tfjs's, when tfjs is on WebGPU). */
  gpu?: GPUDevice;
  /** Also time every op of a few eager steps with CUDA events (CUDA only). */
  profile?: boolean;
  onProgress?: (done: number, total: number, label: string) => void;
}

/**
 * The device kind `o.device` resolves to here for `precision`: f16 is the WebGPU engine's half
 * precision, so its rows run on WebGPU even where CUDA is usable (as `cutrec train` does).
 */
function kindOf(o: FusedBenchOptions, precision: FusedPrecision): FusedDeviceKind {
  if (precision === 'f16') return 'webgpu';
  return !o.device || o.device === 'auto' ? fusedDeviceKind().device : o.device;
}

/** Why `precision` cannot run on `kind` here, or undefined when it can. */
function unusable(
  o: FusedBenchOptions,
  kind: FusedDeviceKind,
  precision: FusedPrecision,
): string | undefined {
  if (precision === 'bf16' && kind !== 'cuda')
    return 'bf16 needs CUDA (the fused engine on WebGPU is fp32 or f16)';
  if (precision !== 'f16') return undefined;
  const gpu = o.gpu ?? tfjsDevice();
  if (!gpu) return 'f16 runs the fused engine on WebGPU, and tfjs is not on a WebGPU device (--backend cpu?)';
  if (!gpu.features.has('shader-f16'))
    return "f16 needs the WebGPU adapter's 'shader-f16' feature, which this one lacks";
  return undefined;
}

function trainerOn(o: FusedBenchOptions, precision: FusedPrecision, spec: LossSpec, profile = false) {
  const { device } = createFusedDevice({
    device: kindOf(o, precision),
    precision,
    ...(o.gpu ? { gpu: o.gpu } : {}),
    ...(profile ? { profile } : {}),
  });
  try {
    const trainer = new FusedTrainer({ ...o.model, seed: o.seed }, device, {
      loss: spec,
      batchSize: o.batchSize,
      optimizer: { lr: 1e-3 },
    });
    return { device, trainer };
  } catch (err) {
    device.dispose();
    throw err;
  }
}

/** Device ms per step of each op over `steps` eager steps (after two warm-up steps; CUDA only). */
function profileSteps(
  o: FusedBenchOptions,
  precision: FusedPrecision,
  spec: LossSpec,
  batches: StepBatch[],
  steps = 5,
) {
  const { device, trainer } = trainerOn(o, precision, spec, true);
  try {
    if (!(device instanceof CudaDevice)) return undefined;
    for (let i = 0; i < 2; i++) trainer.trainStep(batches[i % batches.length]!);
    device.profile();
    for (let i = 0; i < steps; i++) trainer.trainStep(batches[i % batches.length]!);
    return device.profile().map((r) => ({ op: r.op, calls: r.calls / steps, ms: r.ms / steps }));
  } finally {
    trainer.dispose();
  }
}

async function measure(
  o: FusedBenchOptions,
  kind: FusedDeviceKind,
  precision: FusedPrecision,
  name: string,
  spec: LossSpec,
  batches: StepBatch[],
): Promise<FusedTrainResult> {
  const meter = kind === 'cuda' ? cudaMemoryMeter() : memoryMeter();
  const base = meter.read().current;
  meter.resetPeak();
  const { device, trainer } = trainerOn(o, precision, spec);
  try {
    const batch = (i: number) => batches[i % batches.length]!;
    for (let i = 0; i < Math.max(3, o.warmup); i++) await trainer.trainStepAsync(batch(i));
    const times: number[] = [];
    let lossValue = Number.NaN;
    for (let i = 0; i < o.steps; i++) {
      const t0 = performance.now();
      lossValue = await trainer.trainStepAsync(batch(i));
      times.push(performance.now() - t0);
    }
    const t0 = performance.now();
    for (let i = 0; i < o.steps; i++) await trainer.enqueueStepAsync(batch(i));
    await trainer.takeLossesAsync();
    const pipelinedMs = (performance.now() - t0) / o.steps;
    const s = summarize(times);
    return {
      engine: 'fused',
      device: kind,
      precision,
      loss: name,
      spec,
      stepMs: s.ms,
      stepSpreadMs: s.msSpread,
      pipelinedMs,
      peakBytes: meter.read().peak - base,
      lossValue,
      graphNodes: device instanceof CudaDevice ? (device.graphNodes ?? null) : null,
    };
  } finally {
    trainer.dispose();
  }
}

/** {@link measure}, plus the per-op profile of a second engine when asked for (CUDA). */
async function one(
  o: FusedBenchOptions,
  kind: FusedDeviceKind,
  precision: FusedPrecision,
  name: string,
  spec: LossSpec,
  batches: StepBatch[],
): Promise<FusedTrainResult> {
  const r = await measure(o, kind, precision, name, spec, batches);
  const profile = o.profile && kind === 'cuda' ? profileSteps(o, precision, spec, batches) : undefined;
  return profile ? { ...r, profile } : r;
}

/** Runs the fused engine for every precision × loss (each in its own engine, freed after). */
export async function runFusedTrainBench(o: FusedBenchOptions): Promise<FusedTrainResult[]> {
  const { maxLen: L, numItems: C } = o.model;
  const batches = Array.from({ length: 4 }, (_, i) => syntheticBatch(o.batchSize, L, C, o.seed + i));
  const out: FusedTrainResult[] = [];
  const total = o.precisions.length * o.losses.length;
  for (const precision of o.precisions) {
    const kind = kindOf(o, precision);
    const why = unusable(o, kind, precision);
    for (const { name, spec } of o.losses) {
      o.onProgress?.(out.length, total, `fused ${kind} ${precision} ${name}`);
      const skipped = (why: string): FusedTrainResult => ({
        engine: 'fused',
        device: kind,
        precision,
        loss: name,
        spec,
        stepMs: null,
        stepSpreadMs: null,
        pipelinedMs: null,
        peakBytes: null,
        lossValue: null,
        graphNodes: null,
        skipped: why,
      });
      if (why) {
        out.push(skipped(why));
        continue;
      }
      try {
        out.push(await one(o, kind, precision, name, spec, batches));
      } catch (err) {
        const msg = String((err as Error)?.message ?? err)
          .split('\n')[0]!
          .slice(0, 300);
        out.push(skipped(/memory|OOM/i.test(msg) ? `OOM: ${msg}` : `error: ${msg}`));
      }
    }
  }
  o.onProgress?.(total, total, 'done');
  return out;
}
