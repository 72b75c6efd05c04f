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
  isOutOfMemory,
  type LossBenchOptions,
  type LossCase,
  type LossResult,
  planLossCases,
  runLossBench,
  skipReason,
} from './loss/bench.js';
export { drawNaiveNegatives, naiveFullCe, naiveSampledCe } from './loss/naive.js';
export { environmentMarkdown, lossMarkdown, markdownTable } from './report/markdown.js';
export { lineSpec, lossPlots } from './report/plots.js';
export { renderSvg } from './report/svg.js';
export {
  expandSweeps,
  type LossShape,
  NAMED_SHAPES,
  parseIntList,
  parseShape,
  QUICK_SHAPES,
  shapeByName,
} from './shapes.js';
export { summarize } from './stats.js';
export { type TimingKind, WebGpuTimer } from './timing/webgpu-timer.js';
