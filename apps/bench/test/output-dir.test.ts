/** Where cutrec-bench writes without --out: under the current directory, never into the package. */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchEnvironment } from '../src/env.js';
import { defaultOutputDir, outputDir } from '../src/setup.js';

const committed = fileURLToPath(new URL('../results', import.meta.url));
const env = { card: 'NVIDIA H200', date: '2026-12-02T10:00:00.000Z' } as BenchEnvironment;
const home = process.cwd();

afterEach(() => process.chdir(home));

describe('bench output folder', () => {
  it('defaults to bench-results/<card>-<date> under the current directory', () => {
    expect(defaultOutputDir(env, '/some/where')).toBe('/some/where/bench-results/nvidia-h200-2026-12-02');
  });

  it('is made there, and the committed results are left alone', () => {
    const before = readdirSync(committed).sort();
    const cwd = mkdtempSync(join(tmpdir(), 'cutrec-bench-out-'));
    process.chdir(cwd);
    const dir = outputDir(undefined, env);
    expect(dir).toBe(join(process.cwd(), 'bench-results', 'nvidia-h200-2026-12-02'));
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(committed).sort()).toEqual(before);
    expect(outputDir(join(cwd, 'mine'), env)).toBe(join(cwd, 'mine'));
  });
});
