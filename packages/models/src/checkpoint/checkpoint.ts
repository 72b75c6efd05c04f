/**
 * Training checkpoints in the safetensors format: model weights ("model.<name>"), AdamW moments
 * ("adam.m.<name>", "adam.v.<name>"), and in "__metadata__" the step, seeds, model config,
 * optimizer config, loss and the caller's data position; written to a temporary file, synced,
 * then renamed over the target, so a crash never leaves a half-written checkpoint.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ResolvedSASRecConfig, SASRecConfig } from '../config.js';
import type { LossSpec } from '../losses/types.js';
import type { AdamWConfig, ResolvedAdamWConfig } from '../optim/adamw.js';
import { SASRec } from '../sasrec.js';
import { Trainer } from '../train.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from './safetensors.js';

/** The format tag in a checkpoint's metadata. */
export const CHECKPOINT_FORMAT = 'cutrec.sasrec.v1';

/** What a checkpoint holds besides tensors. */
export interface CheckpointInfo {
  step: number;
  seed: number;
  ignoreIndex: number;
  config: SASRecConfig;
  optimizer: AdamWConfig;
  /** The loss, or undefined when it held a popularity table or a function (pass the loss to loadCheckpoint). */
  loss: LossSpec | undefined;
  /** The caller's own entries (e.g. epoch, batch within the epoch, data seed). */
  extra: Record<string, string>;
}

function lossForMetadata(loss: LossSpec): LossSpec | undefined {
  if (loss.kind === 'custom') return undefined;
  if (loss.kind === 'cce-' && typeof loss.sampler === 'object') return undefined;
  return loss;
}

/**
 * A trainer's whole state as host arrays: what a checkpoint holds, the same for every engine (so a
 * run trained on one engine resumes on the other).
 */
export interface TrainingState {
  step: number;
  seed: number;
  ignoreIndex: number;
  config: ResolvedSASRecConfig;
  optimizer: ResolvedAdamWConfig;
  loss: LossSpec;
  /** Parameters, and Adam's moments, by parameter name, with their shapes. */
  params: Record<string, { shape: number[]; data: Float32Array }>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/** Anything a checkpoint can be written from: the tfjs Trainer and the FusedTrainer. */
export interface Checkpointable {
  trainingState(): Promise<TrainingState>;
}

/** Checkpoint bytes of a trainer (model, optimizer state, step, seeds, configs) plus `extra` string entries. */
export async function checkpointBytes(
  trainer: Checkpointable,
  extra: Record<string, string | number> = {},
): Promise<Uint8Array> {
  const s = await trainer.trainingState();
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, p] of Object.entries(s.params)) {
    tensors[`model.${name}`] = { dtype: 'F32', shape: p.shape, data: p.data };
    tensors[`adam.m.${name}`] = { dtype: 'F32', shape: p.shape, data: s.m[name]! };
    tensors[`adam.v.${name}`] = { dtype: 'F32', shape: p.shape, data: s.v[name]! };
  }
  const loss = lossForMetadata(s.loss);
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    step: String(s.step),
    seed: String(s.seed),
    ignoreIndex: String(s.ignoreIndex),
    config: JSON.stringify(s.config),
    optimizer: JSON.stringify(s.optimizer),
    loss: loss ? JSON.stringify(loss) : '',
    extra: JSON.stringify(Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)]))),
  };
  return encodeSafetensors(tensors, metadata);
}

/** Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w');
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    const dir = openSync(dirname(path), 'r');
    fsyncSync(dir);
    closeSync(dir);
  } catch {
    // Directory fsync is not available everywhere (e.g. Windows); the rename has happened.
  }
}

/** Saves a trainer's full training state to `path` (safetensors), atomically. */
export async function saveCheckpoint(
  path: string,
  trainer: Checkpointable,
  extra: Record<string, string | number> = {},
): Promise<void> {
  writeFileAtomic(path, await checkpointBytes(trainer, extra));
}

function parseInfo(metadata: Record<string, string>, path: string): CheckpointInfo {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a cutrec SASRec checkpoint (format '${metadata.format}', expected '${CHECKPOINT_FORMAT}')`,
    );
  }
  return {
    step: Number(metadata.step),
    seed: Number(metadata.seed),
    ignoreIndex: Number(metadata.ignoreIndex ?? -1),
    config: JSON.parse(metadata.config!),
    optimizer: JSON.parse(metadata.optimizer!),
    loss: metadata.loss ? JSON.parse(metadata.loss) : undefined,
    extra: JSON.parse(metadata.extra ?? '{}'),
  };
}

function assignAll(model: SASRec, tensors: Record<string, SafeTensor>, path: string): void {
  for (const p of model.parameters) {
    const t = tensors[`model.${p.name}`];
    if (!t) throw new Error(`${path}: no tensor 'model.${p.name}'`);
    if (!tf.util.arraysEqual(t.shape, p.variable.shape)) {
      throw new Error(
        `${path}: 'model.${p.name}' has shape [${t.shape}], the model expects [${p.variable.shape}]`,
      );
    }
    tf.tidy(() => p.variable.assign(tf.tensor(t.data as Float32Array, t.shape, 'float32')));
  }
}

/** Reads a checkpoint's metadata and tensors. */
export async function readCheckpoint(
  path: string,
): Promise<{ info: CheckpointInfo; tensors: Record<string, SafeTensor> }> {
  const bytes = new Uint8Array(await readFile(path));
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return { info: parseInfo(decoded.metadata, path), tensors: decoded.tensors };
}

/** A model with the weights of a checkpoint (for evaluation and recommendations). */
export async function loadModel(path: string): Promise<{ model: SASRec; info: CheckpointInfo }> {
  const { info, tensors } = await readCheckpoint(path);
  const model = new SASRec(info.config);
  assignAll(model, tensors, path);
  return { model, info };
}

/**
 * Restores a trainer exactly as saved (weights, AdamW moments, step, seeds, configs), so the next
 * step equals the one the saved trainer would have taken. `options.loss` replaces the saved loss
 * (required when it held a popularity table).
 */
export async function loadCheckpoint(
  path: string,
  options: { loss?: LossSpec } = {},
): Promise<{ trainer: Trainer; model: SASRec; info: CheckpointInfo }> {
  const { info, tensors } = await readCheckpoint(path);
  const loss = options.loss ?? info.loss;
  if (!loss) throw new Error(`${path}: the saved loss held a popularity table; pass options.loss`);
  const model = new SASRec(info.config);
  assignAll(model, tensors, path);
  const trainer = new Trainer(model, {
    loss,
    optimizer: info.optimizer,
    seed: info.seed,
    ignoreIndex: info.ignoreIndex,
  });
  const moments: Record<string, { m: tf.Tensor; v: tf.Tensor }> = {};
  try {
    for (const p of model.parameters) {
      const m = tensors[`adam.m.${p.name}`];
      const v = tensors[`adam.v.${p.name}`];
      if (!m || !v) throw new Error(`${path}: no optimizer moments for '${p.name}'`);
      moments[p.name] = {
        m: tf.tensor(m.data as Float32Array, m.shape, 'float32'),
        v: tf.tensor(v.data as Float32Array, v.shape, 'float32'),
      };
    }
    trainer.optimizer.setState(info.step, moments);
  } finally {
    for (const mv of Object.values(moments)) tf.dispose([mv.m, mv.v]);
  }
  return { trainer, model, info };
}

/** The parameters and Adam moments of a checkpoint as host arrays by parameter name (every one present). */
export function checkpointArrays(
  tensors: Record<string, SafeTensor>,
  names: readonly string[],
  path: string,
): {
  params: Record<string, Float32Array>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
} {
  const out = {
    params: {} as Record<string, Float32Array>,
    m: {} as Record<string, Float32Array>,
    v: {} as Record<string, Float32Array>,
  };
  for (const name of names) {
    for (const [key, into] of [
      [`model.${name}`, out.params],
      [`adam.m.${name}`, out.m],
      [`adam.v.${name}`, out.v],
    ] as const) {
      const t = tensors[key];
      if (!t) throw new Error(`${path}: no tensor '${key}'`);
      into[name] = t.data as Float32Array;
    }
  }
  return out;
}
