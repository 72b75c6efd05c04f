/** The `cutrec` command line as a library: build or run it programmatically, or train from code. */

export {
  type EvaluateReport,
  evaluateRun,
  formatEvaluation,
  formatRecommendation,
  type Recommendation,
  recommendRun,
} from './commands.js';
export { ConfigError, resolveTrainConfig, validateConfig } from './config/load.js';
export { configSchema, type TrainConfig, type TrainConfigInput } from './config/schema.js';
export { explainOutOfMemory, InterruptedError, isOutOfMemory } from './errors.js';
export { type ExportReport, exportRun, formatExport, idsPathOf } from './export/export.js';
export { collectInfo, formatInfo, type InfoReport } from './info.js';
export { buildProgram, runCli } from './program.js';
export {
  formatRecommendAll,
  type RecommendAllOptions,
  type RecommendAllReport,
  recommendAll,
} from './recommend/all.js';
export { reportHtml, writeReport } from './report/report.js';
export type { EpochRecord, Metrics, TestRecord, TrainEvent } from './train/events.js';
export { Reporter, type ReporterMode, reporterMode } from './train/reporter.js';
export { type TrainRequest, type TrainResult, train } from './train/train.js';
