/**
 * Which engine trains a run, and building or restoring it: the fused engine on CUDA where a GPU,
 * the driver and our kernels are usable and the loss is one it runs, else the tfjs engine on the
 * chosen tfjs backend. `--engine fused` without CUDA runs the fused engine on WebGPU (float32),
 * `--precision f16` runs it there in half precision on adapters with 'shader-f16' (even where CUDA
 * is usable), and so does `--engine auto` (float32) once tfjs's backend turns out to be WebGPU
 * ({@link onBackend}: measured 4.5–4.9× faster than the tfjs engine per epoch of the README's `cutrec train` on lavapipe, side by side; 12.7 ms per step on an
 * H200 through Vulkan against the tfjs step's 228 ms in an earlier run; packages/models/BENCHMARKS.md). Both are @cutrec/models `TrainingEngine`s.
 * A half precision is never dropped quietly: bf16 or f16 with `--engine tfjs`, or bf16 where CUDA
 * is not usable, is an error that names the flag.
 */

import {
  type AdamWConfig,
  createFusedDevice,
  type FusedDevice,
  FusedTrainer,
  fusedDeviceKind,
  fusedWebGpuUnavailableReason,
  type LossSpec,
  loadCheckpoint,
  loadFusedCheckpoint,
  SASRec,
  type SASRecConfig,
  Trainer,
  type TrainingEngine,
  tfjsDevice,
} from '@cutrec/models';
import { cudaDevices } from '@cutrec/tensor';
import type { TrainConfig } from './config/schema.js';

/** The engine a run uses, with its precision and why (for `cutrec info` and the start event). */
export interface EngineChoice {
  engine: 'fused' | 'tfjs';
  /** 'bf16' is CUDA's half precision, 'f16' WebGPU's; null for tfjs. */
  precision: 'fp32' | 'bf16' | 'f16' | null;
  /** Where the fused engine runs (absent for tfjs). */
  device?: 'cuda' | 'webgpu';
  /** Why 'auto' did not pick the fused engine. */
  reason?: string;
}

/** Why the fused engine cannot train `config`'s loss on any device, or undefined when it can. */
function lossUnsupported(config: Pick<TrainConfig, 'loss'>): string | undefined {
  if (config.loss.kind === 'cce-' && config.loss.sampler === 'inBatch') {
    return 'the fused engine does not run --sampler inBatch (use uniform or popularity, or --engine tfjs)';
  }
  return undefined;
}

/** Why the fused engine cannot train `config` on CUDA here, or undefined when it can. */
export function fusedUnavailable(config: Pick<TrainConfig, 'loss'>): string | undefined {
  return lossUnsupported(config) ?? fusedDeviceKind().reason;
}

/** The engine and precision of a run from its config (`--engine`, `--precision`). */
export function chooseEngine(
  config: Pick<TrainConfig, 'engine' | 'precision' | 'loss'> & Partial<Pick<TrainConfig, 'backend'>>,
): EngineChoice {
  if (config.engine === 'tfjs' && (config.precision === 'bf16' || config.precision === 'f16'))
    throw new Error(
      `--precision ${config.precision} is the fused engine's; the tfjs engine trains in fp32: drop --precision or use --engine fused`,
    );
  if (config.precision === 'f16') {
    // f16 is the WebGPU engine's half precision (CUDA's is bf16): the fused engine on WebGPU, even
    // where CUDA is usable. Whether the adapter has 'shader-f16' is known once tfjs is on it
    // ({@link onBackend}).
    const lossWhy = lossUnsupported(config);
    if (lossWhy)
      throw new Error(`--${config.engine === 'fused' ? 'engine fused' : 'precision f16'}: ${lossWhy}`);
    if (config.backend === 'cpu')
      throw new Error(
        '--precision f16 runs the fused engine on WebGPU, which --backend cpu rules out: use --backend webgpu or auto, or --precision fp32',
      );
    return { engine: 'fused', precision: 'f16', device: 'webgpu' };
  }
  const why = config.engine === 'tfjs' ? undefined : fusedUnavailable(config);
  if (config.engine === 'fused' && why) {
    // No CUDA: the fused engine on WebGPU (the backend must be able to be WebGPU; fp32 only).
    const lossWhy = lossUnsupported(config);
    if (lossWhy) throw new Error(`--engine fused: ${lossWhy}`);
    if (config.backend === 'cpu')
      throw new Error(`--engine fused: ${why}; and --backend cpu rules out WebGPU`);
    if (config.precision === 'bf16')
      throw new Error(
        `--engine fused --precision bf16 needs CUDA: ${why} (on WebGPU use --precision f16 or fp32)`,
      );
    return { engine: 'fused', precision: 'fp32', device: 'webgpu' };
  }
  if (config.precision === 'bf16' && why)
    throw new Error(
      `--precision bf16 needs the fused engine on CUDA: ${why} (on WebGPU use --precision f16 or fp32)`,
    );
  if (config.engine === 'tfjs' || why)
    return { engine: 'tfjs', precision: null, ...(why ? { reason: why } : {}) };
  // 'auto' is fp32 for now: the bf16 step does not yet meet the engine contract's 2e-2 on every
  // case (packages/models/BENCHMARKS.md); --precision bf16 asks for it (sm_80 and newer).
  const precision = config.precision === 'auto' ? 'fp32' : config.precision;
  if (precision === 'bf16' && (cudaDevices()[0]?.major ?? 0) < 8) {
    throw new Error(
      '--precision bf16 needs an NVIDIA GPU of compute capability 8.0 or newer; use --precision fp32',
    );
  }
  return { engine: 'fused', precision, device: 'cuda' };
}

/**
 * The choice once the tfjs backend is set up (`gpu`: tfjs's WebGPU device, if any).
 * `--precision f16` (the fused engine on WebGPU, from `chooseEngine`) needs tfjs on a WebGPU device
 * with 'shader-f16', else throws naming the flag and the feature. `--engine auto`: where
 * `chooseEngine` left the tfjs engine only for want of CUDA and tfjs runs on WebGPU, the fused
 * engine on that device (fp32; 'auto' precision is fp32 there too); a loss the fused engine does
 * not run, an explicit `--impl`, `--precision bf16`, or an adapter whose limits the fused kernels
 * exceed keep tfjs (the last with its reason).
 */
export function onBackend(
  config: Pick<TrainConfig, 'engine' | 'precision' | 'loss'>,
  choice: EngineChoice,
  backend: 'webgpu' | 'cpu',
  gpu: GPUDevice | undefined = tfjsDevice(),
): EngineChoice {
  if (choice.precision === 'f16') {
    if (backend !== 'webgpu' || !gpu)
      throw new Error(
        `--precision f16 runs the fused engine on WebGPU, and tfjs is ${backend === 'webgpu' ? 'not on a WebGPU device' : 'on the CPU'} here: use --precision fp32`,
      );
    if (!gpu.features.has('shader-f16'))
      throw new Error(
        "--precision f16 needs the WebGPU adapter's 'shader-f16' feature, which this one lacks: use --precision fp32",
      );
    return choice;
  }
  if (config.engine !== 'auto' || choice.engine === 'fused' || backend !== 'webgpu') return choice;
  if (lossUnsupported(config) || config.loss.impl !== 'auto' || config.precision === 'bf16') return choice;
  const why = fusedWebGpuUnavailableReason(gpu);
  if (why) return { ...choice, reason: `${choice.reason ?? 'no CUDA'}; on WebGPU: ${why}` };
  return { engine: 'fused', precision: 'fp32', device: 'webgpu' };
}

/** `f` of the fused engine's device for `choice` (CUDA, or WebGPU on tfjs's device). */
function withFusedDevice<T>(choice: EngineChoice, f: <B>(device: FusedDevice<B>) => T): T {
  const { device } = createFusedDevice({
    device: choice.device ?? 'cuda',
    precision: choice.precision ?? 'fp32',
  });
  return f(device);
}

/** A fresh trainer of the chosen engine. */
export function createEngine(
  choice: EngineChoice,
  model: SASRecConfig,
  options: { loss: LossSpec; optimizer: AdamWConfig; seed: number; batchSize: number },
): TrainingEngine {
  if (choice.engine === 'fused') return withFusedDevice(choice, (d) => new FusedTrainer(model, d, options));
  return new Trainer(new SASRec(model), {
    loss: options.loss,
    optimizer: options.optimizer,
    seed: options.seed,
  });
}

/** A trainer of the chosen engine restored exactly from a checkpoint (written by either engine). */
export async function restoreEngine(
  choice: EngineChoice,
  path: string,
  options: { loss: LossSpec; batchSize: number },
): Promise<{ trainer: TrainingEngine; extra: Record<string, string> }> {
  if (choice.engine === 'fused') {
    const { trainer, info } = await withFusedDevice(choice, (d) => loadFusedCheckpoint(path, d, options));
    return { trainer, extra: info.extra };
  }
  const { trainer, info } = await loadCheckpoint(path, { loss: options.loss });
  return { trainer, extra: info.extra };
}
