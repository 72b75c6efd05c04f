/**
 * The negatives × batch size (× sequence length) grid: one cell per combination, its predicted
 * peak memory (model, optimizer state, activations, and the loss by the memory model of
 * formulas.ts) and whether that fits the budget.
 */
import { fusedBytes, paramLayout, resolveConfig, stepShapes } from '@cutrec/models';
import { type BenchImpl, predictMemory } from '../formulas.js';

/** Whose memory model a grid's budget is checked with: a loss implementation's (tfjs body + that loss), or the fused engine's plan. */
export type BudgetImpl = BenchImpl | 'fused';

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
  budgetImpl: BudgetImpl;
  /** The fused engine's precision (for `budgetImpl: 'fused'`); default fp32. */
  precision?: 'fp32' | 'bf16' | 'f16';
  budgetBytes: number;
}

/** One grid cell. */
export interface GridCell {
  negatives: number;
  batchSize: number;
  maxLen: number;
  /** Predicted peak bytes of a training step by the budget's memory model. */
  predictedBytes: number;
  /** Predicted peak bytes of the same step with the tfjs engine and the naive sampled cross-entropy (the baseline whose memory grows with K). */
  baselineBytes: number;
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
  if (spec.budgetImpl === 'fused') return fusedStepBytes(spec, batchSize, maxLen);
  const budgetImpl = spec.budgetImpl;
  const { numItems: C, hidden: D, numBlocks, numHeads } = spec;
  const P = (C + 1 + maxLen) * D + numBlocks * (4 * D * D + 2 * D * D + 8 * D);
  const params = 16 * P;
  const acts =
    4 * numBlocks * batchSize * maxLen * (60 * D + 30 * numHeads * maxLen) + 80 * batchSize * maxLen * D;
  const loss = predictMemory(
    budgetImpl,
    budgetImpl === 'tfjs-naive-ce' ? 'all' : spec.share,
    { name: '', N: batchSize * maxLen, C, D, K: negatives },
    spec.blockRows,
  );
  return params + acts + loss.peakBytes;
}

/**
 * Device bytes the fused engine allocates for a cell (@cutrec/models `fusedBytes`: parameters,
 * gradients, moments, the step's buffers and fixed workspaces; no term grows with K, since
 * negatives are drawn inside the loss kernel).
 */
export function fusedStepBytes(spec: GridSpec, batchSize: number, maxLen: number): number {
  const config = resolveConfig({
    numItems: spec.numItems,
    maxLen,
    hidden: spec.hidden,
    numBlocks: spec.numBlocks,
    numHeads: spec.numHeads,
  });
  const dtype = spec.precision === 'bf16' ? 'bfloat16' : spec.precision === 'f16' ? 'float16' : 'float32';
  return fusedBytes(paramLayout(config), stepShapes(config, batchSize), config.norm, dtype).total;
}

/** Every cell of the grid (maxLen outermost, then negatives, then batch size), with its prediction. */
export function planGrid(spec: GridSpec): GridCell[] {
  const cells: GridCell[] = [];
  for (const maxLen of spec.maxLens) {
    for (const negatives of spec.negatives) {
      for (const batchSize of spec.batchSizes) {
        const predictedBytes = predictStepBytes(spec, negatives, batchSize, maxLen);
        const baseline = { ...spec, budgetImpl: 'tfjs-naive-sampled' as const };
        cells.push({
          negatives,
          batchSize,
          maxLen,
          predictedBytes,
          baselineBytes: predictStepBytes(baseline, negatives, batchSize, maxLen),
          overBudget: predictedBytes > spec.budgetBytes,
        });
      }
    }
  }
  return cells;
}
