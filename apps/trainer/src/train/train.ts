/**
 * `cutrec train`: the training loop. Epochs of shuffled batches, validation after each epoch,
 * early stopping on a validation metric, the best and the last checkpoint, a signal handler that
 * finishes the current step and checkpoints, exact resume, and the run folder's files.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { type Example, trainingBatches } from '@cutrec/data';
import { saveCheckpoint, type TrainingEngine } from '@cutrec/models';
import type { Backend } from '../backend.js';
import type { TrainConfig } from '../config/schema.js';
import { explainOutOfMemory, InterruptedError } from '../errors.js';
import { writeReport } from '../report/report.js';
import type { EpochRecord, Metrics, TestRecord } from './events.js';
import type { ResumeOverrides } from './plan.js';
import { nextEpoch, type Progress, progressToExtra } from './progress.js';
import type { Reporter } from './reporter.js';
import { appendMetrics, resumeCommand, truncateMetrics, writeJson } from './run-folder.js';
import { cutoffs, type Run, restore, setUpRun } from './setup.js';

export { cutoffs } from './setup.js';

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

/** Thrown by {@link evaluate} when `stopRequested` reports a signal between its batches. */
export class EvaluationStopped extends Error {
  override name = 'EvaluationStopped';
  constructor(readonly signal: string) {
    super(`evaluation stopped by ${signal}`);
  }
}

/** Yields to the event loop: tfjs's CPU backend resolves reads as microtasks, so signal handlers only run here. */
const yieldToEventLoop = () => new Promise<void>((done) => setImmediate(done));

/**
 * Ranking metrics of a trainer's current model on `examples` (full catalog). Before each batch of
 * users the evaluation yields to the event loop, so that a signal's handler runs; when
 * `stopRequested` then reports one, it throws {@link EvaluationStopped}.
 */
export async function evaluate(
  trainer: TrainingEngine,
  examples: readonly Example[],
  config: TrainConfig,
  ks: readonly number[] = cutoffs(config),
  stopRequested: () => string | undefined = () => undefined,
): Promise<Metrics> {
  const beforeBatch = async () => {
    await yieldToEventLoop();
    const signal = stopRequested();
    if (signal) throw new EvaluationStopped(signal);
  };
  return trainer.evaluate(examples, {
    ks,
    removeSeen: config.eval.removeSeen,
    batchSize: config.eval.batchSize,
    beforeBatch,
  });
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

/** Says the run stopped on `signal` (its checkpoint written) and how to resume; the error to throw. */
function interrupted(
  run: Run,
  signal: string,
  epoch: number,
  eventEpoch: number,
  during = '',
): InterruptedError {
  const { paths, trainer } = run;
  const resume = resumeCommand(paths.dir);
  run.reporter.emit({
    event: 'interrupted',
    signal,
    epoch: eventEpoch,
    step: trainer.step,
    checkpoint: paths.last,
    resume,
  });
  return new InterruptedError(
    `interrupted (${signal}) after step ${trainer.step} (epoch ${epoch + 1})${during}; checkpoint written to ${paths.last}\nresume with: ${resume}`,
    SIGNAL_CODES[signal] ?? 1,
  );
}

/** Runs `cutrec train`; resolves when training and the final test evaluation are done. */
export async function train(req: TrainRequest): Promise<TrainResult> {
  const signals = watchSignals();
  try {
    const run = await setUpRun(req);
    try {
      await trainEpochs(run, signals.requested);
    } finally {
      req.reporter.stopBar();
    }
    return await testBest(run, signals.requested);
  } finally {
    signals.dispose();
  }
}

/** The epochs left of `run`, each closed with validation and checkpoints, until the end or an early stop. */
async function trainEpochs(run: Run, stopRequested: () => string | undefined): Promise<void> {
  const { patience, epochs } = run.config.train;
  // A resumed run that had already stopped early stays stopped (unless --patience was raised).
  let stoppedEarly = patience > 0 && run.progress.badEpochs >= patience;
  for (let epoch = run.progress.epoch; epoch < epochs && !stoppedEarly; epoch++) {
    await trainEpoch(run, epoch, stopRequested);
    stoppedEarly = await closeEpoch(run, epoch, stopRequested);
    const signal = stopRequested();
    if (signal && epoch + 1 < epochs && !stoppedEarly) throw interrupted(run, signal, epoch, epoch + 1);
  }
}

/** Writes the last checkpoint at `p`. */
async function saveLast(run: Run, p: Progress): Promise<void> {
  const { paths, trainer } = run;
  await saveCheckpoint(paths.last, trainer, progressToExtra(p));
  run.reporter.emit({
    event: 'checkpoint',
    kind: 'last',
    path: paths.last,
    epoch: p.epoch,
    step: trainer.step,
  });
}

/** Throws a GPU error (out of memory, device lost) that arrived asynchronously: it wins over what it caused. */
function checkGpu(backend: Backend): void {
  const e = backend.takeError();
  if (e) throw e;
}

/** The batches of `epoch` not trained on yet; on a signal, a checkpoint after the current step. */
async function trainEpoch(run: Run, epoch: number, stopRequested: () => string | undefined): Promise<void> {
  const { backend, trainer, reporter, stepsPerEpoch } = run;
  const p = run.progress;
  backend.resetPeak();
  reporter.epochStart(epoch, run.config.train.epochs, stepsPerEpoch, p.batch);
  let b = 0;
  for (const batch of trainingBatches(run.data.split.train, run.batchOpts, epoch)) {
    if (b++ < p.batch) continue; // trained on before the checkpoint
    const t0 = performance.now();
    let l: number;
    try {
      l = await trainer.trainStepAsync(batch);
      checkGpu(backend);
    } catch (err) {
      throw explainOutOfMemory(backend.takeError() ?? err, run.mem, 'training');
    }
    p.epochTime += (performance.now() - t0) / 1000;
    for (const t of batch.targets) if (t !== -1) p.epochPositions++;
    p.lossSum += l;
    p.lossCount += 1;
    p.batch = b;
    reporter.step(b, l, p.epochPositions / Math.max(p.epochTime, 1e-9));
    // Let signal handlers (and the progress bar's timer) run: a CPU step never yields by itself.
    await yieldToEventLoop();
    const signal = stopRequested();
    if (signal && b < stepsPerEpoch) {
      reporter.stopBar();
      await saveLast(run, p);
      throw interrupted(run, signal, epoch, epoch);
    }
  }
  reporter.stopBar();
}

/**
 * Ends `epoch`: its metrics.jsonl row, validation, the best checkpoint when it improved, then the
 * last checkpoint (the row comes first: a resumed run drops rows its checkpoint does not cover).
 * Returns whether early stopping ends the run here.
 */
async function closeEpoch(
  run: Run,
  epoch: number,
  stopRequested: () => string | undefined,
): Promise<boolean> {
  const { paths, trainer, reporter, config } = run;
  const p = run.progress;
  const record: EpochRecord = {
    type: 'epoch',
    epoch,
    step: trainer.step,
    trainLoss: p.lossSum / Math.max(1, p.lossCount),
    epochTimeSec: p.epochTime,
    positionsPerSec: p.epochPositions / Math.max(p.epochTime, 1e-9),
    peakGpuBytes: run.backend.peak(),
    lr: trainer.currentLr(),
  };
  const { type: _t, valid: _v, ...epochEvent } = record;
  reporter.emit({ event: 'epoch', ...epochEvent });
  const next = nextEpoch(p, epoch);
  const last = epoch + 1 === config.train.epochs;
  const validates = config.train.validation && ((epoch + 1) % config.train.evalEvery === 0 || last);
  let improved = false;
  try {
    improved = validates && (await validate(run, epoch, record, next, stopRequested));
  } catch (err) {
    if (!(err instanceof EvaluationStopped)) throw err;
    // The epoch's steps are done, its row and checkpoints not: resume validates it again.
    await saveLast(run, p);
    throw interrupted(run, err.signal, epoch, epoch, ' during validation');
  }
  appendMetrics(paths, record);
  if (improved) {
    await saveCheckpoint(paths.best, trainer, progressToExtra(next));
    reporter.emit({ event: 'checkpoint', kind: 'best', path: paths.best, epoch, step: trainer.step });
  }
  await saveLast(run, next);
  run.progress = next;
  const { patience } = config.train;
  if (patience > 0 && next.badEpochs >= patience && !last) {
    reporter.emit({ event: 'early-stop', epoch, bestEpoch: next.bestEpoch, patience });
    return true;
  }
  return false;
}

/** Validation metrics of `epoch` into `record`, best and patience into `next`; whether it improved. */
async function validate(
  run: Run,
  epoch: number,
  record: EpochRecord,
  next: Progress,
  stopRequested: () => string | undefined,
): Promise<boolean> {
  const t0 = performance.now();
  let valid: Metrics;
  try {
    valid = await evaluate(run.trainer, run.data.split.valid, run.config, undefined, stopRequested);
    checkGpu(run.backend);
  } catch (err) {
    if (err instanceof EvaluationStopped) throw err;
    throw explainOutOfMemory(run.backend.takeError() ?? err, run.mem, 'evaluation');
  }
  record.valid = valid;
  record.evalTimeSec = (performance.now() - t0) / 1000;
  const value = valid[run.config.train.metric] ?? Number.NaN;
  const improved = value > next.bestValue;
  if (improved) {
    next.bestValue = value;
    next.bestEpoch = epoch;
    next.badEpochs = 0;
  } else {
    next.badEpochs += 1;
  }
  run.reporter.emit({ event: 'eval', epoch, split: 'valid', metrics: valid, best: improved });
  return improved;
}

/** Test metrics of the best checkpoint (the last one without a best), the run folder's last files. */
async function testBest(run: Run, stopRequested: () => string | undefined): Promise<TrainResult> {
  const { paths, progress, popularity, backend } = run;
  const bestPath = existsSync(paths.best) ? paths.best : paths.last;
  run.trainer.dispose();
  const options = { loss: run.loss, batchSize: run.config.train.batchSize };
  const { trainer: best } = await restore(run.choice, bestPath, options, paths.dir);
  let test: Metrics;
  try {
    test = await evaluate(best, run.data.split.test, run.config, undefined, stopRequested);
    checkGpu(backend);
  } catch (err) {
    if (err instanceof EvaluationStopped) {
      best.dispose();
      // Every epoch and its last checkpoint are written: resume runs the test evaluation again.
      throw interrupted(run, err.signal, progress.epoch - 1, progress.epoch, ' during the test evaluation');
    }
    throw explainOutOfMemory(backend.takeError() ?? err, run.mem, 'evaluation');
  }
  best.dispose();
  const bestEpoch = progress.bestEpoch >= 0 ? progress.bestEpoch : progress.epoch - 1;
  run.reporter.emit({ event: 'eval', epoch: bestEpoch, split: 'test', metrics: test, best: true });
  const testRecord: TestRecord = { type: 'test', bestEpoch, test, popularity: popularity.test };
  const epochs = truncateMetrics(paths, progress.epoch);
  appendMetrics(paths, testRecord);
  writeJson(paths.test, {
    bestEpoch,
    checkpoint: relative(paths.dir, bestPath),
    test,
    popularity: popularity.test,
    ...(run.planted ? { plantedBest: run.planted } : {}),
    backend: { name: backend.name, device: backend.device },
    engine: { name: run.choice.engine, precision: run.choice.precision },
  });
  await writeReport(paths);
  emitDone(run, epochs, bestEpoch, test);
  return { runDir: paths.dir, bestEpoch, test, popularity: popularity.test };
}

function emitDone(run: Run, epochs: EpochRecord[], bestEpoch: number, test: Metrics): void {
  const times = epochs.map((r) => r.epochTimeSec);
  const peaks = epochs.map((r) => r.peakGpuBytes).filter((x): x is number => x !== null);
  run.reporter.emit({
    event: 'done',
    runDir: run.paths.dir,
    bestEpoch,
    epochs: run.progress.epoch,
    test,
    popularity: run.popularity.test,
    epochTimeSec: times.length ? times.reduce((a, b) => a + b, 0) / times.length : 0,
    peakGpuBytes: peaks.length ? Math.max(...peaks) : null,
    report: run.paths.report,
  });
}

export type { Backend };
