/** Ranking metrics of a model on evaluation Examples (full catalog, seen items removed or not), via @cutrec/data's RankingMetrics. */
import { type Example, evaluationBatches, type ItemPopularity, RankingMetrics } from '@cutrec/data';
import type { SASRec } from '../sasrec.js';
import { rankTargets, recommend } from './scoring.js';
import { seenFromHistories } from './seen.js';

/** Options of {@link evaluateModel}. */
export interface EvaluateModelOptions {
  /** Cutoffs. Default [10]. */
  ks?: readonly number[];
  /** Remove each example's history items (never the target) from the candidates. Default false. */
  removeSeen?: boolean;
  /** Users per forward pass. Default 256. */
  batchSize?: number;
  /**
   * 'rank' (default): each target's exact rank among all items (NDCG, HR, MRR, ... at every k);
   * 'topk': top-max(k) lists through `topKItems` (also Coverage, and Surprisal with `popularity`).
   */
  mode?: 'rank' | 'topk';
  popularity?: ItemPopularity;
  /** Awaited before each batch of users: a caller's chance to yield to the event loop, or to stop by throwing. */
  beforeBatch?: () => Promise<void>;
}

/** Metrics `{ 'ndcg@10': …, 'hr@10': …, … }` of `model` on `examples`, never holding a users × C matrix. */
export async function evaluateModel(
  model: SASRec,
  examples: readonly Example[],
  options: EvaluateModelOptions = {},
): Promise<Record<string, number>> {
  const ks = options.ks ?? [10];
  const { numItems, maxLen } = model.config;
  const metrics = new RankingMetrics({
    ks,
    numItems,
    ...(options.popularity ? { popularity: options.popularity } : {}),
  });
  const maxK = Math.max(...ks);
  for (const b of evaluationBatches(examples, { batchSize: options.batchSize ?? 256, maxLen, numItems })) {
    await options.beforeBatch?.();
    const seen = options.removeSeen
      ? seenFromHistories(
          b.examples.map((e) => e.history),
          numItems,
        )
      : undefined;
    if (options.mode === 'topk') {
      const top = await recommend(model, b.inputs, maxK, seen ? { seen } : {});
      for (let u = 0; u < b.examples.length; u++) {
        const list = Array.from(top.items.subarray(u * maxK, (u + 1) * maxK)).filter((i) => i >= 0);
        metrics.addTopK(list, b.targets[u]!);
      }
    } else {
      const ranks = await rankTargets(model, b.inputs, b.targets, seen ? { seen } : {});
      for (const r of ranks) metrics.addRank(r);
    }
  }
  return metrics.result();
}
