/** `cutrec evaluate RUN` and `cutrec recommend RUN`: a trained run's test metrics, and top-k items with original ids. */
import { existsSync } from 'node:fs';
import { evaluatePopularity } from '@cutrec/data';
import { evaluateModel, loadModel, recommend, type SASRec, seenFromHistories } from '@cutrec/models';
import { setupBackend } from './backend.js';
import { ConfigError, validateConfig } from './config/load.js';
import type { TrainConfig } from './config/schema.js';
import { checkDataFile, loadRunData, type RunData } from './data.js';
import { explainCheckpointError } from './errors.js';
import type { Metrics } from './train/events.js';
import { readJson, runPaths } from './train/run-folder.js';

/** The cutoffs `cutrec evaluate` reports by default. */
export const EVALUATE_KS = [1, 5, 10, 20, 100] as const;

/** What {@link openRun} returns. */
export interface LoadedRun {
  config: TrainConfig;
  data: RunData;
  model: SASRec;
  checkpoint: string;
}

/** A run folder's config, data and model (checkpoint `which`), with the tfjs backend set up. */
export async function openRun(dir: string, which: string, backend: string | undefined): Promise<LoadedRun> {
  const paths = runPaths(dir);
  if (which !== 'best' && which !== 'last')
    throw new Error(`--checkpoint must be 'best' or 'last', got '${which}'`);
  const config = validateConfig(readJson(paths.config));
  const checkpoint = which === 'best' && existsSync(paths.best) ? paths.best : paths.last;
  if (!existsSync(checkpoint))
    throw new Error(`${dir}: no checkpoint in ${paths.checkpoints} (has the run trained an epoch?)`);
  const choice = (backend ?? config.backend) as TrainConfig['backend'];
  if (!['auto', 'webgpu', 'cpu'].includes(choice))
    throw new Error(`--backend must be auto, webgpu or cpu, got '${choice}'`);
  await setupBackend(choice, config.loss.impl);
  checkDataFile(config, `dataset.path of ${paths.config}`);
  const data = await loadRunData(config);
  const { model } = await loadModel(checkpoint).catch((err: unknown) => {
    const other = checkpoint === paths.best ? 'last' : 'best';
    throw explainCheckpointError(err, checkpoint, `try --checkpoint ${other}, or train the run again`);
  });
  if (model.config.numItems !== data.dataset.numItems) {
    throw new Error(
      `${checkpoint}: the model has ${model.config.numItems} items but the dataset now has ${data.dataset.numItems} (did the data file change?)`,
    );
  }
  return { config, data, model, checkpoint };
}

/** Options of `cutrec evaluate`. */
export interface EvaluateCommandOptions {
  json?: boolean;
  checkpoint?: string;
  split?: string;
  ks?: string;
  removeSeen?: boolean;
  /** Rank the history items too (overrides the run's setting; not with removeSeen). */
  keepSeen?: boolean;
  backend?: string;
}

/** What `cutrec evaluate --json` prints. */
export interface EvaluateReport {
  run: string;
  checkpoint: string;
  split: 'test' | 'valid';
  ks: number[];
  removeSeen: boolean;
  model: Metrics;
  popularity: Metrics;
}

function parseKs(text: string | undefined): number[] {
  if (text === undefined) return [...EVALUATE_KS];
  const ks = text.split(',').map((s) => Number(s.trim()));
  for (const k of ks)
    if (!Number.isInteger(k) || k < 1)
      throw new Error(`--ks must be a comma-separated list of integers ≥ 1, got '${text}'`);
  return ks;
}

/** Evaluates a run's best checkpoint on its test split at k = 1, 5, 10, 20, 100. */
export async function evaluateRun(dir: string, opts: EvaluateCommandOptions): Promise<EvaluateReport> {
  const split = opts.split ?? 'test';
  if (split !== 'test' && split !== 'valid')
    throw new Error(`--split must be 'test' or 'valid', got '${split}'`);
  const ks = parseKs(opts.ks);
  const run = await openRun(dir, opts.checkpoint ?? 'best', opts.backend);
  const config = {
    ...run.config,
    eval: {
      ...run.config.eval,
      removeSeen: opts.keepSeen ? false : (opts.removeSeen ?? run.config.eval.removeSeen),
    },
  };
  const examples = split === 'test' ? run.data.split.test : run.data.split.valid;
  if (examples.length === 0)
    throw new ConfigError(`--split ${split}: the run's ${run.config.split.kind} split has no ${split} users`);
  const model = await evaluateModel(run.model, examples, {
    ks,
    removeSeen: config.eval.removeSeen,
    batchSize: config.eval.batchSize,
  });
  const popularity = evaluatePopularity(run.data.split.train, examples, {
    ks,
    numItems: run.data.dataset.numItems,
    removeSeen: config.eval.removeSeen,
  });
  return {
    run: runPaths(dir).dir,
    checkpoint: run.checkpoint,
    split,
    ks,
    removeSeen: config.eval.removeSeen,
    model,
    popularity,
  };
}

/** The report as a text table: metrics by k for the model and the popularity baseline. */
export function formatEvaluation(r: EvaluateReport): string {
  const head = ['', ...r.ks.map((k) => `@${k}`)];
  const rows: string[][] = [head];
  for (const [who, m] of [
    ['SASRec', r.model],
    ['popularity', r.popularity],
  ] as const) {
    for (const name of ['ndcg', 'hr', 'mrr'])
      rows.push([`${who} ${name}`, ...r.ks.map((k) => (m[`${name}@${k}`] ?? Number.NaN).toFixed(4))]);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
  return [
    `${r.split} metrics of ${r.checkpoint} (full catalog${r.removeSeen ? ', seen items removed' : ''}):`,
    '',
    ...lines,
  ].join('\n');
}

/** Options of `cutrec recommend`. */
export interface RecommendCommandOptions {
  user?: string;
  items?: string;
  k?: string;
  includeSeen?: boolean;
  json?: boolean;
  checkpoint?: string;
  backend?: string;
}

/** What `cutrec recommend --json` prints. */
export interface Recommendation {
  user?: string;
  history: string[];
  k: number;
  excludeSeen: boolean;
  items: { rank: number; item: string; score: number }[];
}

/** Top-k items (original ids) for a user's whole history or for a given list of items. */
export async function recommendRun(dir: string, opts: RecommendCommandOptions): Promise<Recommendation> {
  if ((opts.user === undefined) === (opts.items === undefined)) {
    throw new Error('give exactly one of --user ID or --items ID,ID,...');
  }
  const k = opts.k === undefined ? 10 : Number(opts.k);
  if (!Number.isInteger(k) || k < 1) throw new Error(`--k must be an integer ≥ 1, got '${opts.k}'`);
  const run = await openRun(dir, opts.checkpoint ?? 'best', opts.backend);
  const ds = run.data.dataset;
  let history: Int32Array;
  if (opts.user !== undefined) {
    const u = ds.userIndex(opts.user);
    if (u === undefined)
      throw new Error(
        `--user ${opts.user}: no such user in ${run.config.dataset.path ?? 'the synthetic dataset'}`,
      );
    history = ds.sequences[u]!;
  } else {
    const ids = opts
      .items!.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) throw new Error('--items needs at least one item id');
    history = Int32Array.from(
      ids.map((id) => {
        const i = ds.itemIndex(id);
        if (i === undefined)
          throw new Error(
            `--items: no item '${id}' in ${run.config.dataset.path ?? 'the synthetic dataset'}`,
          );
        return i;
      }),
    );
  }
  const { maxLen: L, numItems: C } = run.model.config;
  const inputs = new Int32Array(L).fill(C);
  const tail = history.subarray(Math.max(0, history.length - L));
  inputs.set(tail, L - tail.length);
  const excludeSeen = !opts.includeSeen;
  const top = await recommend(
    run.model,
    inputs,
    Math.min(k, C),
    excludeSeen ? { seen: seenFromHistories([history], C) } : {},
  );
  const items: Recommendation['items'] = [];
  for (let r = 0; r < top.k; r++) {
    const id = top.items[r]!;
    if (id < 0) break;
    items.push({ rank: r + 1, item: ds.itemIds[id]!, score: top.scores[r]! });
  }
  return {
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    history: Array.from(history, (i) => ds.itemIds[i]!),
    k,
    excludeSeen,
    items,
  };
}

/** Recommendations as text lines. */
export function formatRecommendation(r: Recommendation): string {
  const who = r.user !== undefined ? `user ${r.user}` : `items ${r.history.join(',')}`;
  const lines = [
    `top ${r.items.length} for ${who} (${r.history.length} history items${r.excludeSeen ? ', seen items excluded' : ''}):`,
  ];
  const w = Math.max(4, ...r.items.map((i) => i.item.length));
  for (const i of r.items)
    lines.push(`${String(i.rank).padStart(3)}  ${i.item.padEnd(w)}  ${i.score.toFixed(4)}`);
  return lines.join('\n');
}
