/** The run folder: never overwritten without --overwrite, unique default names, torn writes tidied. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveTrainConfig } from '../src/config/load.js';
import { openRunFolder, planRun } from '../src/train/plan.js';
import {
  checkOutFolder,
  claimDefaultRunDir,
  folderState,
  readMetrics,
  removeTemporaries,
  resumeCommand,
  runPaths,
  truncateMetrics,
} from '../src/train/run-folder.js';

const work = () => mkdtempSync(join(tmpdir(), 'cutrec-folder-'));

/** A folder holding a finished run's files. */
function fakeRun(dir: string): void {
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{}\n');
  writeFileSync(join(dir, 'checkpoints', 'last.safetensors'), 'x');
  writeFileSync(join(dir, 'old-file.txt'), 'from the old run');
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('run folder', () => {
  it('tells absent, empty (or only temporaries), run and other folders apart', () => {
    const w = work();
    expect(folderState(join(w, 'none'))).toBe('absent');
    mkdirSync(join(w, 'empty'));
    writeFileSync(join(w, 'empty', 'config.json.tmp-123-456'), '{');
    expect(folderState(join(w, 'empty'))).toBe('empty');
    fakeRun(join(w, 'run'));
    expect(folderState(join(w, 'run'))).toBe('run');
    mkdirSync(join(w, 'other'));
    writeFileSync(join(w, 'other', 'notes.txt'), 'mine');
    expect(folderState(join(w, 'other'))).toBe('other');
  });

  it('refuses --out onto a run in one line that says how to resume, and onto a foreign folder', () => {
    const w = work();
    fakeRun(join(w, 'run'));
    const msg = messageOf(() => checkOutFolder(join(w, 'run'), false));
    expect(msg).not.toContain('\n');
    expect(msg).toMatch(/already holds a run/);
    expect(msg).toContain(`npx cutrec train --resume ${join(w, 'run')}`);
    expect(msg).toMatch(/another --out/);
    expect(msg).toMatch(/--overwrite/);
    expect(checkOutFolder(join(w, 'run'), true)).toBe('run');
    mkdirSync(join(w, 'other'));
    writeFileSync(join(w, 'other', 'notes.txt'), 'mine');
    expect(messageOf(() => checkOutFolder(join(w, 'other'), true))).toMatch(
      /not empty and is not a cutrec run folder.*--overwrite only replaces run folders/,
    );
  });

  it('--overwrite replaces the old run whole, only once the new one starts', () => {
    const w = work();
    const dir = join(w, 'run');
    fakeRun(dir);
    const config = resolveTrainConfig(undefined, {});
    const plan = planRun({ config, out: dir, overwrite: true });
    expect(existsSync(join(dir, 'old-file.txt'))).toBe(true); // planning removes nothing
    const paths = openRunFolder(plan, config);
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json']);
    expect(readdirSync(paths.checkpoints)).toEqual([]);
    expect(JSON.parse(readFileSync(paths.config, 'utf8')).model.hidden).toBe(32);
  });

  it('gives runs started at the same moment their own default folders', () => {
    const base = join(work(), 'runs', '20261202-120000-synthetic-cce');
    const dirs = Array.from({ length: 5 }, () => claimDefaultRunDir(base));
    expect(new Set(dirs).size).toBe(5);
    expect(dirs[0]).toBe(base);
    expect(dirs[1]).toBe(`${base}-2`);
    for (const d of dirs) expect(existsSync(d)).toBe(true);
  });

  it('prints a resume command that runs as printed from the current directory', () => {
    expect(resumeCommand(join(process.cwd(), 'runs', 'a'))).toBe(
      `npx cutrec train --resume ${join('runs', 'a')}`,
    );
    expect(resumeCommand('/elsewhere/run')).toBe('npx cutrec train --resume /elsewhere/run');
  });

  it('keeps one record per epoch when a resumed run rewrites metrics.jsonl, and drops torn lines', () => {
    const dir = work();
    const paths = runPaths(dir);
    const row = (epoch: number, trainLoss: number) => JSON.stringify({ type: 'epoch', epoch, trainLoss });
    writeFileSync(paths.metrics, `${row(0, 1)}\n${row(1, 2)}\n${row(1, 3)}\n${row(2, 4)}\n{"type":"ep`);
    const kept = truncateMetrics(paths, 2);
    expect(kept.map((r) => [r.epoch, r.trainLoss])).toEqual([
      [0, 1],
      [1, 3],
    ]);
    expect(readMetrics(paths)).toEqual(kept);
    expect(readdirSync(dir)).toEqual(['metrics.jsonl']); // rewritten through a temporary, renamed
  });

  it('removes the temporaries a killed checkpoint write left', () => {
    const dir = work();
    const paths = runPaths(dir);
    mkdirSync(paths.checkpoints, { recursive: true });
    writeFileSync(`${paths.last}.tmp-42-1700000000000`, 'half');
    writeFileSync(paths.last, 'whole');
    removeTemporaries(paths);
    expect(readdirSync(paths.checkpoints)).toEqual(['last.safetensors']);
  });
});
