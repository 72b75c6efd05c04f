/** The training configuration: its zod schema (every field, default and limit) and its TypeScript type. */
import { SYNTHETIC_DEFAULTS as S } from '@cutrec/data';
import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const rate = z.number().min(0).lt(1);

/** Sizes of the built-in synthetic dataset (see @cutrec/data `syntheticDataset`). */
export const syntheticSchema = z.strictObject({
  numUsers: int(10).default(S.numUsers),
  numItems: int(10).default(S.numItems),
  numGroups: int(1).default(S.numGroups),
  minLength: int(3).default(S.minLength),
  maxLength: int(3).default(S.maxLength),
  successors: int(1).default(S.successors),
  noise: z.number().min(0).max(1).default(S.noise),
  popularitySkew: z.number().min(0).default(S.popularitySkew),
  seed: int(0).default(S.seed),
});

export const DATA_FORMATS = [
  'auto',
  'sasrec',
  'iclrec',
  'text',
  'csv',
  'tsv',
  'movielens',
  'parquet',
] as const;

const columnRef = z.union([z.string().min(1), int(0)]);

export const datasetSchema = z
  .strictObject({
    /** Interaction log to read; null (default) trains on the synthetic dataset. */
    path: z.string().min(1).nullable().default(null),
    format: z.enum(DATA_FORMATS).default('auto'),
    synthetic: syntheticSchema.default(syntheticSchema.parse({})),
    /** CSV/TSV/Parquet columns by header name or 0-based index (null ignores timestamp/rating). */
    columns: z
      .strictObject({
        user: columnRef.optional(),
        item: columnRef.optional(),
        timestamp: columnRef.nullable().optional(),
        rating: columnRef.nullable().optional(),
      })
      .default({}),
    delimiter: z.string().min(1).optional(),
    header: z.boolean().optional(),
    /** Keep rows with rating ≥ this (CSV, MovieLens, Parquet). */
    ratingThreshold: z.number().optional(),
    /** Drop users/items with fewer interactions (iterated to a k-core). 0 = no filter. */
    minUserCount: int(0).default(0),
    minItemCount: int(0).default(0),
  })
  .refine((d) => d.synthetic.minLength <= d.synthetic.maxLength, {
    message: 'synthetic.minLength must be ≤ synthetic.maxLength',
    path: ['synthetic', 'minLength'],
  });

export const splitSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('leave-one-out') }),
  z.strictObject({
    kind: z.literal('temporal'),
    /** Test interactions are those strictly after this time (dataset units, e.g. Unix seconds). */
    threshold: z.number().optional(),
    /** Without `threshold`: the time quantile that gives it. Default 0.9. */
    quantile: z.number().gt(0).lt(1).default(0.9),
    /** Validation interactions lie in (validThreshold, threshold]; default: the time quantile `validQuantile`. */
    validThreshold: z.number().optional(),
    validQuantile: z.number().gt(0).lt(1).default(0.8),
  }),
]);

export const modelSchema = z.strictObject({
  numBlocks: int(0, 64).default(2),
  numHeads: int(1, 64).default(2),
  hidden: int(2, 4096).default(64),
  /** Inner size of the feed-forward; default = hidden. */
  ffnHidden: int(1, 65536).optional(),
  dropout: rate.default(0.5),
  /** Positions per user; 'auto' = min(50, the longest training input). */
  maxLen: z.union([int(1, 4096), z.literal('auto')]).default('auto'),
  norm: z.enum(['pre', 'post']).default('pre'),
  activation: z.enum(['relu', 'gelu']).default('relu'),
});

export const LOSSES = ['ce', 'cce-', 'bce', 'gbce'] as const;
export const IMPLS = ['auto', 'reference', 'tfjs', 'wgsl', 'cuda'] as const;

export const lossSchema = z.strictObject({
  kind: z.enum(LOSSES).default('cce-'),
  /** Negatives K (cce-, bce, gbce). */
  negatives: int(1, 2 ** 31).default(1024),
  /** cce-: who shares a set of K negatives. */
  share: z.enum(['row', 'block', 'batch']).default('row'),
  /** cce- with share 'block': rows per group. */
  blockRows: int(1, 1 << 20).default(64),
  sampler: z.enum(['uniform', 'popularity', 'inBatch']).default('uniform'),
  /** Popularity sampler: counts are raised to this power. */
  popularityAlpha: z.number().min(0).max(4).default(1),
  logQ: z.boolean().default(true),
  removeAccidentalHits: z.boolean().default(true),
  /** gBCE calibration t ∈ [0, 1]. */
  t: z.number().min(0).max(1).default(0.75),
  /** Loss implementation (ce, cce-): see @cutrec/kernels. */
  impl: z.enum(IMPLS).default('auto'),
});

export const optimizerSchema = z.strictObject({
  lr: z.number().gt(0).max(10).default(2e-3),
  betas: z.tuple([rate, rate]).default([0.9, 0.98]),
  eps: z.number().gt(0).default(1e-8),
  weightDecay: z.number().min(0).default(0),
  clipNorm: z.number().min(0).default(0),
  schedule: z
    .strictObject({
      kind: z.enum(['constant', 'cosine', 'linear']).default('constant'),
      warmupSteps: int(0).default(0),
      /** Floor of cosine/linear decay as a fraction of lr. */
      minRatio: z.number().min(0).max(1).default(0),
    })
    .default({ kind: 'constant', warmupSteps: 0, minRatio: 0 }),
});

export const METRICS = ['ndcg', 'hr', 'recall', 'mrr', 'map', 'precision'] as const;

export const trainSchema = z.strictObject({
  batchSize: int(1, 1 << 20).default(256),
  epochs: int(1, 100000).default(200),
  /** Seed of initialisation, dropout, negatives and shuffling. */
  seed: int(0).default(0),
  /** Early stopping: stop after this many epochs without a better validation metric (0 = never). */
  patience: int(0).default(15),
  /** The validation metric that picks the best checkpoint, e.g. 'ndcg@10'. */
  metric: z
    .string()
    .regex(
      /^(ndcg|hr|recall|mrr|map|precision)@[1-9]\d*$/,
      "must look like 'ndcg@10' (ndcg|hr|recall|mrr|map|precision @ k)",
    )
    .default('ndcg@10'),
  /** Evaluate on the validation split every this many epochs (and after the last). */
  evalEvery: int(1).default(1),
  /**
   * Pick the best checkpoint and stop early on the validation split. false: no validation pass,
   * every epoch trained, the last checkpoint tested (for splits without validation users).
   */
  validation: z.boolean().default(true),
});

export const evalSchema = z.strictObject({
  ks: z.array(int(1, 100000)).min(1).default([1, 5, 10, 20, 100]),
  /**
   * Remove each user's history items from the candidates (the target always stays): the protocol of
   * the published SASRec numbers (apps/trainer/README.md, "Quality"); false ranks them too.
   */
  removeSeen: z.boolean().default(true),
  /** Users per scoring batch. */
  batchSize: int(1, 1 << 20).default(512),
});

export const BACKENDS = ['auto', 'webgpu', 'cpu'] as const;
export const ENGINES = ['auto', 'fused', 'tfjs'] as const;
export const PRECISIONS = ['auto', 'fp32', 'bf16', 'f16'] as const;

/**
 * Rules between fields. A message names another field as `{path}`; the error shows it as the
 * flag that sets it (see describeIssue in load.ts).
 */
function checkAcrossFields(c: z.output<typeof configFields>, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: path.split('.'), message });
  if (c.model.hidden % c.model.numHeads !== 0) {
    issue(
      'model.hidden',
      `must be divisible by {model.numHeads} (${c.model.numHeads}), got ${c.model.hidden}`,
    );
  }
  if (c.loss.impl === 'cuda' && c.backend === 'webgpu') {
    issue(
      'loss.impl',
      "'cuda' reads its inputs from host memory and runs with {backend} cpu or auto (tfjs then runs on the CPU); with {backend} webgpu use 'wgsl'",
    );
  }
  if (c.loss.impl === 'wgsl' && c.backend === 'cpu') {
    issue('loss.impl', "'wgsl' runs on WebGPU: use {backend} webgpu or auto, or 'tfjs' on the CPU");
  }
  const s = c.split;
  if (s.kind === 'temporal' && s.threshold !== undefined && s.validThreshold !== undefined) {
    if (s.validThreshold >= s.threshold)
      issue('split.validThreshold', `must be < {split.threshold} (${s.threshold}), got ${s.validThreshold}`);
  }
}

const configFields = z.strictObject({
  dataset: datasetSchema.default(datasetSchema.parse({})),
  split: splitSchema.default({ kind: 'leave-one-out' }),
  model: modelSchema.default(modelSchema.parse({})),
  loss: lossSchema.default(lossSchema.parse({})),
  optimizer: optimizerSchema.default(optimizerSchema.parse({})),
  train: trainSchema.default(trainSchema.parse({})),
  eval: evalSchema.default(evalSchema.parse({})),
  backend: z.enum(BACKENDS).default('auto'),
  /** Training step: 'fused' (our CUDA step, one graph per step, or our WGSL step on WebGPU), 'tfjs' (autograd over tfjs ops), 'auto' (fused where it can run). */
  engine: z.enum(ENGINES).default('auto'),
  /**
   * Fused engine: 'fp32' throughout; 'bf16' (CUDA, sm_80+) or 'f16' (WebGPU, adapters with
   * 'shader-f16'; it picks the fused engine on WebGPU even where CUDA is usable): half-precision
   * activations and matmul inputs with fp32 master weights and Adam moments. 'auto' is fp32 on both
   * for now.
   */
  precision: z.enum(PRECISIONS).default('auto'),
});

/** The whole configuration file; every section and field is optional. */
export const configSchema = configFields.superRefine(checkAcrossFields);

/** A configuration with every default filled in (model.maxLen may still be 'auto' before data is read). */
export type TrainConfig = z.output<typeof configSchema>;
/** What a config file may hold. */
export type TrainConfigInput = z.input<typeof configSchema>;
