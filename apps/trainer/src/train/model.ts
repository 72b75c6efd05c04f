/** From a resolved config to the models package's objects: the SASRec config, the loss and the optimizer. */
import { popularityRanking } from '@cutrec/data';
import type { AdamWConfig, CceMinusLoss, LossSpec, SASRecConfig } from '@cutrec/models';
import { buildAliasTable } from '@cutrec/sampler';
import type { TrainConfig } from '../config/schema.js';

/** The SASRec config of a run (model.maxLen must be resolved to a number). */
export function sasrecConfig(config: TrainConfig, numItems: number): SASRecConfig {
  const m = config.model;
  if (m.maxLen === 'auto')
    throw new Error('sasrecConfig: model.maxLen must be resolved before building the model');
  return {
    numItems,
    maxLen: m.maxLen,
    hidden: m.hidden,
    numBlocks: m.numBlocks,
    numHeads: m.numHeads,
    ...(m.ffnHidden !== undefined ? { ffnHidden: m.ffnHidden } : {}),
    activation: m.activation,
    dropout: m.dropout,
    norm: m.norm,
    seed: config.train.seed,
  };
}

/** The loss of a run; the popularity sampler's alias table is built from the training sequences. */
export function lossSpec(config: TrainConfig, train: readonly Int32Array[], numItems: number): LossSpec {
  const l = config.loss;
  switch (l.kind) {
    case 'ce':
      return { kind: 'ce', impl: l.impl };
    case 'bce':
      return { kind: 'bce', negatives: l.negatives, removeAccidentalHits: l.removeAccidentalHits };
    case 'gbce':
      return { kind: 'gbce', negatives: l.negatives, t: l.t, removeAccidentalHits: l.removeAccidentalHits };
    case 'cce-': {
      let sampler: CceMinusLoss['sampler'] = l.sampler;
      if (l.sampler === 'popularity') {
        // Interaction counts (repeats included) of the training sequences.
        const counts = popularityRanking(train, numItems).scores;
        sampler = { kind: 'popularity', table: buildAliasTable(counts, { alpha: l.popularityAlpha }) };
      }
      return {
        kind: 'cce-',
        negatives: l.negatives,
        share: l.share,
        blockRows: l.blockRows,
        sampler,
        logQ: l.logQ,
        removeAccidentalHits: l.removeAccidentalHits,
        impl: l.impl,
      };
    }
  }
}

/** The AdamW config of a run; decaying schedules end after `totalSteps`. */
export function optimizerConfig(config: TrainConfig, totalSteps: number): AdamWConfig {
  const o = config.optimizer;
  const s = o.schedule;
  return {
    lr: o.lr,
    betas: [o.betas[0], o.betas[1]],
    eps: o.eps,
    weightDecay: o.weightDecay,
    clipNorm: o.clipNorm,
    schedule:
      s.kind === 'constant'
        ? { kind: 'constant', warmupSteps: s.warmupSteps }
        : {
            kind: s.kind,
            warmupSteps: s.warmupSteps,
            totalSteps: Math.max(totalSteps, s.warmupSteps + 1),
            minRatio: s.minRatio,
          },
  };
}
