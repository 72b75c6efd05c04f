import { describe, expect, it } from 'vitest';
import {
  CudaEvent,
  CudaGraph,
  CudaStream,
  cublasLtCandidates,
  cublasLtInfo,
  cublasLtUnavailableReason,
  cudaUnavailableReason,
  describeGemm,
  type GemmDesc,
  GemmPlan,
  HostBuffer,
} from '../src/index.js';

// A fake file system: `files` exist, directories list the names under them.
function fakeFs(files: string[]) {
  const set = new Set(files);
  return {
    exists: (p: string) => set.has(p),
    listDir: (dir: string) => {
      const pre = dir.endsWith('/') ? dir : `${dir}/`;
      const names = new Set<string>();
      for (const f of files) if (f.startsWith(pre)) names.add(f.slice(pre.length).split('/')[0]!);
      return [...names];
    },
  };
}

describe('cuBLASLt library search (host only)', () => {
  it('tries only the sonames on a bare machine', () => {
    const fs = fakeFs([]);
    expect(cublasLtCandidates({ env: {}, home: '/home/u', ...fs })).toEqual([
      'libcublasLt.so.13',
      'libcublasLt.so.12',
      'libcublasLt.so.11',
    ]);
  });

  it('puts $CUTREC_CUBLASLT first, even when it does not exist (dlopen then says why)', () => {
    const fs = fakeFs([]);
    const c = cublasLtCandidates({ env: { CUTREC_CUBLASLT: '/opt/x/libcublasLt.so' }, home: '/h', ...fs });
    expect(c[0]).toBe('/opt/x/libcublasLt.so');
    expect(c.slice(1, 4)).toEqual(['libcublasLt.so.13', 'libcublasLt.so.12', 'libcublasLt.so.11']);
  });

  it('searches CUDA_HOME, CUDA_PATH and /usr/local/cuda (lib64, then targets/x86_64-linux/lib), existing files only', () => {
    const fs = fakeFs([
      '/usr/local/cuda/targets/x86_64-linux/lib/libcublasLt.so.13',
      '/usr/local/cuda/lib64/libcublasLt.so.13',
      '/opt/cuda-12/lib64/libcublasLt.so.12',
      '/opt/cuda-12/lib64/libcublasLt.so',
      '/sdk/targets/x86_64-linux/lib/libcublasLt.so.12',
    ]);
    const c = cublasLtCandidates({
      env: { CUDA_HOME: '/opt/cuda-12', CUDA_PATH: '/sdk' },
      home: '/h',
      ...fs,
    });
    expect(c.slice(3)).toEqual([
      '/opt/cuda-12/lib64/libcublasLt.so.12',
      '/opt/cuda-12/lib64/libcublasLt.so',
      '/sdk/targets/x86_64-linux/lib/libcublasLt.so.12',
      '/usr/local/cuda/lib64/libcublasLt.so.13',
      '/usr/local/cuda/targets/x86_64-linux/lib/libcublasLt.so.13',
    ]);
  });

  it('does not repeat a root given twice', () => {
    const fs = fakeFs(['/usr/local/cuda/lib64/libcublasLt.so.13']);
    const c = cublasLtCandidates({
      env: { CUDA_HOME: '/usr/local/cuda', CUDA_PATH: '/usr/local/cuda' },
      home: '/h',
      ...fs,
    });
    expect(c.filter((p) => p === '/usr/local/cuda/lib64/libcublasLt.so.13')).toHaveLength(1);
  });

  it('finds the NVIDIA wheels of Python installs: venv, /usr/lib, /usr/local/lib, ~/.local (cu13 before cublas)', () => {
    const fs = fakeFs([
      '/usr/lib/python3/dist-packages/nvidia/cublas/lib/libcublasLt.so.12',
      '/usr/lib/python3.11/site-packages/nvidia/cu13/lib/libcublasLt.so.13',
      '/usr/local/lib/python3.10/dist-packages/nvidia/cublas/lib/libcublasLt.so.12',
      '/usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublasLt.so.13',
      '/usr/local/lib/python3.12/dist-packages/nvidia/cublas/lib/libcublasLt.so.12',
      '/home/u/.local/lib/python3.12/site-packages/nvidia/cublas/lib/libcublasLt.so.12',
      '/venv/lib/python3.13/site-packages/nvidia/cu13/lib/libcublasLt.so.13',
      '/usr/local/lib/perl5/nvidia/cu13/lib/libcublasLt.so.13', // not a python dir
      '/usr/lib/python2.7/dist-packages/nvidia/cublas/lib/libcublasLt.so.12', // not python3
    ]);
    const c = cublasLtCandidates({ env: { VIRTUAL_ENV: '/venv' }, home: '/home/u', ...fs });
    expect(c.slice(3)).toEqual([
      '/venv/lib/python3.13/site-packages/nvidia/cu13/lib/libcublasLt.so.13',
      '/usr/lib/python3.11/site-packages/nvidia/cu13/lib/libcublasLt.so.13',
      '/usr/lib/python3/dist-packages/nvidia/cublas/lib/libcublasLt.so.12',
      '/usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublasLt.so.13',
      '/usr/local/lib/python3.12/dist-packages/nvidia/cublas/lib/libcublasLt.so.12',
      '/usr/local/lib/python3.10/dist-packages/nvidia/cublas/lib/libcublasLt.so.12',
      '/home/u/.local/lib/python3.12/site-packages/nvidia/cublas/lib/libcublasLt.so.12',
    ]);
  });

  it('runs against the real file system and returns strings', () => {
    const c = cublasLtCandidates();
    expect(c.length).toBeGreaterThanOrEqual(3);
    for (const p of c) expect(typeof p).toBe('string');
  });

  it('describes a GEMM for error messages', () => {
    const d: GemmDesc = {
      transA: true,
      transB: false,
      m: 37,
      n: 19,
      k: 45,
      lda: 45,
      ldb: 45,
      ldc: 37,
      typeA: 'bfloat16',
      typeB: 'bfloat16',
      typeC: 'float32',
      compute: 'f32',
      bias: 'float32',
    };
    expect(describeGemm(d)).toBe(
      'Aᵀ·B m=37 n=19 k=45 lda=45 ldb=45 ldc=37 A:bfloat16 B:bfloat16 C/D:float32 compute:f32 bias:float32',
    );
  });
});

const reason = cudaUnavailableReason();

describe.skipIf(!reason)('new CUDA classes without a GPU', () => {
  it('report "CUDA unavailable: …" cleanly', () => {
    expect(() => new HostBuffer(64)).toThrow(/^CUDA unavailable: /);
    expect(() => new CudaStream()).toThrow(/^CUDA unavailable: /);
    expect(() => new CudaEvent(undefined, { timing: false })).toThrow(/^CUDA unavailable: /);
    expect(cublasLtUnavailableReason()).toMatch(/^CUDA unavailable: /);
    expect(cublasLtInfo()).toBeUndefined();
    const desc: GemmDesc = {
      transA: false,
      transB: false,
      m: 4,
      n: 4,
      k: 4,
      lda: 4,
      ldb: 4,
      ldc: 4,
      typeA: 'float32',
      typeB: 'float32',
      typeC: 'float32',
      compute: 'f32',
    };
    expect(() => new GemmPlan(desc)).toThrow(/^CUDA unavailable: /);
    expect(typeof CudaGraph.capture).toBe('function');
  });
});
