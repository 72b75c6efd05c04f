/**
 * @cutrec/data — interaction logs in, sequences and ranking metrics out: readers (SASRec/ICLRec
 * text, CSV/TSV, MovieLens, Parquet) with dense id remapping, min-count filters, leave-one-out and
 * global temporal splits, training and evaluation batches, a synthetic generator with planted
 * structure, and full-catalog ranking metrics with a popularity baseline.
 */

// Batches
export {
  countTrainingBatches,
  type EvaluationBatch,
  type EvaluationBatchOptions,
  evaluationBatches,
  type TrainingBatch,
  type TrainingBatchOptions,
  trainingBatches,
  trainingUsers,
} from './batches.js';
// Dataset and its construction
export { type IdOrder, InteractionLog } from './builder.js';
export {
  createDataset,
  type Dataset,
  type DatasetFields,
  datasetFromSequences,
  datasetStats,
} from './dataset.js';
// Ranking, metrics, baselines
export { type EvaluateOptions, evaluateScorer } from './evaluate.js';
// Filters and splits
export { filterMinCount, type MinCountOptions } from './filter.js';
export {
  apOfList,
  coverageAt,
  hitAt,
  type ItemPopularity,
  itemPopularity,
  METRIC_NAMES,
  mrrAt,
  ndcgAt,
  ndcgOfList,
  precisionAt,
  precisionOfList,
  RankingMetrics,
  type RankingMetricsOptions,
  recallOfList,
  rrOfList,
  selfInformation,
  surprisalAt,
} from './metrics.js';
export {
  evaluatePopularity,
  type PopularityRanking,
  popularityRanking,
  popularityTopK,
} from './popularity.js';
// Randomness and synthetic data
export { checkSeed, permutation, Rng } from './random.js';
export { maskSeen, rankOfTarget, topK } from './ranking.js';
// Readers
export {
  guessFormat,
  INTERACTION_FORMATS,
  type InteractionFormat,
  type ReadOptions,
  readInteractions,
} from './read.js';
export { type ColumnRef, type ColumnSpec, DEFAULT_COLUMN_NAMES } from './readers/columns.js';
export {
  type DelimitedOptions,
  detectDelimiter,
  readDelimited,
  splitDelimited,
} from './readers/delimited.js';
export { type MovieLensOptions, readMovieLens } from './readers/movielens.js';
export { type ParquetOptions, readParquet } from './readers/parquet.js';
export {
  type CommonReadOptions,
  fileLines,
  type LineSource,
  type Source,
  textSource,
} from './readers/source.js';
export { readSequenceText, type SequenceTextOptions } from './readers/text.js';
export {
  type Example,
  leaveOneOut,
  type Split,
  type TemporalSplitOptions,
  temporalSplit,
  timeQuantile,
} from './split.js';
export {
  plantedMetrics,
  SYNTHETIC_DEFAULTS,
  type SyntheticData,
  type SyntheticOptions,
  type SyntheticReference,
  syntheticDataset,
} from './synthetic.js';
