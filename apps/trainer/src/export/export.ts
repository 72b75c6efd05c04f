/**
 * `cutrec export RUN --format onnx`: the run's checkpoint as an ONNX inference graph
 * (@cutrec/models/onnx) and, beside it, `<name>.ids.json` mapping item indices to original ids.
 * Both files are built in memory, written to temporary files and renamed into place, so a failed
 * export leaves no file behind.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@cutrec/models';
import { exportSasrecOnnx, onnxIdsFile } from '@cutrec/models/onnx';
import { openRun } from '../commands.js';
import { runPaths } from '../train/run-folder.js';
import { VERSION } from '../version.js';

/** Options of `cutrec export` (strings as commander gives them). */
export interface ExportCommandOptions {
  format?: string;
  out?: string;
  k?: string;
  scores?: boolean;
  checkpoint?: string;
  backend?: string;
}

/** What `cutrec export` reports. */
export interface ExportReport {
  run: string;
  checkpoint: string;
  format: 'onnx';
  model: string;
  ids: string;
  bytes: number;
  k: number;
  scores: boolean;
  numItems: number;
  maxLen: number;
  seconds: number;
}

/** The ids file beside a model file: `model.onnx` → `model.ids.json`. */
export function idsPathOf(modelPath: string): string {
  const file = basename(modelPath).replace(/\.onnx$/i, '');
  return join(dirname(modelPath), `${file}.ids.json`);
}

/** Exports a run's checkpoint (best by default) as ONNX; returns where and what it wrote. */
export async function exportRun(dir: string, opts: ExportCommandOptions): Promise<ExportReport> {
  const format = opts.format ?? 'onnx';
  if (format !== 'onnx') throw new Error(`--format must be 'onnx', got '${format}'`);
  const k = opts.k === undefined ? 100 : Number(opts.k);
  if (!Number.isInteger(k) || k < 1) throw new Error(`--k must be an integer ≥ 1, got '${opts.k}'`);
  const model = resolve(opts.out ?? join(runPaths(dir).dir, 'model.onnx'));
  const folder = dirname(model);
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new Error(`--out ${opts.out}: the folder ${folder} does not exist`);
  const ids = idsPathOf(model);
  const started = performance.now();
  // Export reads weights back to the host; the CPU backend needs no GPU set-up.
  const run = await openRun(dir, opts.checkpoint ?? 'best', opts.backend ?? 'cpu');
  try {
    const { numItems: C, maxLen: L } = run.model.config;
    const kk = Math.min(k, C);
    const scores = opts.scores === true;
    const bytes = await exportSasrecOnnx(run.model, {
      k: kk,
      scores,
      producerVersion: VERSION,
      metadata: { 'cutrec.checkpoint': basename(run.checkpoint) },
    });
    const idsText = `${JSON.stringify(onnxIdsFile(run.data.dataset.itemIds, L))}\n`;
    // The ids file goes first under a temporary name, so a model never appears without its ids.
    const idsTmp = `${ids}.tmp-${process.pid}-${Date.now()}`;
    writeFileAtomic(idsTmp, new TextEncoder().encode(idsText));
    try {
      writeFileAtomic(model, bytes);
      renameSync(idsTmp, ids);
    } catch (err) {
      rmSync(idsTmp, { force: true });
      throw err;
    }
    return {
      run: runPaths(dir).dir,
      checkpoint: run.checkpoint,
      format: 'onnx',
      model,
      ids,
      bytes: bytes.length,
      k: kk,
      scores,
      numItems: C,
      maxLen: L,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    run.model.dispose();
  }
}

/** The report as text lines. */
export function formatExport(r: ExportReport): string {
  return [
    `wrote ${r.model} (${(r.bytes / 2 ** 20).toFixed(2)} MiB, ONNX opset 17) and ${r.ids} in ${r.seconds.toFixed(1)} s`,
    `  input  history int64 [batch, ${r.maxLen}] (item indices, left-padded with ${r.numItems})`,
    `  input  exclude int64 [batch, M] (indices never returned, padded with ${r.numItems}; [batch, 0] for none)`,
    `  output top_items int64 [batch, ${r.k}], top_scores float32 [batch, ${r.k}]${r.scores ? `, scores float32 [batch, ${r.numItems}]` : ''}`,
  ].join('\n');
}
