/** The run folder's layout and its files: config, metrics, baselines, test metrics, checkpoints, report. */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@cutrec/models';
import type { EpochRecord, TestRecord } from './events.js';

/** Paths inside a run folder. */
export interface RunPaths {
  dir: string;
  config: string;
  metrics: string;
  baselines: string;
  test: string;
  report: string;
  checkpoints: string;
  best: string;
  last: string;
}

/** The paths of the run folder `dir`. */
export function runPaths(dir: string): RunPaths {
  const d = resolve(dir);
  return {
    dir: d,
    config: join(d, 'config.json'),
    metrics: join(d, 'metrics.jsonl'),
    baselines: join(d, 'baselines.json'),
    test: join(d, 'test-metrics.json'),
    report: join(d, 'report.html'),
    checkpoints: join(d, 'checkpoints'),
    best: join(d, 'checkpoints', 'best.safetensors'),
    last: join(d, 'checkpoints', 'last.safetensors'),
  };
}

/** `runs/<yyyymmdd-hhmmss>-<dataset>-<loss>` under the current directory. */
export function defaultRunDir(dataset: string, loss: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return join('runs', `${stamp}-${dataset}-${loss.replace(/[^\w]+/g, '') || 'loss'}`);
}

/** Creates the run folder and its checkpoints folder. */
export function createRunFolder(paths: RunPaths): void {
  mkdirSync(paths.checkpoints, { recursive: true });
}

/** Writes `value` as pretty JSON, atomically. */
export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

/** Reads a JSON file, naming it when it is missing or broken. */
export function readJson<T>(path: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`${path}: not found (is this a cutrec run folder?)`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

/** Appends one record to metrics.jsonl. */
export function appendMetrics(paths: RunPaths, record: EpochRecord | TestRecord): void {
  appendFileSync(paths.metrics, `${JSON.stringify(record)}\n`);
}

/** The records of metrics.jsonl (skipping a torn last line). */
export function readMetrics(paths: RunPaths): (EpochRecord | TestRecord)[] {
  if (!existsSync(paths.metrics)) return [];
  const out: (EpochRecord | TestRecord)[] = [];
  for (const line of readFileSync(paths.metrics, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A line torn by a crash mid-write; the checkpoint decides where the run resumes.
    }
  }
  return out;
}

/** Keeps only the epoch records before `epoch` (what a resumed run starts from). */
export function truncateMetrics(paths: RunPaths, epoch: number): EpochRecord[] {
  const kept = readMetrics(paths).filter((r): r is EpochRecord => r.type === 'epoch' && r.epoch < epoch);
  writeFileSync(paths.metrics, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return kept;
}
