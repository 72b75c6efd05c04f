/**
 * A grid cell's saved state, so that a cell cut by `--time-limit` continues where it stopped on
 * `--resume` instead of starting over: `<path>.json` (the loop's progress and an index of the
 * arrays) and `<path>.bin` (the float32 arrays back to back: parameters, Adam moments, the best
 * epoch's parameters). Written through temporary files; removed when the cell finishes.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What is saved: JSON-able metadata and named float32 arrays. */
export interface SavedState<M> {
  meta: M;
  arrays: Record<string, Float32Array>;
}

interface Index<M> {
  meta: M;
  arrays: { name: string; offset: number; length: number }[];
}

/** Writes `state` at `path` (.json and .bin). */
export function saveState<M>(path: string, state: SavedState<M>): void {
  mkdirSync(dirname(path), { recursive: true });
  const arrays: Index<M>['arrays'] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(state.arrays)) {
    arrays.push({ name, offset, length: a.length });
    offset += a.length;
  }
  const bin = new Float32Array(offset);
  for (const e of arrays) bin.set(state.arrays[e.name]!, e.offset);
  writeFileSync(`${path}.bin.tmp`, new Uint8Array(bin.buffer));
  writeFileSync(`${path}.json.tmp`, JSON.stringify({ meta: state.meta, arrays } satisfies Index<M>));
  renameSync(`${path}.bin.tmp`, `${path}.bin`);
  renameSync(`${path}.json.tmp`, `${path}.json`);
}

/** The state at `path`, or null when there is none (or it is incomplete). */
export function loadState<M>(path: string): SavedState<M> | null {
  if (!existsSync(`${path}.json`) || !existsSync(`${path}.bin`)) return null;
  const index = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Index<M>;
  const raw = readFileSync(`${path}.bin`);
  const bin = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const arrays: Record<string, Float32Array> = {};
  for (const e of index.arrays) {
    if (e.offset + e.length > bin.length) return null;
    arrays[e.name] = bin.slice(e.offset, e.offset + e.length);
  }
  return { meta: index.meta, arrays };
}

/** Removes the state at `path` (if any). */
export function removeState(path: string): void {
  for (const ext of ['.json', '.bin']) rmSync(`${path}${ext}`, { force: true });
}
