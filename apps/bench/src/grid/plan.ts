/**
 * The negatives × batch size (× sequence length) grid: one cell per combination, its predicted
 * peak memory (model, optimizer state, activations, and the loss by the memory model of
 * formulas.ts) and whether that fits the budget.
 */
import { type BenchImpl, predictMemory } from '../formulas.js';

/** What a grid trains and under which budget. */
export interface GridSpec {
  negatives: readonly number[];
  batchSizes: readonly number[];
  maxLens: readonly number[];
  /** Catalog size of the dataset. */
  numItems: number;
  hidden: number;
  numBlocks: number;
  numHeads: number;
  /** The loss's share mode. */
  share: 'row' | 'block' | 'batch';
  blockRows: number;
  /** Whose memory the budget is checked against (e.g. the naive sampled loss, to show which cells it could not train). */
  budgetImpl: BenchImpl;
  budgetBytes: number;
}

/** One grid cell. */
export interface GridCell {
  negatives: number;
  batchSize: number;
  maxLen: number;
  /** Predicted peak bytes of a training step. */
  predictedBytes: number;
  overBudget: boolean;
}

/**
 * Predicted peak bytes of one SASRec training step: parameters with their gradients and two AdamW
 * moments, 16·P (P = (C+1+L)·D + blocks·(4·D² + 2·D·F + 8·D), F = D); what tfjs's autograd keeps
 * for the backward and the gradients it makes, 4·blocks·B·L·(60·D + 30·heads·L) + 80·B·L·D
 * (calibrated on a measured step: B = 128, L = 50, D = 64, 2 blocks, 1 head, C = 12,101 peaked
 * at 325 MiB on tfjs WebGPU); and the loss on N = B·L rows by `predictMemory`.
 */
export function predictStepBytes(
  spec: GridSpec,
  negatives: number,
  batchSize: number,
  maxLen: number,
): number {
  const { numItems: C, hidden: D, numBlocks, numHeads } = spec;
  const P = (C + 1 + maxLen) * D + numBlocks * (4 * D * D + 2 * D * D + 8 * D);
  const params = 16 * P;
  const acts =
    4 * numBlocks * batchSize * maxLen * (60 * D + 30 * numHeads * maxLen) + 80 * batchSize * maxLen * D;
  const loss = predictMemory(
    spec.budgetImpl,
    spec.budgetImpl === 'tfjs-naive-ce' ? 'all' : spec.share,
    { name: '', N: batchSize * maxLen, C, D, K: negatives },
    spec.blockRows,
  );
  return params + acts + loss.peakBytes;
}

/** Every cell of the grid (maxLen outermost, then negatives, then batch size), with its prediction. */
export function planGrid(spec: GridSpec): GridCell[] {
  const cells: GridCell[] = [];
  for (const maxLen of spec.maxLens) {
    for (const negatives of spec.negatives) {
      for (const batchSize of spec.batchSizes) {
        const predictedBytes = predictStepBytes(spec, negatives, batchSize, maxLen);
        cells.push({
          negatives,
          batchSize,
          maxLen,
          predictedBytes,
          overBudget: predictedBytes > spec.budgetBytes,
        });
      }
    }
  }
  return cells;
}
