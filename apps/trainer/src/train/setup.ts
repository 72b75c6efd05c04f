/**
 * Setting a run up: its plan checked, the data read, the backend ready, the model and optimizer
 * made or restored, and only then the run folder made, its baselines written and the start
 * event emitted. What the loop then needs is one {@link Run}.
 */
import { countTrainingBatches, evaluatePopularity } from '@cutrec/data';
import type { LossSpec, TrainingEngine } from '@cutrec/models';
import { type Backend, setupBackend } from '../backend.js';
import type { TrainConfig } from '../config/schema.js';
import { loadRunData, longestInput, type RunData } from '../data.js';
import { chooseEngine, createEngine, type EngineChoice, onBackend, restoreEngine } from '../engine.js';
import { explainCheckpointError, type MemorySettings } from '../errors.js';
import type { Metrics } from './events.js';
import { lossSpec, optimizerConfig, sasrecConfig } from './model.js';
import { openRunFolder, planRun, type RunPlan } from './plan.js';
import { FRESH, type Progress, progressFromExtra } from './progress.js';
import type { Reporter } from './reporter.js';
import { type RunPaths, runPaths, truncateMetrics, writeJson } from './run-folder.js';
import type { TrainRequest } from './train.js';

/** A run ready to train. */
export interface Run {
  config: TrainConfig;
  resumed: boolean;
  paths: RunPaths;
  data: RunData;
  backend: Backend;
  choice: EngineChoice;
  loss: LossSpec;
  trainer: TrainingEngine;
  progress: Progress;
  stepsPerEpoch: number;
  batchOpts: { batchSize: number; maxLen: number; numItems: number; seed: number };
  mem: MemorySettings;
  popularity: { valid: Metrics; test: Metrics };
  planted: { 'ndcg@10': number; 'hr@10': number } | undefined;
  reporter: Reporter;
}

/** Metrics at the config's cutoffs, never without the early-stopping metric's k. */
export function cutoffs(config: TrainConfig): number[] {
  const k = Number(config.train.metric.split('@')[1]);
  return [...new Set([...config.eval.ks, k])].sort((a, b) => a - b);
}

function memorySettings(config: TrainConfig): MemorySettings {
  return {
    batchSize: config.train.batchSize,
    maxLen: config.model.maxLen === 'auto' ? 50 : config.model.maxLen,
    hidden: config.model.hidden,
    negatives: config.loss.kind === 'ce' ? 'all' : config.loss.negatives,
    evalBatchSize: config.eval.batchSize,
  };
}

/** {@link restoreEngine}, with a broken checkpoint named and what to do said. */
export async function restore(
  choice: EngineChoice,
  path: string,
  options: { loss: LossSpec; batchSize: number },
  dir: string,
) {
  try {
    return await restoreEngine(choice, path, options);
  } catch (err) {
    throw explainCheckpointError(err, path, `train again (same flags, with --out ${dir} --overwrite)`);
  }
}

/**
 * The backend of a run; the fused engine on CUDA and the CUDA loss need only tfjs's host (CPU)
 * backend, the fused engine on WebGPU runs on tfjs's WebGPU device.
 */
async function backendOf(config: TrainConfig, choice: EngineChoice, reporter: Reporter): Promise<Backend> {
  const fusedCuda = choice.engine === 'fused' && choice.device !== 'webgpu';
  if (choice.device === 'webgpu') return setupBackend('webgpu', config.loss.impl, false);
  const hostOnly = fusedCuda || config.loss.impl === 'cuda';
  const backend = await setupBackend(hostOnly ? 'cpu' : config.backend, config.loss.impl, fusedCuda);
  if (backend.fallbackReason)
    reporter.warn(`no WebGPU adapter, training on the CPU: ${backend.fallbackReason}`);
  return backend;
}

/** The model and its optimizer: fresh, or exactly as the last checkpoint left them. */
async function trainerOf(
  plan: RunPlan,
  config: TrainConfig,
  choice: EngineChoice,
  loss: LossSpec,
  numItems: number,
  stepsPerEpoch: number,
): Promise<{ trainer: TrainingEngine; progress: Progress }> {
  const batchSize = config.train.batchSize;
  if (plan.kind === 'resume') {
    const restored = await restore(choice, runPaths(plan.dir).last, { loss, batchSize }, plan.dir);
    return { trainer: restored.trainer, progress: progressFromExtra(restored.extra) };
  }
  const trainer = createEngine(choice, sasrecConfig(config, numItems), {
    loss,
    optimizer: optimizerConfig(config, config.train.epochs * stepsPerEpoch),
    seed: config.train.seed,
    batchSize,
  });
  return { trainer, progress: { ...FRESH } };
}

/** Sets the run of `req` up (see the file's comment); throws before making a folder where it can. */
export async function setUpRun(req: TrainRequest): Promise<Run> {
  // Everything that can be checked is, before the data is read, a device touched or a folder made.
  const plan = planRun(req);
  let config = plan.config;
  const first = chooseEngine(config);
  const data = await loadRunData(config);
  const backend = await backendOf(config, first, req.reporter);
  const choice = onBackend(config, first, backend.name);
  if (config.model.maxLen === 'auto') {
    config = { ...config, model: { ...config.model, maxLen: Math.min(50, longestInput(data.split.train)) } };
  }
  const numItems = data.dataset.numItems;
  const batchOpts = {
    batchSize: config.train.batchSize,
    maxLen: config.model.maxLen as number,
    numItems,
    seed: config.train.seed,
  };
  const stepsPerEpoch = countTrainingBatches(data.split.train, batchOpts);
  if (stepsPerEpoch === 0)
    throw new Error('the training split has no user with 2 or more items; nothing to train on');
  const loss = lossSpec(config, data.split.train, numItems);
  const { trainer, progress } = await trainerOf(plan, config, choice, loss, numItems, stepsPerEpoch);
  // The folder is made once everything else is ready, so a failure above leaves nothing behind.
  const paths = openRunFolder(plan, config);
  const resumed = plan.kind === 'resume';
  if (resumed) truncateMetrics(paths, progress.epoch);
  const run: Run = {
    config,
    resumed,
    paths,
    data,
    backend,
    choice,
    loss,
    trainer,
    progress,
    stepsPerEpoch,
    batchOpts,
    mem: memorySettings(config),
    popularity: popularityBaseline(data, config),
    planted: data.synthetic
      ? { 'ndcg@10': data.synthetic.best.ndcg10, 'hr@10': data.synthetic.best.hr10 }
      : undefined,
    reporter: req.reporter,
  };
  writeBaselines(run);
  emitStart(run);
  return run;
}

/** The popularity baseline on validation and test. */
function popularityBaseline(data: RunData, config: TrainConfig): { valid: Metrics; test: Metrics } {
  const opts = { ks: cutoffs(config), numItems: data.dataset.numItems, removeSeen: config.eval.removeSeen };
  return {
    valid: evaluatePopularity(data.split.train, data.split.valid, opts),
    test: evaluatePopularity(data.split.train, data.split.test, opts),
  };
}

function writeBaselines({ paths, popularity, planted, data }: Run): void {
  writeJson(paths.baselines, {
    popularity,
    ...(planted
      ? { plantedBest: { test: planted, expectedNdcg10: data.synthetic!.best.expectedNdcg10 } }
      : {}),
  });
}

function emitStart(run: Run): void {
  const { backend, choice, data, config, planted } = run;
  run.reporter.setKeys([config.train.metric, 'ndcg@10', 'hr@10']);
  run.reporter.emit({
    event: 'start',
    runDir: run.paths.dir,
    resumed: run.resumed,
    backend: backend.name,
    device: backend.device,
    engine: choice.engine,
    precision: choice.precision,
    ...(choice.reason ? { engineReason: choice.reason } : {}),
    dataset: {
      name: data.name,
      users: data.stats.numUsers,
      items: data.stats.numItems,
      interactions: data.stats.numInteractions,
    },
    stepsPerEpoch: run.stepsPerEpoch,
    epochs: config.train.epochs,
    startEpoch: run.progress.epoch,
    popularity: run.popularity,
    ...(planted ? { plantedBest: planted } : {}),
  });
}
