/**
 * Evaluating any scorer on Examples over the full catalog: top-k per example (seen items removed
 * or not) into RankingMetrics. For CPU baselines, references and tests; the trainer's GPU path
 * feeds its own top-k lists into RankingMetrics the same way.
 */
import { type ItemPopularity, RankingMetrics } from './metrics.js';
import { topK } from './ranking.js';
import type { Example } from './split.js';

/** Options of `evaluateScorer`. */
export interface EvaluateOptions {
  ks: readonly number[];
  numItems: number;
  /** Remove the user's history items (never the target) from the candidates (default false). */
  removeSeen?: boolean;
  /** Item popularity for Surprisal. */
  popularity?: ItemPopularity;
}

/** Metrics of `score(example)` (one score per item, higher is better) on `examples`, at every k. */
export function evaluateScorer(
  examples: readonly Example[],
  score: (example: Example) => ArrayLike<number>,
  options: EvaluateOptions,
): Record<string, number> {
  const maxK = Math.max(...options.ks);
  const metrics = new RankingMetrics(options);
  for (const ex of examples) {
    const s = score(ex);
    if (s.length !== options.numItems) {
      throw new RangeError(
        `score returned ${s.length} scores for user ${ex.user}, expected numItems = ${options.numItems}`,
      );
    }
    const list = topK(s, maxK, options.removeSeen ? ex.history : undefined, ex.target);
    metrics.addTopK(list, ex.target);
  }
  return metrics.result();
}
