/** The `grid` command (negatives × batch size × length under a memory budget, NDCG@10 heat map) and its hidden `grid-cell` worker. */
import { fileURLToPath } from 'node:url';
import {
  INTERACTION_FORMATS,
  type InteractionFormat,
  readInteractions,
  syntheticDataset,
} from '@cutrec/data';
import type { Command } from 'commander';
import { BENCH_IMPLS, type BenchImpl } from '../formulas.js';
import { type CellResult, type CellSpec, runCell } from '../grid/cell.js';
import { heatmapSvg } from '../grid/heatmap.js';
import { type GridCell, planGrid } from '../grid/plan.js';
import { CELL_RESULT_PREFIX, mapParallel, runCellChild } from '../grid/run.js';
import { progress } from '../progress.js';
import { gridMarkdown } from '../report/markdown.js';
import { benchSetup, outputDir, writeResult } from '../setup.js';
import { parseIntList } from '../shapes.js';

interface GridCliOptions {
  data: string;
  format: string;
  negatives: string;
  batchSizes: string;
  maxLens: string;
  epochs: string;
  hidden: string;
  blocks: string;
  heads: string;
  dropout: string;
  lr: string;
  loss: string;
  share: string;
  blockRows: string;
  impl: string;
  budgetMib: string;
  budgetAs?: string;
  trainOverBudget?: boolean;
  evalSplit: string;
  parallel: string;
  maxSteps: string;
  evalUsers: string;
  seed: string;
  quick?: boolean;
  backend: string;
  json?: boolean;
  out?: string;
}

/** One grid cell's plan and result together (what grid.json lists). */
export interface GridRow extends GridCell {
  result: CellResult | null;
}

function one(name: string, v: string, allowed: readonly string[]): string {
  if (!allowed.includes(v))
    throw new RangeError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v;
}

function num(name: string, v: string, min: number): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min)
    throw new RangeError(`${name} must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
  return x;
}

/** Registers `cutrec-bench grid` and the hidden `grid-cell`. */
export function registerGrid(program: Command): void {
  program
    .command('grid')
    .description(
      'train SASRec over negatives × batch size (× max length) under a memory budget and plot NDCG@10 as a heat map',
    )
    .option('--data <path>', "interaction log (e.g. ../shared/data/Beauty.txt), or 'synthetic'", 'synthetic')
    .option('--format <name>', `format of --data (${INTERACTION_FORMATS.join(', ')})`, 'auto')
    .option('--negatives <list>', 'negatives K per cell row', '16,64,256')
    .option('--batch-sizes <list>', 'users per batch per cell column', '64,128,256')
    .option('--max-lens <list>', 'sequence lengths (a panel each)', '50')
    .option('--epochs <n>', 'training epochs per cell', '3')
    .option('--hidden <D>', 'hidden size', '64')
    .option('--blocks <n>', 'transformer blocks', '2')
    .option('--heads <n>', 'attention heads', '1')
    .option('--dropout <p>', 'dropout', '0.2')
    .option('--lr <x>', 'AdamW learning rate', '0.001')
    .option('--loss <name>', 'cce-, bce or gbce', 'cce-')
    .option('--share <mode>', 'share mode of cce- (row, block, batch)', 'row')
    .option('--block-rows <n>', 'rows per block', '64')
    .option('--impl <name>', 'loss impl (auto, tfjs, wgsl, cuda)', 'auto')
    .option('--budget-mib <n>', 'memory budget of a training step', '1024')
    .option(
      '--budget-as <impl>',
      `check the budget with this implementation's memory model (${BENCH_IMPLS.join(', ')}); default: the one trained`,
    )
    .option('--train-over-budget', 'train cells over the budget too (marked * in the heat map)')
    .option('--eval-split <name>', 'valid or test (leave-one-out)', 'test')
    .option('--parallel <P>', 'cells trained at once, each in its own process', '1')
    .option('--max-steps <n>', 'cap on training steps per cell (0: none), to bound the grid’s time', '0')
    .option('--eval-users <n>', 'evaluate on this many users (an even subsample; 0: all)', '0')
    .option('--seed <n>', 'seed', '42')
    .option('--quick', 'a 2×2 grid on a small synthetic dataset, 1 epoch (CI)')
    .option('--backend <name>', 'tfjs backend: webgpu, cpu or auto', 'auto')
    .option('--json', 'print the results as JSON on stdout (no progress output)')
    .option(
      '--out <dir>',
      'write grid.json, grid.md and grid-ndcg.svg here (default ./bench-results/<card>-<date>, not with --json alone)',
    )
    .action(async (o: GridCliOptions) => {
      const t0 = performance.now();
      const setup = await benchSetup(o.backend as 'auto');
      const q = o.quick;
      const format = one('--format', o.format, INTERACTION_FORMATS) as InteractionFormat;
      const loss = one('--loss', o.loss, ['cce-', 'bce', 'gbce']) as CellSpec['loss'];
      const share = one('--share', o.share, ['row', 'block', 'batch']) as CellSpec['share'];
      const impl = one('--impl', o.impl, ['auto', 'tfjs', 'wgsl', 'cuda']) as CellSpec['impl'];
      const evalSplit = one('--eval-split', o.evalSplit, ['valid', 'test']) as CellSpec['evalSplit'];
      const trained: BenchImpl = impl === 'auto' ? (setup.env.backend === 'webgpu' ? 'wgsl' : 'tfjs') : impl;
      const budgetImpl = (
        o.budgetAs
          ? one('--budget-as', o.budgetAs, BENCH_IMPLS)
          : loss === 'cce-'
            ? trained
            : 'tfjs-naive-sampled'
      ) as BenchImpl;
      const data = q ? 'synthetic' : o.data;
      const numItems =
        data === 'synthetic'
          ? syntheticDataset({ numUsers: 300, numItems: 100, seed: 42 }).dataset.numItems
          : (await readInteractions(data, { format })).numItems;
      const spec = {
        negatives: q ? [4, 16] : parseIntList('--negatives', o.negatives),
        batchSizes: q ? [16, 32] : parseIntList('--batch-sizes', o.batchSizes),
        maxLens: q ? [10] : parseIntList('--max-lens', o.maxLens),
        numItems,
        hidden: q ? 16 : num('--hidden', o.hidden, 1),
        numBlocks: q ? 1 : num('--blocks', o.blocks, 0),
        numHeads: q ? 1 : num('--heads', o.heads, 1),
        share,
        blockRows: num('--block-rows', o.blockRows, 1),
        budgetImpl,
        budgetBytes: num('--budget-mib', o.budgetMib, 1) * 2 ** 20,
      };
      const cells = planGrid(spec);
      const toRun = cells.filter((c) => !c.overBudget || o.trainOverBudget);
      const parallel = Math.floor(num('--parallel', o.parallel, 1));
      const bar = progress(Boolean(o.json));
      bar.log(
        `cutrec-bench grid on ${setup.env.card}: ${cells.length} cells (${cells.length - toRun.length} over the ${o.budgetMib} MiB budget as ${budgetImpl}), ${toRun.length} to train, ${parallel} at a time`,
      );
      const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
      let done = 0;
      bar.update(0, toRun.length, 'starting');
      const results = await mapParallel(toRun, parallel, async (c) => {
        const cellSpec: CellSpec = {
          data,
          format,
          syntheticUsers: 300,
          syntheticItems: 100,
          negatives: c.negatives,
          batchSize: c.batchSize,
          maxLen: c.maxLen,
          epochs: q ? 1 : num('--epochs', o.epochs, 1),
          hidden: spec.hidden,
          numBlocks: spec.numBlocks,
          numHeads: spec.numHeads,
          dropout: num('--dropout', o.dropout, 0),
          lr: num('--lr', o.lr, 0),
          loss,
          share,
          blockRows: spec.blockRows,
          impl,
          evalSplit,
          seed: num('--seed', o.seed, 0),
          maxSteps: Math.floor(num('--max-steps', o.maxSteps, 0)),
          evalUsers: Math.floor(num('--eval-users', o.evalUsers, 0)),
        };
        const r = await runCellChild(cli, cellSpec, setup.env.backend);
        done++;
        bar.update(
          done,
          toRun.length,
          `K=${c.negatives} B=${c.batchSize} L=${c.maxLen}: ${r.error ? 'error' : `NDCG@10 ${r.ndcg10?.toFixed(4)} in ${r.totalSeconds.toFixed(1)} s`}`,
        );
        return r;
      });
      bar.stop();
      const rows: GridRow[] = cells.map((c) => ({ ...c, result: results[toRun.indexOf(c)] ?? null }));
      const wallSeconds = (performance.now() - t0) / 1e3;
      const out = {
        environment: setup.env,
        spec: {
          ...spec,
          data,
          loss,
          impl,
          evalSplit,
          parallel,
          epochs: q ? 1 : Number(o.epochs),
          maxSteps: Number(o.maxSteps),
          evalUsers: Number(o.evalUsers),
          lr: Number(o.lr),
          dropout: Number(o.dropout),
        },
        wallSeconds,
        rows,
      };
      if (o.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      if (o.out || !o.json) {
        const dir = outputDir(o.out, setup.env);
        writeResult(dir, 'grid.json', JSON.stringify(out, null, 2));
        const md = gridMarkdown(rows, out.spec, wallSeconds, setup.env);
        writeResult(dir, 'grid.md', md);
        const svg = await heatmapSvg(
          rows.map((r) => ({
            negatives: r.negatives,
            batchSize: r.batchSize,
            maxLen: r.maxLen,
            ndcg10: r.result?.ndcg10 ?? null,
            overBudget: r.overBudget,
            trained: r.result !== null,
            ...(r.result?.error ? { error: r.result.error } : {}),
          })),
          `NDCG@10 (${evalSplit}) on ${data.split('/').pop()}, ${loss} ${loss === 'cce-' ? share : ''}, budget ${o.budgetMib} MiB as ${budgetImpl}`,
        );
        writeResult(dir, 'grid-ndcg.svg', svg);
        if (!o.json) process.stdout.write(`${md}\nwritten to ${dir}\n`);
      }
    });

  program
    .command('grid-cell', { hidden: true })
    .description('(internal) train and evaluate one grid cell; prints its result as one JSON line')
    .requiredOption('--spec <json>', 'the CellSpec')
    .option('--backend <name>', 'tfjs backend', 'auto')
    .action(async (o: { spec: string; backend: string }) => {
      const started = performance.now();
      await benchSetup(o.backend as 'auto');
      const r = await runCell(JSON.parse(o.spec) as CellSpec, started);
      process.stdout.write(`${CELL_RESULT_PREFIX}${JSON.stringify(r)}\n`);
    });
}
