/** The `grid` command (negatives × batch size × length, each cell trained to early stopping; heat maps and the memory-budget view) and its hidden `grid-cell` worker. */
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  INTERACTION_FORMATS,
  type InteractionFormat,
  readInteractions,
  syntheticDataset,
} from '@cutrec/data';
import { type Command, Option } from 'commander';
import { BENCH_IMPLS } from '../formulas.js';
import { type CellResult, type CellSpec, runCell } from '../grid/cell.js';
import { removeState } from '../grid/cell-state.js';
import { chooseGridEngine, fusedKindFirst, type GridEngine, type GridEngineRequest } from '../grid/choose.js';
import { writeGridOutputs } from '../grid/outputs.js';
import { type BudgetImpl, type GridSpec, planGrid } from '../grid/plan.js';
import {
  checkRecipe,
  type GridDoc,
  type GridRow,
  mergeRows,
  needsTraining,
  readGrid,
  rowKey,
  writeGrid,
} from '../grid/results.js';
import { CELL_RESULT_PREFIX, mapParallel, runCellChild } from '../grid/run.js';
import { progress } from '../progress.js';
import { benchSetup, outputDir } from '../setup.js';
import { parseIntList } from '../shapes.js';

export type { GridRow } from '../grid/results.js';

interface GridCliOptions {
  data: string;
  format: string;
  negatives: string;
  batchSizes: string;
  maxLens: string;
  epochs: string;
  patience: string;
  hidden: string;
  blocks: string;
  heads: string;
  dropout: string;
  lr: string;
  loss: string;
  share: string;
  blockRows: string;
  impl: string;
  engine: string;
  precision: string;
  fusedDevice: string;
  removeSeen?: boolean;
  keepSeen?: boolean;
  budgetMib: string;
  budgetAs?: string;
  trainOverBudget?: boolean;
  parallel: string;
  maxSteps: string;
  evalUsers: string;
  timeLimit: string;
  seed: string;
  quick?: boolean;
  backend: string;
  json?: boolean;
  out?: string;
  resume?: boolean;
}

function one<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T))
    throw new RangeError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function num(name: string, v: string, min: number): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min)
    throw new RangeError(`${name} must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
  return x;
}

const QUICK = { users: 300, items: 100 };

/** The settings every cell shares (what `--resume` compares), from the flags. */
function recipeOf(o: GridCliOptions, g: GridEngine): Omit<CellSpec, 'negatives' | 'batchSize' | 'maxLen'> {
  const q = o.quick;
  return {
    data: q ? 'synthetic' : o.data,
    format: one('--format', o.format, INTERACTION_FORMATS) as InteractionFormat,
    syntheticUsers: QUICK.users,
    syntheticItems: QUICK.items,
    epochs: q ? 4 : Math.floor(num('--epochs', o.epochs, 1)),
    patience: q ? 2 : Math.floor(num('--patience', o.patience, 0)),
    hidden: q ? 16 : num('--hidden', o.hidden, 1),
    numBlocks: q ? 1 : num('--blocks', o.blocks, 0),
    numHeads: q ? 1 : num('--heads', o.heads, 1),
    dropout: num('--dropout', o.dropout, 0),
    lr: num('--lr', o.lr, 0),
    loss: one('--loss', o.loss, ['cce-', 'bce', 'gbce'] as const),
    share: one('--share', o.share, ['row', 'block', 'batch'] as const),
    blockRows: num('--block-rows', o.blockRows, 1),
    impl: one('--impl', o.impl, ['auto', 'tfjs', 'wgsl', 'cuda'] as const),
    engine: g.engine,
    device: g.device,
    precision: g.precision,
    removeSeen: !o.keepSeen,
    seed: num('--seed', o.seed, 0),
    maxSteps: Math.floor(num('--max-steps', o.maxSteps, 0)),
    evalUsers: Math.floor(num('--eval-users', o.evalUsers, 0)),
  };
}

/** The grid's plan: cells, their predicted bytes and the budget. */
async function gridSpec(o: GridCliOptions, recipe: Recipe, g: GridEngine) {
  const q = o.quick;
  const numItems =
    recipe.data === 'synthetic'
      ? syntheticDataset({ numUsers: QUICK.users, numItems: QUICK.items, seed: recipe.seed }).dataset.numItems
      : (await readInteractions(recipe.data, { format: recipe.format })).numItems;
  const trained = recipe.impl === 'auto' ? (g.backend === 'webgpu' ? 'wgsl' : 'tfjs') : recipe.impl;
  const budgetImpl: BudgetImpl = o.budgetAs
    ? one('--budget-as', o.budgetAs, [...BENCH_IMPLS, 'fused'] as const)
    : g.engine === 'fused'
      ? 'fused'
      : recipe.loss === 'cce-'
        ? trained
        : 'tfjs-naive-sampled';
  const spec: GridSpec = {
    negatives: q ? [4, 16] : parseIntList('--negatives', o.negatives),
    batchSizes: q ? [16, 32] : parseIntList('--batch-sizes', o.batchSizes),
    maxLens: q ? [10] : parseIntList('--max-lens', o.maxLens),
    numItems,
    hidden: recipe.hidden,
    numBlocks: recipe.numBlocks,
    numHeads: recipe.numHeads,
    share: recipe.share,
    blockRows: recipe.blockRows,
    budgetImpl,
    precision: recipe.precision,
    budgetBytes: num('--budget-mib', o.budgetMib, 1) * 2 ** 20,
  };
  return spec;
}

/** The engine the flags ask for, and tfjs set up in this process for it. */
async function setUp(o: GridCliOptions) {
  const req: GridEngineRequest = {
    engine: one('--engine', o.engine, ['auto', 'fused', 'tfjs'] as const),
    precision: one('--precision', o.precision, ['auto', 'fp32', 'bf16', 'f16'] as const),
    fusedDevice: one('--fused-device', o.fusedDevice, ['auto', 'cuda', 'webgpu', 'host'] as const),
    backend: one('--backend', o.backend, ['auto', 'webgpu', 'cpu'] as const),
  };
  // The fused engine on CUDA or the host needs no GPU in this process.
  const first = req.engine === 'tfjs' ? {} : fusedKindFirst(req);
  const here = first.device === 'cuda' || first.device === 'host' ? 'cpu' : req.backend;
  const setup = await benchSetup(here);
  return {
    setup,
    g: chooseGridEngine(req, setup.device !== null, setup.device?.features.has('shader-f16') ?? false),
  };
}

/** Registers `cutrec-bench grid` and the hidden `grid-cell`. */
export function registerGrid(program: Command): void {
  program
    .command('grid')
    .description(
      'train SASRec over negatives × batch size (× max length), each cell to early stopping on validation NDCG@10; heat maps and the memory-budget view',
    )
    .option('--data <path>', "interaction log (e.g. ../shared/data/Beauty.txt), or 'synthetic'", 'synthetic')
    .option('--format <name>', `format of --data (${INTERACTION_FORMATS.join(', ')})`, 'auto')
    .option('--negatives <list>', 'negatives K per cell row', '16,64,256')
    .option('--batch-sizes <list>', 'users per batch per cell column', '64,128,256')
    .option('--max-lens <list>', 'sequence lengths (a panel each)', '50')
    .option('--epochs <n>', 'at most this many epochs per cell', '200')
    .option(
      '--patience <n>',
      'stop a cell after n epochs without a better validation NDCG@10 (validated every epoch); 0: train --epochs, then evaluate once',
      '10',
    )
    .option('--hidden <D>', 'hidden size', '64')
    .option('--blocks <n>', 'transformer blocks', '2')
    .option('--heads <n>', 'attention heads', '2')
    .option('--dropout <p>', 'dropout', '0.5')
    .option('--lr <x>', 'AdamW learning rate', '0.002')
    .option('--loss <name>', 'cce-, bce or gbce', 'cce-')
    .option('--share <mode>', 'share mode of cce- (row, block, batch)', 'row')
    .option('--block-rows <n>', 'rows per block', '64')
    .option('--impl <name>', 'loss impl of the tfjs engine (auto, tfjs, wgsl, cuda)', 'auto')
    .option(
      '--engine <name>',
      'auto (the fused engine on CUDA or WebGPU where usable, else tfjs), fused or tfjs',
      'auto',
    )
    .option(
      '--precision <p>',
      "fp32, bf16 (fused engine on CUDA), f16 (fused engine on WebGPU, adapters with 'shader-f16') or auto (fp32)",
      'auto',
    )
    .option(
      '--fused-device <kind>',
      'the fused engine’s device: auto (CUDA, else WebGPU), cuda, webgpu, or host (float64 references; tiny tests only)',
      'auto',
    )
    .option(
      '--remove-seen',
      "remove each user's history items from the candidates in evaluation (default, as cutrec train)",
    )
    .addOption(
      new Option('--keep-seen', "evaluate with the user's history items among the candidates").conflicts(
        'removeSeen',
      ),
    )
    .option('--budget-mib <n>', 'memory budget of a training step', '1024')
    .option(
      '--budget-as <impl>',
      `check the budget with this memory model (${BENCH_IMPLS.join(', ')}, fused); default: the engine trained`,
    )
    .option('--train-over-budget', 'train cells over the budget too (marked * in the heat maps)')
    .option('--parallel <P>', 'cells trained at once, each in its own process', '1')
    .option('--max-steps <n>', 'cap on training steps per cell (0: none)', '0')
    .option('--eval-users <n>', 'evaluate on this many users (an even subsample; 0: all)', '0')
    .option(
      '--time-limit <s>',
      'start no cell, and no epoch of a cell, after this many seconds (0: none); cut cells rerun with --resume',
      '0',
    )
    .option('--resume', 'keep the finished cells of grid.json in --out (same recipe) and train the rest')
    .option('--seed <n>', 'seed', '42')
    .option('--quick', 'a 2×2 grid on a small synthetic dataset, at most 4 epochs (CI)')
    .option('--backend <name>', 'tfjs backend: webgpu, cpu or auto', 'auto')
    .option('--json', 'print the results as JSON on stdout (no progress output)')
    .option(
      '--out <dir>',
      'write grid.json (as cells finish), grid.md and the SVGs here (default ./bench-results/<card>-<date>, not with --json alone)',
    )
    .action(async (o: GridCliOptions) => runGrid(o));

  program
    .command('grid-cell', { hidden: true })
    .description('(internal) train and evaluate one grid cell; prints its result as one JSON line')
    .requiredOption('--spec <json>', 'the CellSpec')
    .option('--backend <name>', 'tfjs backend', 'auto')
    .action(async (o: { spec: string; backend: string }) => {
      const started = performance.now();
      const setup = await benchSetup(o.backend as 'auto');
      const r = await runCell(JSON.parse(o.spec) as CellSpec, started, setup.device ?? undefined);
      process.stdout.write(`${CELL_RESULT_PREFIX}${JSON.stringify(r)}\n`);
    });
}

/** One cell's one-line progress label. */
function label(r: CellResult): string {
  const at = `K=${r.negatives} B=${r.batchSize} L=${r.maxLen}`;
  if (r.error) return `${at}: error`;
  return `${at}: test NDCG@10 ${r.ndcg10?.toFixed(4)} at epoch ${r.bestEpoch}/${r.epochs} (${r.stoppedBy}) in ${r.totalSeconds.toFixed(0)} s`;
}

type Recipe = ReturnType<typeof recipeOf>;

/** This call's rows (with `--resume`, the earlier finished results kept) and those to train, costliest (largest K) first. */
function rowsOf(o: GridCliOptions, spec: GridSpec, recipe: Recipe, previous: GridDoc | null) {
  if (previous) checkRecipe(previous.recipe, recipe);
  const planned = planGrid(spec);
  const rows = mergeRows(planned, previous?.rows);
  const keys = new Set(planned.map(rowKey));
  const toRun = rows
    .filter((r) => keys.has(rowKey(r)) && needsTraining(r) && (!r.overBudget || o.trainOverBudget))
    .sort((a, b) => b.negatives - a.negatives || a.batchSize - b.batchSize);
  return { rows, toRun };
}

/** What grid.json holds at the start of this call. */
function gridDoc(
  o: GridCliOptions,
  spec: GridSpec,
  recipe: Recipe,
  g: GridEngine,
  env: unknown,
  rows: GridRow[],
  previous: GridDoc | null,
): GridDoc {
  return {
    environment: env,
    recipe,
    spec: {
      ...spec,
      ...recipe,
      data: recipe.data === 'synthetic' ? 'synthetic' : basename(recipe.data),
      parallel: Number(o.parallel),
      ...(g.reason ? { engineNote: g.reason } : {}),
    },
    wallSeconds: previous?.wallSeconds ?? 0,
    calls: (previous?.calls ?? 0) + 1,
    rows,
  };
}

/** Options of {@link trainRows}. */
interface TrainRowsOptions {
  recipe: Recipe;
  g: GridEngine;
  parallel: number;
  deadline: number | undefined;
  /** Where a cell saves its state when cut (undefined: nowhere). */
  stateOf: (r: GridRow) => string | undefined;
  /** Called after each cell (writes grid.json). */
  save: () => void;
  bar: ReturnType<typeof progress>;
}

/** Trains `toRun` in child processes, `parallel` at a time, none started after the deadline. */
async function trainRows(toRun: GridRow[], o: TrainRowsOptions): Promise<void> {
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  let done = 0;
  o.bar.update(0, toRun.length, 'starting');
  await mapParallel(toRun, o.parallel, async (row) => {
    if (o.deadline !== undefined && Date.now() >= o.deadline) return;
    const stateFile = o.stateOf(row);
    const cell: CellSpec = {
      ...o.recipe,
      negatives: row.negatives,
      batchSize: row.batchSize,
      maxLen: row.maxLen,
      ...(o.deadline !== undefined ? { deadline: o.deadline } : {}),
      ...(stateFile ? { stateFile } : {}),
    };
    row.result = await runCellChild(cli, cell, o.g.backend);
    o.save();
    o.bar.update(++done, toRun.length, label(row.result));
  });
  o.bar.stop();
}

async function runGrid(o: GridCliOptions): Promise<void> {
  const t0 = Date.now();
  const { setup, g } = await setUp(o);
  const recipe = recipeOf(o, g);
  const spec = await gridSpec(o, recipe, g);
  const writes = Boolean(o.out || !o.json);
  const dir = writes ? outputDir(o.out, setup.env) : '';
  const previous = o.resume && writes ? readGrid(dir) : null;
  const { rows, toRun } = rowsOf(o, spec, recipe, previous);
  // A cut cell's state (fused engine) lives beside grid.json; a run that does not resume starts afresh.
  const stateOf = (r: GridRow) =>
    writes ? join(dir, 'cells', `${r.maxLen}-${r.negatives}-${r.batchSize}`) : undefined;
  if (writes && !o.resume) for (const r of toRun) removeState(stateOf(r)!);
  const limit = num('--time-limit', o.timeLimit, 0);
  const doc = gridDoc(o, spec, recipe, g, setup.env, rows, previous);
  const save = () => {
    doc.wallSeconds = (previous?.wallSeconds ?? 0) + (Date.now() - t0) / 1e3;
    if (writes) writeGrid(dir, doc);
  };
  save();
  const parallel = Math.floor(num('--parallel', o.parallel, 1));
  const bar = progress(Boolean(o.json));
  bar.log(
    `cutrec-bench grid on ${setup.env.card}: ${g.engine} engine${g.engine === 'fused' ? ` on ${g.device} (${g.precision})` : ` on tfjs ${g.backend}`}; ${rows.length} cells, ${rows.length - toRun.length} done or over the budget, ${toRun.length} to train, ${parallel} at a time`,
  );
  const deadline = limit > 0 ? t0 + limit * 1e3 : undefined;
  await trainRows(toRun, { recipe, g, parallel, deadline, stateOf, save, bar });
  save();
  if (o.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  if (!writes) return;
  const what = `${doc.spec.data}, ${recipe.loss}${recipe.loss === 'cce-' ? ` ${recipe.share}` : ''}, ${g.engine}${g.engine === 'fused' ? ` ${g.device}` : ''}`;
  const md = await writeGridOutputs(dir, doc, what, setup.env);
  if (!o.json) process.stdout.write(`${md}\nwritten to ${dir}\n`);
}
