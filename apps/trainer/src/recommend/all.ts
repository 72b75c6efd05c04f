/**
 * `cutrec recommend RUN --all`: top-k lists for every user of the run's data (or the users of
 * `--users FILE`) from each user's whole history, streamed batch by batch through the device
 * (the model's last-position forward and the streaming top-k; no users × C matrix) into a JSON
 * Lines, CSV or Parquet file that appears only once complete.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { seenFromHistories } from '@cutrec/models';
import cliProgress from 'cli-progress';
import { openRun } from '../commands.js';
import { InterruptedError } from '../errors.js';
import { runPaths } from '../train/run-folder.js';
import { openScorer, type RecommendEngine } from './scorer.js';
import { readUserList } from './users.js';
import { openRecsWriter, type RecsFormat, recsFormat, type UserRecs } from './writers.js';

/** Options of `cutrec recommend --all` (strings as commander gives them). */
export interface RecommendAllOptions {
  out?: string;
  k?: string;
  users?: string;
  /** Accepted for clarity: seen items are left out unless includeSeen. */
  removeSeen?: boolean;
  /** Keep each user's history items among the recommendations. */
  includeSeen?: boolean;
  batchSize?: string;
  checkpoint?: string;
  backend?: string;
  /** auto (default: the fused engine's top-k on CUDA, else on tfjs's WebGPU device, where usable), fused or tfjs. */
  engine?: string;
  /** Show a progress bar on stderr. Default: when stderr is a terminal. */
  progress?: boolean;
}

/** What `cutrec recommend --all` reports when done. */
export interface RecommendAllReport {
  run: string;
  checkpoint: string;
  out: string;
  format: RecsFormat;
  users: number;
  k: number;
  removeSeen: boolean;
  batchSize: number;
  /** What scored: the fused engine's streamed top-k or the tfjs model. */
  engine: 'fused' | 'tfjs';
  /** Where the fused engine scored. */
  device?: 'cuda' | 'webgpu';
  seconds: number;
}

function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be an integer ≥ 1, got '${text}'`);
  return v;
}

/** Writes the top-k lists of the run's users to `opts.out`; nothing is written when it fails. */
export async function recommendAll(dir: string, opts: RecommendAllOptions): Promise<RecommendAllReport> {
  if (opts.out === undefined) throw new Error('--all needs --out FILE (.jsonl, .csv or .parquet)');
  const out = resolve(opts.out);
  const format = recsFormat(out);
  const folder = dirname(out);
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new Error(`--out ${opts.out}: the folder ${folder} does not exist`);
  const k = positiveInt('--k', opts.k, 10);
  const batchSize = positiveInt('--batch-size', opts.batchSize, 256);
  const run = await openRun(dir, opts.checkpoint ?? 'best', opts.backend);
  const started = performance.now();
  const ds = run.data.dataset;
  const { maxLen: L, numItems: C } = run.model.config;
  const users = opts.users
    ? readUserList(opts.users, ds, run.config.dataset.path ?? 'the synthetic dataset')
    : Array.from({ length: ds.numUsers }, (_, u) => u);
  const kk = Math.min(k, C);
  const removeSeen = opts.includeSeen !== true;
  let scorer: Awaited<ReturnType<typeof openScorer>>;
  try {
    scorer = await openScorer(run.model, (opts.engine ?? 'auto') as RecommendEngine, kk, batchSize);
  } catch (err) {
    run.model.dispose();
    throw err;
  }
  const showBar = opts.progress ?? process.stderr.isTTY === true;
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          format: 'recommend |{bar}| {value}/{total} users | {eta_formatted} left',
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  // A signal stops the loop after its batch, so the partial file is removed, not left behind. The
  // handlers go in before the file exists: a signal in between would otherwise kill the process
  // with the default action and leave the temporary file.
  let stop: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    stop = s;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let writer: ReturnType<typeof openRecsWriter> | undefined;
  try {
    writer = openRecsWriter(out, format);
    bar?.start(users.length, 0);
    for (let b0 = 0; b0 < users.length; b0 += batchSize) {
      // tfjs's CPU backend resolves reads as microtasks; yield so that a signal's handler can run.
      await new Promise((done) => setImmediate(done));
      if (stop) {
        throw new InterruptedError(
          `interrupted by ${stop} after ${b0} of ${users.length} users; ${opts.out} was not written`,
          stop === 'SIGINT' ? 130 : 143,
        );
      }
      const batch = users.slice(b0, b0 + batchSize);
      const inputs = new Int32Array(batch.length * L).fill(C);
      batch.forEach((u, i) => {
        const h = ds.sequences[u]!;
        const tail = h.subarray(Math.max(0, h.length - L));
        inputs.set(tail, i * L + L - tail.length);
      });
      const seen = removeSeen
        ? seenFromHistories(
            batch.map((u) => ds.sequences[u]!),
            C,
          )
        : undefined;
      const top = await scorer.topK(inputs, kk, seen);
      const rows: UserRecs[] = batch.map((u, i) => {
        const items: string[] = [];
        const scores: number[] = [];
        for (let r = 0; r < kk; r++) {
          const id = top.items[i * kk + r]!;
          if (id < 0) break;
          items.push(ds.itemIds[id]!);
          scores.push(top.scores[i * kk + r]!);
        }
        return { user: ds.userIds[u]!, items, scores };
      });
      writer.write(rows);
      bar?.update(b0 + batch.length);
    }
    writer.close();
  } catch (err) {
    writer?.abort();
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    bar?.stop();
    scorer.dispose();
    run.model.dispose();
  }
  return {
    run: runPaths(dir).dir,
    checkpoint: run.checkpoint,
    out,
    format,
    users: users.length,
    k: kk,
    removeSeen,
    batchSize,
    engine: scorer.engine,
    ...(scorer.device ? { device: scorer.device } : {}),
    seconds: (performance.now() - started) / 1000,
  };
}

/** The report as one line. */
export function formatRecommendAll(r: RecommendAllReport): string {
  return `wrote top ${r.k} for ${r.users} users${r.removeSeen ? ' (seen items removed)' : ''} to ${r.out} (${r.format}) in ${r.seconds.toFixed(1)} s (${r.engine === 'fused' ? `fused engine, ${r.device === 'webgpu' ? 'WebGPU' : 'CUDA'}` : 'tfjs'})`;
}
