/**
 * `cutrec-bench grid --quick` through the CLI with the fused engine on the host (the float64
 * references: runs anywhere): the files, grid.json with every cell, `--resume` training only
 * the unfinished cells, refusing another recipe, and `--time-limit` leaving cells for a resume.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { GridDoc } from '../src/grid/results.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = promisify(execFile);
const grid = (out: string, ...more: string[]) =>
  run(
    process.execPath,
    [
      cli,
      'grid',
      '--quick',
      '--fused-device',
      'host',
      '--max-steps',
      '10',
      '--parallel',
      '2',
      '--out',
      out,
      ...more,
    ],
    { maxBuffer: 64 * 2 ** 20 },
  );
const read = (out: string) => JSON.parse(readFileSync(join(out, 'grid.json'), 'utf8')) as GridDoc;

describe('cutrec-bench grid CLI (fused engine on the host)', () => {
  it('writes every file, resumes only unfinished cells, refuses another recipe', {
    timeout: 120_000,
  }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'cutrec-grid-'));
    await grid(out);
    for (const f of [
      'grid.json',
      'grid.md',
      'grid-ndcg.svg',
      'grid-memory.svg',
      'grid-memory-baseline.svg',
      'grid-time.svg',
      'grid-budget.svg',
    ])
      expect(existsSync(join(out, f))).toBe(true);
    const first = read(out);
    expect(first.rows).toHaveLength(4);
    expect(first.rows.every((r) => r.result?.complete === true && r.result.engine === 'fused')).toBe(true);
    expect(first.rows.every((r) => r.result!.steps === 10 && r.result!.stoppedBy === 'steps')).toBe(true);
    expect(readFileSync(join(out, 'grid.md'), 'utf8')).toContain('## Memory budget');

    // one cell never finished, one was cut by the deadline: --resume trains those two only
    const edited = structuredClone(first);
    edited.rows[1]!.result = null;
    edited.rows[2]!.result = { ...edited.rows[2]!.result!, complete: false, stoppedBy: 'deadline' };
    writeFileSync(join(out, 'grid.json'), JSON.stringify(edited));
    await grid(out, '--resume');
    const second = read(out);
    expect(second.calls).toBe(2);
    expect(second.rows.map((r) => r.result?.complete)).toEqual([true, true, true, true]);
    expect(second.rows[0]!.result).toEqual(first.rows[0]!.result);
    expect(second.rows[3]!.result).toEqual(first.rows[3]!.result);
    expect(second.rows[1]!.result!.totalSeconds).not.toBe(first.rows[1]!.result!.totalSeconds);
    expect(second.rows[2]!.result!.totalSeconds).not.toBe(first.rows[2]!.result!.totalSeconds);

    await expect(grid(out, '--resume', '--lr', '0.01')).rejects.toThrow(
      /another recipe \(lr 0\.002 there, 0\.01 now\)/,
    );
  });

  it('--time-limit starts no cell past it; grid.json lists the cells left', { timeout: 60_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'cutrec-grid-'));
    await grid(out, '--time-limit', '0.001');
    const doc = read(out);
    expect(doc.rows).toHaveLength(4);
    expect(doc.rows.every((r) => r.result === null)).toBe(true);
    expect(readFileSync(join(out, 'grid.md'), 'utf8')).toContain('not trained yet');
  });
});
