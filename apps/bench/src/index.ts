/**
 * @cutrec/bench — the library behind `cutrec-bench`: loss, roofline, train and grid benchmarks,
 * the byte/FLOP formulas, and the Markdown/SVG writers.
 */
export { type BenchEnvironment, commandLine, environment, slug, versions } from './env.js';
export {
  BENCH_IMPLS,
  BENCH_SHARES,
  type BenchImpl,
  type BenchShare,
  gatheredRows,
  type LossWork,
  lossWork,
  type MemoryPrediction,
  predictMemory,
} from './formulas.js';
export {
  type BudgetPick,
  type BudgetRow,
  budgetLadder,
  budgetSvg,
  budgetView,
  cceBytes,
} from './grid/budget.js';
export { type CellResult, type CellSpec, cellLoss, runCell } from './grid/cell.js';
export { chooseGridEngine, type GridEngine, type GridEngineRequest } from './grid/choose.js';
export {
  type ConvergeEngine,
  type ConvergeOptions,
  type ConvergeResult,
  converge,
  type EpochRow,
} from './grid/converge.js';
export { type CellEngine, cellEngine } from './grid/engine.js';
export { cellLabel, type HeatCell, type HeatMetric, heatmapSvg, NDCG_METRIC } from './grid/heatmap.js';
export { writeGridOutputs } from './grid/outputs.js';
export {
  type BudgetImpl,
  fusedStepBytes,
  type GridCell,
  type GridSpec,
  planGrid,
  predictStepBytes,
} from './grid/plan.js';
export {
  checkRecipe,
  type GridDoc,
  type GridRow,
  mergeRows,
  needsTraining,
  readGrid,
  rowKey,
  writeGrid,
} from './grid/results.js';
export { mapParallel, runCellChild } from './grid/run.js';
export {
  isOutOfMemory,
  type LossBenchOptions,
  type LossCase,
  type LossResult,
  planLossCases,
  runLossBench,
  skipReason,
} from './loss/bench.js';
export { drawNaiveNegatives, naiveFullCe, naiveSampledCe } from './loss/naive.js';
export { caseRepeats } from './loss/repeats.js';
export {
  budgetMarkdown,
  environmentMarkdown,
  gridMarkdown,
  lossMarkdown,
  markdownTable,
  rooflineMarkdown,
  trainMarkdown,
} from './report/markdown.js';
export { lineSpec, lossPlots, rooflinePlot } from './report/plots.js';
export { renderSvg } from './report/svg.js';
export {
  cudaCopyBandwidth,
  cudaTheoretical,
  type DeviceLimits,
  type RooflineRow,
  roofline,
  webgpuCopyBandwidth,
  webgpuMatmulRate,
} from './roofline.js';
export {
  expandSweeps,
  type LossShape,
  NAMED_SHAPES,
  parseIntList,
  parseShape,
  QUICK_SHAPES,
  STEP_CONFIGS,
  type StepConfig,
  shapeByName,
  stepConfigByName,
} from './shapes.js';
export { summarize } from './stats.js';
export { type TimingKind, WebGpuTimer } from './timing/webgpu-timer.js';
export {
  lossSpec,
  runTrainBench,
  TRAIN_LOSSES,
  type TrainBenchOptions,
  type TrainLossName,
  type TrainResult,
} from './train/bench.js';
export { type FusedBenchOptions, type FusedTrainResult, runFusedTrainBench } from './train/fused.js';
export {
  benchStep,
  benchTrainer,
  type StepBatch,
  type StepLoss,
  specLoss,
  syntheticBatch,
  trivialLoss,
} from './train/step.js';
