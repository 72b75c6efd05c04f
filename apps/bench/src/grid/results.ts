/**
 * grid.json as the grid runs: one row per cell (its plan and its result), written again as each
 * cell finishes (through a temporary file and a rename, so a run killed mid-write leaves the last
 * whole file), and read back by `--resume`, which keeps the finished cells of an earlier run with
 * the same recipe and trains only the rest.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellResult } from './cell.js';
import type { GridCell } from './plan.js';

/** One grid cell's plan and result together (what grid.json lists). */
export interface GridRow extends GridCell {
  result: CellResult | null;
}

/** What grid.json holds. */
export interface GridDoc {
  environment: unknown;
  /** The settings every cell shares (compared by `--resume`). */
  recipe: Record<string, unknown>;
  spec: Record<string, unknown>;
  /** Wall seconds of every call that wrote this file, added up. */
  wallSeconds: number;
  /** How many calls wrote it (a grid resumed over several device calls). */
  calls?: number;
  rows: GridRow[];
}

/** The key of a cell in the grid. */
export const rowKey = (c: Pick<GridCell, 'maxLen' | 'negatives' | 'batchSize'>): string =>
  `${c.maxLen}/${c.negatives}/${c.batchSize}`;

/** Whether a row still has to be trained: no result, a failed one, or one the deadline cut. */
export function needsTraining(row: GridRow): boolean {
  return !row.result || Boolean(row.result.error) || row.result.complete !== true;
}

/** The grid.json in `dir`, or null when there is none. */
export function readGrid(dir: string): GridDoc | null {
  const path = join(dir, 'grid.json');
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as GridDoc;
}

/** Writes `doc` to `dir/grid.json` through a temporary file. */
export function writeGrid(dir: string, doc: GridDoc): void {
  const path = join(dir, 'grid.json');
  writeFileSync(`${path}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** Throws, naming each setting, when an earlier run's recipe differs from this one's. */
export function checkRecipe(previous: Record<string, unknown>, recipe: Record<string, unknown>): void {
  const keys = [...new Set([...Object.keys(previous), ...Object.keys(recipe)])];
  const diff = keys.filter((k) => JSON.stringify(previous[k]) !== JSON.stringify(recipe[k]));
  if (diff.length) {
    const what = diff
      .map((k) => `${k} ${JSON.stringify(previous[k])} there, ${JSON.stringify(recipe[k])} now`)
      .join('; ');
    throw new Error(
      `--resume: the grid.json there was made with another recipe (${what}); use another --out or the same flags`,
    );
  }
}

/**
 * The rows of this run: every planned cell, with the finished result of an earlier run where there
 * is one, plus the earlier run's cells outside this plan (a grid split over calls by subsets); in
 * plan order (length, then K, then batch size, ascending).
 */
export function mergeRows(planned: readonly GridCell[], previous: readonly GridRow[] = []): GridRow[] {
  const old = new Map(previous.map((r) => [rowKey(r), r]));
  const rows: GridRow[] = planned.map((c) => {
    const p = old.get(rowKey(c));
    return { ...c, result: p && !needsTraining(p) ? p.result : null };
  });
  const planKeys = new Set(planned.map(rowKey));
  rows.push(...previous.filter((r) => !planKeys.has(rowKey(r))));
  return rows.sort((a, b) => a.maxLen - b.maxLen || a.negatives - b.negatives || a.batchSize - b.batchSize);
}
