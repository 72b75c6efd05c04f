/** The run's data: the dataset named by the config (a file or the synthetic generator), filtered and split. */
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

/** Reads (or generates) the dataset of `config`, applies the min-count filters and the split. */
export async function loadRunData(config: TrainConfig): Promise<RunData> {
  const d = config.dataset;
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
  if (split.valid.length === 0) {
    // Early stopping needs a validation set; the temporal split without validThreshold has none.
    split = { ...split, valid: split.test };
  }
  return {
    dataset,
    split,
    name: d.path === null ? 'synthetic' : baseName(d.path),
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
