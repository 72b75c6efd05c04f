/**
 * The popularity baseline: every user gets the items ranked by their number of training
 * interactions (ties by lower id), optionally without the items they have seen.
 */
import type { EvaluateOptions } from './evaluate.js';
import { itemPopularity, RankingMetrics } from './metrics.js';
import type { Example } from './split.js';

/** Items ranked by training interaction count; `scores[i]` is item i's count. */
export interface PopularityRanking {
  numItems: number;
  /** Training interactions per item (repeats counted), as scores. */
  scores: Float64Array;
  /** Item ids by count descending, ties by lower id. */
  order: Int32Array;
  /** position[i] = index of item i in `order`. */
  position: Int32Array;
}

/** The popularity ranking of training sequences over a catalog of numItems (default: max id + 1). */
export function popularityRanking(train: readonly ArrayLike<number>[], numItems?: number): PopularityRanking {
  let C = numItems ?? 0;
  if (numItems === undefined)
    for (const s of train) for (let t = 0; t < s.length; t++) C = Math.max(C, s[t]! + 1);
  const scores = new Float64Array(C);
  for (let u = 0; u < train.length; u++) {
    const s = train[u]!;
    for (let t = 0; t < s.length; t++) {
      const i = s[t]!;
      if (i < 0 || i >= C) throw new RangeError(`train[${u}][${t}] = ${i} is outside [0, ${C})`);
      scores[i]!++;
    }
  }
  const order = Int32Array.from({ length: C }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const position = new Int32Array(C);
  for (let p = 0; p < C; p++) position[order[p]!] = p;
  return { numItems: C, scores, order, position };
}

/** The first k items of a popularity ranking, skipping `exclude` except `keep`. */
export function popularityTopK(
  ranking: PopularityRanking,
  k: number,
  exclude?: ArrayLike<number>,
  keep = -1,
): Int32Array {
  const ex = new Set<number>();
  if (exclude) for (let j = 0; j < exclude.length; j++) if (exclude[j] !== keep) ex.add(exclude[j]!);
  const out: number[] = [];
  for (let p = 0; p < ranking.order.length && out.length < k; p++) {
    const c = ranking.order[p]!;
    if (!ex.has(c)) out.push(c);
  }
  return Int32Array.from(out);
}

/**
 * Metrics of the popularity baseline (ranking from `train`) on `examples`; Surprisal uses the
 * same training data unless `options.popularity` is given.
 */
export function evaluatePopularity(
  train: readonly ArrayLike<number>[],
  examples: readonly Example[],
  options: EvaluateOptions,
): Record<string, number> {
  const ranking = popularityRanking(train, options.numItems);
  const popularity = options.popularity ?? itemPopularity(train, options.numItems);
  const metrics = new RankingMetrics({ ...options, popularity });
  const maxK = Math.max(...options.ks);
  for (const ex of examples) {
    metrics.addTopK(
      popularityTopK(ranking, maxK, options.removeSeen ? ex.history : undefined, ex.target),
      ex.target,
    );
  }
  return metrics.result();
}
