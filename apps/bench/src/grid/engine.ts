/**
 * The engine a grid cell trains with: the fused engine (CUDA, WebGPU, or the host's float64
 * references for tests) or the tfjs engine on the current tfjs backend, behind one small
 * interface: queue a step, read the losses, evaluate, and the peak device bytes its meter saw.
 */
import {
  type AdamWConfig,
  createFusedDevice,
  type FusedDevice,
  FusedTrainer,
  fusedBytes,
  HostDevice,
  type LossSpec,
  SASRec,
  type SASRecConfig,
  Trainer,
  type TrainingEngine,
} from '@cutrec/models';
import { cudaMemoryMeter, memoryMeter } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';

/** Where a cell's step runs: the fused engine's device, or the tfjs engine's backend. */
export type CellDevice = 'cuda' | 'webgpu' | 'host' | 'tfjs-webgpu' | 'tfjs-cpu';

/** A built engine of a cell. */
export interface CellEngine {
  readonly trainer: TrainingEngine;
  readonly device: CellDevice;
  /** Queues one step on `batch` (the fused engine does not wait for it). */
  step(batch: { inputs: Int32Array; targets: Int32Array }): Promise<void>;
  /** The losses of the steps since the last call, oldest first (waits for them). */
  losses(): Promise<number[]>;
  /** Peak device bytes since the engine was built, beyond what was held before (null without a meter: host, tfjs CPU). */
  peakBytes(): number | null;
  /** The fused engine's predicted device bytes (`fusedBytes`); null for tfjs. */
  readonly predictedBytes: number | null;
  /** Copies the current parameters to the host (the best epoch's, for the test evaluation). */
  keepBest(): Promise<void>;
  /** Puts the kept parameters back (after training). */
  restoreBest(): Promise<void>;
  /** The whole training state as named host arrays (the fused engine; absent for tfjs, whose cut cells start over). */
  saveState?(): Promise<EngineState>;
  /** Restores what {@link CellEngine.saveState} gave. */
  loadState?(state: EngineState): void;
  dispose(): void;
}

/** A cell engine's training state: the step, and parameters (`p.`), Adam moments (`m.`, `v.`) and the kept best parameters (`best.`) by name. */
export interface EngineState {
  step: number;
  arrays: Record<string, Float32Array>;
}

/** `prefix.name` entries of `arrays` by name. */
function prefixed(arrays: Record<string, Float32Array>, prefix: string): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, a] of Object.entries(arrays)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = a;
  return out;
}

/** What {@link cellEngine} builds from. */
export interface CellEngineOptions {
  engine: 'fused' | 'tfjs';
  /** The fused engine's device. */
  device: 'cuda' | 'webgpu' | 'host';
  /** bf16 on CUDA, f16 on WebGPU (an adapter with 'shader-f16'). */
  precision: 'fp32' | 'bf16' | 'f16';
  model: SASRecConfig;
  loss: LossSpec;
  optimizer: AdamWConfig;
  seed: number;
  batchSize: number;
  /** The WebGPU device for the fused engine on WebGPU (default: tfjs's). */
  gpu?: GPUDevice;
}

type Meter = { read(): { current: number; peak: number }; resetPeak(): void };

/** A meter's peak since now, beyond what is held now. */
function peakSince(meter: Meter | null): () => number | null {
  if (!meter) return () => null;
  const base = meter.read().current;
  meter.resetPeak();
  return () => meter.read().peak - base;
}

function fusedDevice(o: CellEngineOptions): FusedDevice<unknown> {
  if (o.device === 'host') return new HostDevice() as FusedDevice<unknown>;
  return createFusedDevice({ device: o.device, precision: o.precision, ...(o.gpu ? { gpu: o.gpu } : {}) })
    .device;
}

function fusedEngine(o: CellEngineOptions): CellEngine {
  const meter = o.device === 'cuda' ? cudaMemoryMeter() : o.device === 'webgpu' ? memoryMeter() : null;
  const peakBytes = peakSince(meter);
  const device = fusedDevice(o);
  let trainer: FusedTrainer<unknown>;
  try {
    trainer = new FusedTrainer(o.model, device, {
      loss: o.loss,
      optimizer: o.optimizer,
      seed: o.seed,
      batchSize: o.batchSize,
    });
  } catch (err) {
    device.dispose();
    throw err;
  }
  const taken: number[] = [];
  let pending = 0;
  let best: Record<string, Float32Array> | undefined;
  const take = async () => {
    taken.push(...(await trainer.takeLossesAsync()));
    pending = 0;
  };
  return {
    trainer,
    device: o.device,
    predictedBytes: fusedBytes(trainer.layout, trainer.shapes, trainer.config.norm, device.dtype).total,
    async step(batch) {
      await trainer.enqueueStepAsync(batch);
      // Read the losses before the ring would drop them.
      if (++pending >= device.lossRing) await take();
    },
    async losses() {
      await take();
      return taken.splice(0);
    },
    peakBytes,
    async keepBest() {
      best = await trainer.parametersAsync();
    },
    async restoreBest() {
      if (best) trainer.loadState(trainer.step, best);
    },
    async saveState() {
      const t = await trainer.trainingState();
      const arrays: Record<string, Float32Array> = {};
      for (const [name, p] of Object.entries(t.params)) arrays[`p.${name}`] = p.data;
      for (const [name, a] of Object.entries(t.m)) arrays[`m.${name}`] = a;
      for (const [name, a] of Object.entries(t.v)) arrays[`v.${name}`] = a;
      for (const [name, a] of Object.entries(best ?? {})) arrays[`best.${name}`] = a;
      return { step: t.step, arrays };
    },
    loadState(state) {
      const a = state.arrays;
      trainer.loadState(state.step, prefixed(a, 'p.'), prefixed(a, 'm.'), prefixed(a, 'v.'));
      const kept = prefixed(a, 'best.');
      best = Object.keys(kept).length ? kept : undefined;
    },
    dispose: () => trainer.dispose(),
  };
}

function tfjsEngine(o: CellEngineOptions): CellEngine {
  const onWebGpu = tf.getBackend() === 'webgpu';
  const peakBytes = peakSince(onWebGpu ? memoryMeter() : null);
  const model = new SASRec(o.model);
  const trainer = new Trainer(model, { loss: o.loss, optimizer: o.optimizer, seed: o.seed });
  const taken: number[] = [];
  let best: Float32Array[] | undefined;
  return {
    trainer,
    device: onWebGpu ? 'tfjs-webgpu' : 'tfjs-cpu',
    predictedBytes: null,
    async step(batch) {
      taken.push(await trainer.trainStepAsync(batch));
    },
    async losses() {
      return taken.splice(0);
    },
    peakBytes,
    async keepBest() {
      best = await Promise.all(model.parameters.map((p) => p.variable.data() as Promise<Float32Array>));
    },
    async restoreBest() {
      if (!best) return;
      for (const [i, p] of model.parameters.entries()) {
        const t = tf.tensor(best[i]!, p.variable.shape, 'float32');
        p.variable.assign(t);
        t.dispose();
      }
    },
    dispose: () => {
      trainer.dispose();
      model.dispose();
    },
  };
}

/** Builds a cell's engine (throws, naming the option, where the device or precision is not usable). */
export function cellEngine(o: CellEngineOptions): CellEngine {
  if (o.engine === 'tfjs' && o.precision !== 'fp32')
    throw new RangeError(`--precision ${o.precision} needs --engine fused (the tfjs engine is fp32)`);
  return o.engine === 'fused' ? fusedEngine(o) : tfjsEngine(o);
}
