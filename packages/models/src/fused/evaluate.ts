/** Ranking metrics of a fused trainer's current model on evaluation Examples, computed on its device. */
import { type Example, evaluationBatches, RankingMetrics } from '@cutrec/data';
import { seenFromHistories } from '../eval/seen.js';
import type { FusedTrainer, PendingRead } from './engine.js';

/** Options of {@link evaluateFused}. */
export interface EvaluateFusedOptions {
  /** Cutoffs. Default [10]. */
  ks?: readonly number[];
  /** Remove each example's history items (never the target) from the candidates. Default false. */
  removeSeen?: boolean;
  /** Awaited before each batch of users: a caller's chance to yield to the event loop, or to stop by throwing. */
  beforeBatch?: () => Promise<void>;
}

/**
 * `{ 'ndcg@10': …, 'hr@10': … }` of the trainer's model on `examples` (full catalog): the same
 * metrics as `evaluateModel` on a tfjs model, from exact target ranks computed on the device.
 */
export async function evaluateFused<B>(
  trainer: FusedTrainer<B>,
  examples: readonly Example[],
  options: EvaluateFusedOptions = {},
): Promise<Record<string, number>> {
  const { numItems, maxLen } = trainer.config;
  const metrics = new RankingMetrics({ ks: options.ks ?? [10], numItems });
  const batchSize = trainer.shapes.B * 16;
  // One batch in flight: batch i + 1 is queued before batch i's ranks are taken, so the device
  // works on one while the host reads the other back and prepares the next.
  let pending: PendingRead | undefined;
  const take = async (p: PendingRead) => {
    for (const r of await p.take()) metrics.addRank(r);
  };
  for (const b of evaluationBatches(examples, { batchSize, maxLen, numItems })) {
    await options.beforeBatch?.();
    const seen = options.removeSeen
      ? seenFromHistories(
          b.examples.map((e) => e.history),
          numItems,
        )
      : undefined;
    const next = trainer.enqueueRankTargets(b.inputs, b.targets, seen);
    if (pending) await take(pending);
    pending = next;
  }
  if (pending) await take(pending);
  return metrics.result();
}
