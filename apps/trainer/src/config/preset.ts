/**
 * The quick preset: what `cutrec train` uses on the built-in synthetic dataset when neither a
 * config file nor `--data` is given — a smaller SASRec and a higher learning rate, so that the
 * first command finishes in a few minutes on a CPU (lavapipe WebGPU or tfjs CPU) with test
 * NDCG@10 far above the popularity baseline. Every field can still be overridden by a flag.
 */
import type { TrainConfigInput } from './schema.js';

export const QUICK_PRESET: TrainConfigInput = {
  model: { numBlocks: 1, numHeads: 1, hidden: 32, dropout: 0.1 },
  loss: { negatives: 128 },
  optimizer: { lr: 0.01 },
  train: { batchSize: 64, epochs: 6, patience: 5 },
};
