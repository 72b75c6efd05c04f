/** The run folder's layout and its files: config, metrics, baselines, test metrics, checkpoints, report. */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '@cutrec/models';
import { ConfigError } from '../config/load.js';
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

/** `runs/<yyyymmdd-hhmmss>-<dataset>-<loss>` under the current directory (see {@link claimDefaultRunDir}). */
export function defaultRunDir(dataset: string, loss: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return join('runs', `${stamp}-${dataset}-${loss.replace(/[^\w]+/g, '') || 'loss'}`);
}

/** The command that continues the run in `dir`, as a user types it (relative when under the cwd). */
export function resumeCommand(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return `npx cutrec train --resume ${rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : dir}`;
}

/** What a folder holds: nothing (or only temporaries a killed write left), a run, or other files. */
export type FolderState = 'absent' | 'empty' | 'run' | 'other';

const RUN_ENTRIES = ['config.json', 'checkpoints', 'metrics.jsonl'];

/** Files a write killed before its rename leaves (`<name>.tmp-<pid>-<time>`). */
const isTemporary = (name: string) => /\.tmp-\d+-\d+$/.test(name);

/** Whether `dir` is absent, empty, a run folder, or holds other files. */
export function folderState(dir: string): FolderState {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new ConfigError(`--out ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (entries.some((e) => RUN_ENTRIES.includes(e))) return 'run';
  return entries.every(isTemporary) ? 'empty' : 'other';
}

/** Throws unless `--out dir` may receive a new run (absent, empty, or a run with `overwrite`); creates nothing. */
export function checkOutFolder(dir: string, overwrite: boolean): FolderState {
  const state = folderState(dir);
  const shown = relative(process.cwd(), dir) || dir;
  if (state === 'run' && !overwrite) {
    throw new ConfigError(
      `--out ${shown} already holds a run: continue it with \`${resumeCommand(dir)}\`, choose another --out, or add --overwrite to replace it`,
    );
  }
  if (state === 'other') {
    throw new ConfigError(
      `--out ${shown} is not empty and is not a cutrec run folder; choose another --out${overwrite ? ' (--overwrite only replaces run folders)' : ''}`,
    );
  }
  return state;
}

/** Makes the folder of a new run: `--out` (checked again; an old run removed first with `overwrite`). */
export function claimRunFolder(paths: RunPaths, overwrite: boolean): void {
  if (checkOutFolder(paths.dir, overwrite) === 'run') rmSync(paths.dir, { recursive: true, force: true });
  mkdirSync(paths.dir, { recursive: true });
}

/**
 * Makes a new folder `base`, else `base-2`, `base-3`, …: mkdir fails on an existing folder, so runs
 * started at the same moment (even in other processes) never share one. Returns the folder made.
 */
export function claimDefaultRunDir(base: string): string {
  mkdirSync(dirname(base), { recursive: true });
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Removes the temporaries a write killed before its rename left in the run folder. */
export function removeTemporaries(paths: RunPaths): void {
  for (const dir of [paths.dir, paths.checkpoints]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (isTemporary(name)) rmSync(join(dir, name), { force: true });
  }
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

/**
 * Keeps only the epoch records before `epoch` (what a resumed run starts from), one per epoch;
 * rewritten atomically, so a kill during the rewrite loses no record.
 */
export function truncateMetrics(paths: RunPaths, epoch: number): EpochRecord[] {
  const byEpoch = new Map<number, EpochRecord>();
  for (const r of readMetrics(paths)) if (r.type === 'epoch' && r.epoch < epoch) byEpoch.set(r.epoch, r);
  const kept = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  writeFileAtomic(
    paths.metrics,
    new TextEncoder().encode(kept.map((r) => `${JSON.stringify(r)}\n`).join('')),
  );
  return kept;
}
