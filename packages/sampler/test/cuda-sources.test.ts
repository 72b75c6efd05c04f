import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

  it('the build checks src/cuda.generated.ts without rewriting it, and fails when it is stale', () => {
    const gen = join(root, 'scripts', 'gen-cuda-sources.mjs');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).toContain('gen-cuda-sources.mjs --check');
    expect(spawnSync(process.execPath, [gen, '--check']).status, 'the committed file is up to date').toBe(0);
    // A copy whose .cuh changed: --check exits 1 and leaves the generated file as it was.
    const tmp = mkdtempSync(join(tmpdir(), 'cutrec-gen-'));
    cpSync(join(root, 'cuda'), join(tmp, 'cuda'), { recursive: true });
    cpSync(join(root, 'src', 'cuda.generated.ts'), join(tmp, 'src', 'cuda.generated.ts'));
    writeFileSync(
      join(tmp, 'cuda', 'philox.cuh'),
      `${readFileSync(join(tmp, 'cuda', 'philox.cuh'), 'utf8')}// edit\n`,
    );
    const before = readFileSync(join(tmp, 'src', 'cuda.generated.ts'), 'utf8');
    const r = spawnSync(process.execPath, [gen, '--check', '--root', tmp], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/out of date.*gen:cuda/);
    expect(readFileSync(join(tmp, 'src', 'cuda.generated.ts'), 'utf8')).toBe(before);
    // Without --check it regenerates, and then the check passes.
    expect(spawnSync(process.execPath, [gen, '--root', tmp]).status).toBe(0);
    expect(spawnSync(process.execPath, [gen, '--check', '--root', tmp]).status).toBe(0);
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
