import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cudaHeaders, cudaIncludeDir, philoxCUDA, samplerCUDA } from '../src/cuda.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function nvcc(): string | undefined {
  for (const c of [process.env.NVCC, 'nvcc', '/usr/local/cuda/bin/nvcc']) {
    if (c && spawnSync(c, ['--version']).status === 0) return c;
  }
  return undefined;
}
const NVCC = nvcc();
if (!NVCC) console.warn('[sampler] skipping the nvcc compile test: nvcc not found');

describe('CUDA sources', () => {
  it('ships the .cuh files and the same text as strings (run `npm run gen:cuda` after editing them)', () => {
    expect(philoxCUDA).toBe(readFileSync(join(root, 'cuda', 'philox.cuh'), 'utf8'));
    expect(samplerCUDA).toBe(readFileSync(join(root, 'cuda', 'sampler.cuh'), 'utf8'));
    expect(cudaHeaders['sampler.cuh']).toBe(samplerCUDA);
    expect(existsSync(join(cudaIncludeDir(), 'sampler.cuh'))).toBe(true);
    expect(samplerCUDA).toContain('#include "philox.cuh"');
  });

  it('packs the .cuh files next to dist (what cudaIncludeDir() finds in an install)', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
    });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['cuda/philox.cuh', 'cuda/sampler.cuh', 'dist/index.js']));
  });

  it.skipIf(!NVCC)('compiles with nvcc -arch=sm_90 (sampler_check.cu and a kernel using cutrec_draw)', () => {
    const out = mkdtempSync(join(tmpdir(), 'cutrec-sampler-'));
    execFileSync(NVCC!, [
      '-arch=sm_90',
      '-std=c++17',
      '-I',
      cudaIncludeDir(),
      '-c',
      join(root, 'cuda', 'sampler_check.cu'),
      '-o',
      join(out, 'sampler_check.o'),
    ]);
    expect(existsSync(join(out, 'sampler_check.o'))).toBe(true);
  });
});
