/** Resuming the fused engine from a checkpoint (any engine's: the format and names are shared). */
import { type CheckpointInfo, checkpointArrays, readCheckpoint } from '../checkpoint/checkpoint.js';
import { resolveConfig } from '../config.js';
import type { LossSpec } from '../losses/types.js';
import { parameterSpecs } from '../sasrec.js';
import { type FusedDevice, FusedTrainer } from './engine.js';

/**
 * A fused trainer on `device` restored exactly from the checkpoint at `path` (weights, Adam
 * moments, step, seeds, configs); `options.loss` replaces the saved loss (required when it held a
 * popularity table).
 */
export async function loadFusedCheckpoint<B>(
  path: string,
  device: FusedDevice<B>,
  options: { batchSize: number; loss?: LossSpec },
): Promise<{ trainer: FusedTrainer<B>; info: CheckpointInfo }> {
  const { info, tensors } = await readCheckpoint(path);
  const loss = options.loss ?? info.loss;
  if (!loss) throw new Error(`${path}: the saved loss held a popularity table; pass options.loss`);
  const config = resolveConfig(info.config);
  const trainer = new FusedTrainer(config, device, {
    loss,
    optimizer: info.optimizer,
    seed: info.seed,
    ignoreIndex: info.ignoreIndex,
    batchSize: options.batchSize,
  });
  const { params, m, v } = checkpointArrays(
    tensors,
    parameterSpecs(config).map((s) => s.name),
    path,
  );
  trainer.loadState(info.step, params, m, v);
  return { trainer, info };
}
