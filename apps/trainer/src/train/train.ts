/**
 * `cutrec train`: the training loop. Epochs of shuffled batches, validation after each epoch,
 * early stopping on a validation metric, the best and the last checkpoint, a signal handler that
 * finishes the current step and checkpoints, exact resume, and the run folder's files.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { countTrainingBatches, type Example, evaluatePopularity, trainingBatches } from '@cutrec/data';
import { type LossSpec, saveCheckpoint, type TrainingEngine } from '@cutrec/models';
import { type Backend, setupBackend } from '../backend.js';
import type { TrainConfig } from '../config/schema.js';
import { loadRunData, longestInput, type RunData } from '../data.js';
import { chooseEngine, createEngine, type EngineChoice, restoreEngine } from '../engine.js';
import {
  explainCheckpointError,
  explainOutOfMemory,
  InterruptedError,
  type MemorySettings,
} from '../errors.js';
import { writeReport } from '../report/report.js';
import type { EpochRecord, Metrics, TestRecord } from './events.js';
import { lossSpec, optimizerConfig, sasrecConfig } from './model.js';
import { openRunFolder, planRun, type ResumeOverrides } from './plan.js';
import type { Reporter } from './reporter.js';
import { appendMetrics, resumeCommand, runPaths, truncateMetrics, writeJson } from './run-folder.js';

/** What `cutrec train` was asked to do. */
export interface TrainRequest {
  /** The resolved configuration (ignored when resuming, except the fields in `resumeOverrides`). */
  config: TrainConfig;
  /** The run folder; default `runs/<timestamp>-<dataset>-<loss>`. */
  out?: string;
  /** A run folder to continue from its last checkpoint. */
  resume?: string;
  /** Fields a resumed run may change (as flag values): more epochs, another patience. */
  resumeOverrides?: ResumeOverrides;
  /** With `out`: replace the run already there. */
  overwrite?: boolean;
  reporter: Reporter;
}

/** The outcome of a finished run. */
export interface TrainResult {
  runDir: string;
  bestEpoch: number;
  test: Metrics;
  popularity: Metrics;
}

/** Training progress kept in a checkpoint's extra entries, so a resumed run continues exactly. */
interface Progress {
  /** The epoch in progress (or the next one when `batch` is 0). */
  epoch: number;
  /** Batches of `epoch` already trained on. */
  batch: number;
  /** Sum and count of the losses of those batches, and their time and positions. */
  lossSum: number;
  lossCount: number;
  epochTime: number;
  epochPositions: number;
  bestValue: number;
  bestEpoch: number;
  badEpochs: number;
}

const FRESH: Progress = {
  epoch: 0,
  batch: 0,
  lossSum: 0,
  lossCount: 0,
  epochTime: 0,
  epochPositions: 0,
  bestValue: Number.NEGATIVE_INFINITY,
  bestEpoch: -1,
  badEpochs: 0,
};

function progressFromExtra(extra: Record<string, string>): Progress {
  const p = { ...FRESH };
  for (const key of Object.keys(FRESH) as (keyof Progress)[]) {
    const v = extra[key];
    if (v === undefined)
      throw new Error(`checkpoint has no '${key}' entry: it was not written by cutrec train`);
    p[key] = Number(v);
  }
  return p;
}

function progressToExtra(p: Progress): Record<string, string> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, String(v)]));
}

/** Metrics at the config's cutoffs, never without the early-stopping metric's k. */
export function cutoffs(config: TrainConfig): number[] {
  const k = Number(config.train.metric.split('@')[1]);
  return [...new Set([...config.eval.ks, k])].sort((a, b) => a - b);
}

/** Ranking metrics of a trainer's current model on `examples` (full catalog). */
export async function evaluate(
  trainer: TrainingEngine,
  examples: readonly Example[],
  config: TrainConfig,
  ks: readonly number[] = cutoffs(config),
): Promise<Metrics> {
  return trainer.evaluate(examples, {
    ks,
    removeSeen: config.eval.removeSeen,
    batchSize: config.eval.batchSize,
  });
}

/** The popularity baseline on validation and test. */
function popularityBaseline(data: RunData, config: TrainConfig): { valid: Metrics; test: Metrics } {
  const opts = { ks: cutoffs(config), numItems: data.dataset.numItems, removeSeen: config.eval.removeSeen };
  return {
    valid: evaluatePopularity(data.split.train, data.split.valid, opts),
    test: evaluatePopularity(data.split.train, data.split.test, opts),
  };
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

const SIGNAL_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** How long after a signal the same signal counts as its echo (ms). */
const ECHO_MS = 500;

/**
 * Watches SIGINT/SIGTERM: the first asks the loop to stop after its step, a second exits at once.
 * A repeat within {@link ECHO_MS} is the same Ctrl-C arriving twice (from the terminal to the
 * process group, and forwarded by npx), not a second request.
 */
function watchSignals(): { requested: () => string | undefined; dispose: () => void } {
  let signal: string | undefined;
  let at = 0;
  const handler = (s: NodeJS.Signals) => {
    if (signal && performance.now() - at < ECHO_MS) return;
    if (signal) {
      process.stderr.write(`cutrec: ${s} again; exiting without waiting (the last checkpoint is intact)\n`);
      process.exit(SIGNAL_CODES[s] ?? 1);
    }
    signal = s;
    at = performance.now();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    requested: () => signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

function interrupted(
  signal: string,
  epoch: number,
  step: number,
  checkpoint: string,
  resume: string,
): InterruptedError {
  return new InterruptedError(
    `interrupted (${signal}) after step ${step} (epoch ${epoch + 1}); checkpoint written to ${checkpoint}\nresume with: ${resume}`,
    SIGNAL_CODES[signal] ?? 1,
  );
}

/** {@link restoreEngine}, with a broken checkpoint named and what to do said. */
async function restore(
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

/** Runs `cutrec train`; resolves when training and the final test evaluation are done. */
export async function train(req: TrainRequest): Promise<TrainResult> {
  const { reporter } = req;
  const signals = watchSignals();
  try {
    return await trainInner(req, reporter, signals.requested);
  } finally {
    signals.dispose();
  }
}

async function trainInner(
  req: TrainRequest,
  reporter: Reporter,
  stopRequested: () => string | undefined,
): Promise<TrainResult> {
  // Everything that can be checked is, before the data is read, a device touched or a folder made.
  const plan = planRun(req);
  let config = plan.config;
  const resumed = plan.kind === 'resume';
  const choice = chooseEngine(config);
  const data = await loadRunData(config);
  // The fused engine and the CUDA loss need no tfjs backend beyond the host (CPU) one.
  const hostOnly = choice.engine === 'fused' || config.loss.impl === 'cuda';
  const backend = await setupBackend(
    hostOnly ? 'cpu' : config.backend,
    config.loss.impl,
    choice.engine === 'fused',
  );
  if (backend.fallbackReason)
    reporter.warn(`no WebGPU adapter, training on the CPU: ${backend.fallbackReason}`);
  if (config.model.maxLen === 'auto') {
    config = { ...config, model: { ...config.model, maxLen: Math.min(50, longestInput(data.split.train)) } };
  }
  const mem = memorySettings(config);
  const C = data.dataset.numItems;
  const batchOpts = {
    batchSize: config.train.batchSize,
    maxLen: config.model.maxLen as number,
    numItems: C,
    seed: config.train.seed,
  };
  const stepsPerEpoch = countTrainingBatches(data.split.train, batchOpts);
  if (stepsPerEpoch === 0)
    throw new Error('the training split has no user with 2 or more items; nothing to train on');
  const loss = lossSpec(config, data.split.train, C);
  const keyMetric = config.train.metric;
  reporter.setKeys([keyMetric, 'ndcg@10', 'hr@10']);

  // The model and its optimizer: fresh, or exactly as the last checkpoint left them.
  let trainer: TrainingEngine;
  let progress: Progress;
  const batchSize = config.train.batchSize;
  if (resumed) {
    const last = runPaths(plan.dir).last;
    const restored = await restore(choice, last, { loss, batchSize }, plan.dir);
    trainer = restored.trainer;
    progress = progressFromExtra(restored.extra);
  } else {
    trainer = createEngine(choice, sasrecConfig(config, C), {
      loss,
      optimizer: optimizerConfig(config, config.train.epochs * stepsPerEpoch),
      seed: config.train.seed,
      batchSize,
    });
    progress = { ...FRESH };
  }
  // The folder is made once everything else is ready, so a failure above leaves nothing behind.
  const paths = openRunFolder(plan, config);
  if (resumed) truncateMetrics(paths, progress.epoch);

  const popularity = popularityBaseline(data, config);
  const planted = data.synthetic
    ? { 'ndcg@10': data.synthetic.best.ndcg10, 'hr@10': data.synthetic.best.hr10 }
    : undefined;
  writeJson(paths.baselines, {
    popularity,
    ...(planted
      ? { plantedBest: { test: planted, expectedNdcg10: data.synthetic!.best.expectedNdcg10 } }
      : {}),
  });
  reporter.emit({
    event: 'start',
    runDir: paths.dir,
    resumed,
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
    stepsPerEpoch,
    epochs: config.train.epochs,
    startEpoch: progress.epoch,
    popularity,
    ...(planted ? { plantedBest: planted } : {}),
  });

  const saveLast = async (p: Progress) => {
    await saveCheckpoint(paths.last, trainer, progressToExtra(p));
    reporter.emit({
      event: 'checkpoint',
      kind: 'last',
      path: paths.last,
      epoch: p.epoch,
      step: trainer.step,
    });
  };
  // A GPU error (out of memory, device lost) arrives asynchronously; it wins over what it caused (e.g. a NaN loss).
  const checkGpu = () => {
    const e = backend.takeError();
    if (e) throw e;
  };

  // A resumed run that had already stopped early stays stopped (unless --patience was raised).
  let stoppedEarly = config.train.patience > 0 && progress.badEpochs >= config.train.patience;
  try {
    for (let epoch = progress.epoch; epoch < config.train.epochs && !stoppedEarly; epoch++) {
      const p = progress;
      backend.resetPeak();
      reporter.epochStart(epoch, config.train.epochs, stepsPerEpoch, p.batch);
      let b = 0;
      for (const batch of trainingBatches(data.split.train, batchOpts, epoch)) {
        if (b++ < p.batch) continue; // trained on before the checkpoint
        const t0 = performance.now();
        let l: number;
        try {
          l = await trainer.trainStepAsync(batch);
          checkGpu();
        } catch (err) {
          throw explainOutOfMemory(backend.takeError() ?? err, mem, 'training');
        }
        p.epochTime += (performance.now() - t0) / 1000;
        let positions = 0;
        for (const t of batch.targets) if (t !== -1) positions++;
        p.epochPositions += positions;
        p.lossSum += l;
        p.lossCount += 1;
        p.batch = b;
        reporter.step(b, l, p.epochPositions / Math.max(p.epochTime, 1e-9));
        // Let signal handlers (and the progress bar's timer) run: a CPU step never yields by itself.
        await new Promise((r) => setImmediate(r));
        const signal = stopRequested();
        if (signal && b < stepsPerEpoch) {
          reporter.stopBar();
          await saveLast(p);
          const resume = resumeCommand(paths.dir);
          reporter.emit({
            event: 'interrupted',
            signal,
            epoch,
            step: trainer.step,
            checkpoint: paths.last,
            resume,
          });
          throw interrupted(signal, epoch, trainer.step, paths.last, resume);
        }
      }
      reporter.stopBar();
      const peak = backend.peak();
      const record: EpochRecord = {
        type: 'epoch',
        epoch,
        step: trainer.step,
        trainLoss: p.lossSum / Math.max(1, p.lossCount),
        epochTimeSec: p.epochTime,
        positionsPerSec: p.epochPositions / Math.max(p.epochTime, 1e-9),
        peakGpuBytes: peak,
        lr: trainer.currentLr(),
      };
      const { type: _t, valid: _v, ...epochEvent } = record;
      reporter.emit({ event: 'epoch', ...epochEvent });

      const next: Progress = {
        ...p,
        epoch: epoch + 1,
        batch: 0,
        lossSum: 0,
        lossCount: 0,
        epochTime: 0,
        epochPositions: 0,
      };
      const last = epoch + 1 === config.train.epochs;
      let improved = false;
      if (config.train.validation && ((epoch + 1) % config.train.evalEvery === 0 || last)) {
        const t0 = performance.now();
        let valid: Metrics;
        try {
          valid = await evaluate(trainer, data.split.valid, config);
          checkGpu();
        } catch (err) {
          throw explainOutOfMemory(backend.takeError() ?? err, mem, 'evaluation');
        }
        record.valid = valid;
        record.evalTimeSec = (performance.now() - t0) / 1000;
        const value = valid[keyMetric] ?? Number.NaN;
        improved = value > next.bestValue;
        if (improved) {
          next.bestValue = value;
          next.bestEpoch = epoch;
          next.badEpochs = 0;
        } else {
          next.badEpochs += 1;
        }
        reporter.emit({ event: 'eval', epoch, split: 'valid', metrics: valid, best: improved });
      }
      appendMetrics(paths, record);
      if (improved) {
        await saveCheckpoint(paths.best, trainer, progressToExtra(next));
        reporter.emit({ event: 'checkpoint', kind: 'best', path: paths.best, epoch, step: trainer.step });
      }
      await saveLast(next);
      progress = next;
      if (config.train.patience > 0 && next.badEpochs >= config.train.patience && !last) {
        reporter.emit({
          event: 'early-stop',
          epoch,
          bestEpoch: next.bestEpoch,
          patience: config.train.patience,
        });
        stoppedEarly = true;
      }
      const signal = stopRequested();
      if (signal && !last && !stoppedEarly) {
        const resume = resumeCommand(paths.dir);
        reporter.emit({
          event: 'interrupted',
          signal,
          epoch: epoch + 1,
          step: trainer.step,
          checkpoint: paths.last,
          resume,
        });
        throw interrupted(signal, epoch, trainer.step, paths.last, resume);
      }
    }
  } finally {
    reporter.stopBar();
  }

  // Test metrics of the best checkpoint (the last one when validation never improved).
  const bestPath = existsSync(paths.best) ? paths.best : paths.last;
  trainer.dispose();
  const { trainer: best } = await restore(choice, bestPath, { loss, batchSize }, paths.dir);
  let test: Metrics;
  try {
    test = await evaluate(best, data.split.test, config);
    checkGpu();
  } catch (err) {
    throw explainOutOfMemory(backend.takeError() ?? err, mem, 'evaluation');
  }
  best.dispose();
  const bestEpoch = progress.bestEpoch >= 0 ? progress.bestEpoch : progress.epoch - 1;
  reporter.emit({ event: 'eval', epoch: bestEpoch, split: 'test', metrics: test, best: true });
  const testRecord: TestRecord = { type: 'test', bestEpoch, test, popularity: popularity.test };
  const epochs = truncateMetrics(paths, progress.epoch);
  appendMetrics(paths, testRecord);
  writeJson(paths.test, {
    bestEpoch,
    checkpoint: relative(paths.dir, bestPath),
    test,
    popularity: popularity.test,
    ...(planted ? { plantedBest: planted } : {}),
    backend: { name: backend.name, device: backend.device },
    engine: { name: choice.engine, precision: choice.precision },
  });
  await writeReport(paths);
  const times = epochs.map((r) => r.epochTimeSec);
  const peaks = epochs.map((r) => r.peakGpuBytes).filter((x): x is number => x !== null);
  reporter.emit({
    event: 'done',
    runDir: paths.dir,
    bestEpoch,
    epochs: progress.epoch,
    test,
    popularity: popularity.test,
    epochTimeSec: times.length ? times.reduce((a, b) => a + b, 0) / times.length : 0,
    peakGpuBytes: peaks.length ? Math.max(...peaks) : null,
    report: paths.report,
  });
  return { runDir: paths.dir, bestEpoch, test, popularity: popularity.test };
}

export type { Backend };
