/** The run's data: the dataset named by the config (a file or the synthetic generator), filtered and split. */
import { existsSync } from 'node:fs';
import {
  type Dataset,
  datasetStats,
  filterMinCount,
  leaveOneOut,
  type ReadOptions,
  readInteractions,
  type Split,
  type SyntheticData,
  syntheticDataset,
  temporalSplit,
  timeQuantile,
} from '@cutrec/data';
import { ConfigError } from './config/load.js';
import type { TrainConfig } from './config/schema.js';

/** A loaded dataset with its split and a short name for the run folder. */
export interface RunData {
  dataset: Dataset;
  split: Split;
  /** 'synthetic' or the file's base name without extension. */
  name: string;
  /** The synthetic generator's planted truth (best achievable NDCG@10), when synthetic. */
  synthetic?: SyntheticData;
  stats: ReturnType<typeof datasetStats>;
}

/** A file name without folders and extension, for run folder names. */
function baseName(path: string): string {
  const file = path.split(/[\\/]/).pop() ?? path;
  return file.replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '_') || 'data';
}

/** The short name of a run's data for its folder: 'synthetic' or the file's base name. */
export function datasetName(config: TrainConfig): string {
  return config.dataset.path === null ? 'synthetic' : baseName(config.dataset.path);
}

/**
 * Throws, naming the file and where it was named (`--data`, or a run's config.json), where the
 * interaction log of `config` does not exist.
 */
export function checkDataFile(config: TrainConfig, namedBy = '--data'): void {
  const path = config.dataset.path;
  if (path === null || existsSync(path)) return;
  const hint =
    namedBy === '--data'
      ? 'give an interaction log, or leave --data out for the synthetic dataset'
      : 'was it moved? put it back or edit dataset.path there';
  throw new ConfigError(`${namedBy} ${path}: no such file (${hint})`);
}

/** Why a split without validation users cannot pick a model, and what to change. */
function noValidation(config: TrainConfig): ConfigError {
  const where = config.dataset.path ?? 'the dataset';
  return new ConfigError(
    `${where}: the ${config.split.kind} split left no validation users, and early stopping and the best checkpoint never use the test split; ` +
      'put a validation window before the test one (split.validThreshold or split.validQuantile in the config file), ' +
      'or pass --no-validation to train every epoch and test the last checkpoint',
  );
}

/** Reads (or generates) the dataset of `config`, applies the min-count filters and the split. */
export async function loadRunData(config: TrainConfig): Promise<RunData> {
  const d = config.dataset;
  checkDataFile(config);
  let dataset: Dataset;
  let synthetic: SyntheticData | undefined;
  if (d.path === null) {
    synthetic = syntheticDataset(d.synthetic);
    dataset = synthetic.dataset;
  } else {
    const options: ReadOptions = { format: d.format };
    const columns = Object.fromEntries(Object.entries(d.columns).filter(([, v]) => v !== undefined));
    if (Object.keys(columns).length) (options as { columns?: unknown }).columns = columns;
    if (d.delimiter !== undefined) options.delimiter = d.delimiter;
    if (d.header !== undefined) options.header = d.header;
    if (d.ratingThreshold !== undefined) options.ratingThreshold = d.ratingThreshold;
    dataset = await readInteractions(d.path, options);
  }
  if (d.minUserCount > 0 || d.minItemCount > 0) {
    dataset = filterMinCount(dataset, { minUserCount: d.minUserCount, minItemCount: d.minItemCount });
  }
  let split: Split;
  if (config.split.kind === 'temporal') {
    const s = config.split;
    if (!dataset.timestamps) {
      throw new Error(
        `split 'temporal' needs timestamps, and ${d.path ?? 'the dataset'} has none (use a timestamp column or split 'leave-one-out')`,
      );
    }
    const threshold = s.threshold ?? timeQuantile(dataset, s.quantile);
    const validThreshold = s.validThreshold ?? Math.min(threshold, timeQuantile(dataset, s.validQuantile));
    split = temporalSplit(dataset, {
      threshold,
      ...(validThreshold < threshold ? { validThreshold } : {}),
    });
  } else {
    split = leaveOneOut(dataset);
  }
  if (split.test.length === 0) {
    throw new Error(
      `${d.path ?? 'the dataset'}: the ${config.split.kind} split left no test users (leave-one-out needs users with ≥ 3 items)`,
    );
  }
  if (split.valid.length === 0 && config.train.validation) throw noValidation(config);
  return {
    dataset,
    split,
    name: datasetName(config),
    ...(synthetic ? { synthetic } : {}),
    stats: datasetStats(dataset),
  };
}

/** The longest training input (a training sequence gives length − 1 positions). */
export function longestInput(train: readonly Int32Array[]): number {
  let n = 1;
  for (const s of train) if (s.length - 1 > n) n = s.length - 1;
  return n;
}
