/** Runs grid cells as concurrent child processes (`cutrec-bench grid-cell`), P at a time. */
import { spawn } from 'node:child_process';
import type { CellResult, CellSpec } from './cell.js';

/** The line prefix a child prints its result after. */
export const CELL_RESULT_PREFIX = 'CUTREC_GRID_CELL ';

/** Runs one cell in a child process of `cli` and resolves with its result (or an error result). */
export function runCellChild(cli: string, spec: CellSpec, backend: string): Promise<CellResult> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [cli, 'grid-cell', '--spec', JSON.stringify(spec), '--backend', backend],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(CELL_RESULT_PREFIX));
      if (line) {
        resolve(JSON.parse(line.slice(CELL_RESULT_PREFIX.length)) as CellResult);
        return;
      }
      const why = err
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('Warning:'))
        .slice(-3)
        .join(' / ');
      resolve({
        negatives: spec.negatives,
        batchSize: spec.batchSize,
        maxLen: spec.maxLen,
        complete: false,
        ndcg10: null,
        hr10: null,
        steps: 0,
        trainSeconds: 0,
        evalSeconds: 0,
        totalSeconds: 0,
        stepsPerSec: null,
        measuredPeakBytes: null,
        finalLoss: null,
        error: `child exited with ${code}: ${why.slice(0, 400)}`,
      });
    });
  });
}

/** Maps `items` through `fn` with at most `parallel` in flight, keeping order. */
export async function mapParallel<T, R>(
  items: readonly T[],
  parallel: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, worker));
  return out;
}
