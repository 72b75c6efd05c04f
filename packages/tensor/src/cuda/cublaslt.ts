import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CudaContext, cudaUnavailableReason } from './device.js';
import type { CudaDtype } from './memory.js';
import { type NativeGemmPlan, nativeAddon } from './native.js';
import type { CudaStream } from './stream.js';

/** The sonames tried on the loader path and in every directory, newest first. */
const SONAMES = ['libcublasLt.so.13', 'libcublasLt.so.12', 'libcublasLt.so.11'];

/** Where {@link cublasLtCandidates} looks; every field defaults to the real process and file system. */
export interface CublasLtSearchOptions {
  env?: Record<string, string | undefined>;
  /** The home directory (for ~/.local). */
  home?: string;
  /** Entries of a directory ([] when it cannot be read). */
  listDir?: (dir: string) => string[];
  /** Whether a file exists. */
  exists?: (path: string) => boolean;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** `python3`, `python3.12`, … under `dir`, newest first (what the glob `dir/python3*` finds). */
function pythonDirs(dir: string, listDir: (d: string) => string[]): string[] {
  const minor = (n: string) => (n === 'python3' ? -1 : Number(n.slice('python3.'.length)));
  return listDir(dir)
    .filter((n) => /^python3(\.\d+)?$/.test(n))
    .sort((a, b) => minor(b) - minor(a))
    .map((n) => join(dir, n));
}

/**
 * The libraries the bridge tries to open as cuBLASLt, in order: `$CUTREC_CUBLASLT`; the sonames
 * libcublasLt.so.13/.12/.11 on the loader path; then, for those that exist, the same names (and
 * libcublasLt.so) in `lib64/` and `targets/x86_64-linux/lib/` under `$CUDA_HOME`, `$CUDA_PATH` and
 * /usr/local/cuda; then in `nvidia/cu13/lib/` and `nvidia/cublas/lib/` of the Python site-packages
 * found without running Python: `$VIRTUAL_ENV/lib/python3*\/site-packages`,
 * /usr/lib/python3*\/{site,dist}-packages, /usr/local/lib/python3*\/{site,dist}-packages and
 * ~/.local/lib/python3*\/site-packages. A pure function of `options` (for tests).
 */
export function cublasLtCandidates(options: CublasLtSearchOptions = {}): string[] {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const listDir = options.listDir ?? safeList;
  const exists = options.exists ?? existsSync;
  const out: string[] = [];
  const add = (p: string) => {
    if (!out.includes(p)) out.push(p);
  };
  const names = [...SONAMES, 'libcublasLt.so'];
  const inDir = (dir: string) => {
    for (const n of names) {
      const p = join(dir, n);
      if (exists(p)) add(p);
    }
  };

  const explicit = env.CUTREC_CUBLASLT;
  if (explicit) add(explicit);
  for (const s of SONAMES) add(s);

  const roots = [env.CUDA_HOME, env.CUDA_PATH, '/usr/local/cuda'].filter((r): r is string => !!r);
  for (const root of [...new Set(roots)]) {
    inDir(join(root, 'lib64'));
    inDir(join(root, 'targets', 'x86_64-linux', 'lib'));
  }

  const sitePackages: string[] = [];
  if (env.VIRTUAL_ENV) {
    for (const py of pythonDirs(join(env.VIRTUAL_ENV, 'lib'), listDir))
      sitePackages.push(join(py, 'site-packages'));
  }
  for (const base of ['/usr/lib', '/usr/local/lib']) {
    for (const py of pythonDirs(base, listDir)) {
      sitePackages.push(join(py, 'site-packages'), join(py, 'dist-packages'));
    }
  }
  if (home) {
    for (const py of pythonDirs(join(home, '.local', 'lib'), listDir))
      sitePackages.push(join(py, 'site-packages'));
  }
  for (const sp of sitePackages) {
    inDir(join(sp, 'nvidia', 'cu13', 'lib'));
    inDir(join(sp, 'nvidia', 'cublas', 'lib'));
  }
  return out;
}

type LtState = { ok: true; path: string; version: number } | { ok: false; reason: string };
let ltState: LtState | undefined;

function loadCublasLt(): LtState {
  const cuda = cudaUnavailableReason();
  if (cuda) return { ok: false, reason: cuda };
  if (ltState) return ltState;
  const { addon } = nativeAddon();
  if (!addon) return { ok: false, reason: 'cuBLASLt unavailable: the cutrec_cuda addon is not built' };
  const r = addon.cublasLtLoad(cublasLtCandidates());
  ltState = r.ok
    ? { ok: true, path: r.path, version: r.version }
    : {
        ok: false,
        reason:
          `cuBLASLt unavailable: ${r.reason}\n(set CUTREC_CUBLASLT to the path of libcublasLt.so, ` +
          'or install the CUDA toolkit or the nvidia-cublas wheel)',
      };
  return ltState;
}

/**
 * Why cuBLASLt cannot be used ("CUDA unavailable: …" or "cuBLASLt unavailable: …"), or undefined when
 * it can. The first call opens the library (see {@link cublasLtCandidates}).
 */
export function cublasLtUnavailableReason(): string | undefined {
  const s = loadCublasLt();
  return s.ok ? undefined : s.reason;
}

/** The cuBLASLt in use: the file it was opened from and cublasLtGetVersion() (e.g. 130000); undefined when unavailable. */
export function cublasLtInfo(): { path: string; version: number } | undefined {
  const s = loadCublasLt();
  return s.ok ? { path: s.path, version: s.version } : undefined;
}

/**
 * One GEMM in cuBLASLt's terms, COLUMN-major: D = alpha·op(A)·op(B) + beta·C, where op(A) is m×k,
 * op(B) is k×n and C, D are m×n (D has C's layout and type). A row-major product Y = X·W with
 * X [r, c] and W [c, o] is the column-major Yᵀ = Wᵀ·Xᵀ: m = o, n = r, k = c, A = W (lda = o),
 * B = X (ldb = c), C = Y (ldc = o).
 */
export interface GemmDesc {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  /** Leading dimensions in elements (≥ rows of the matrix as stored). */
  lda: number;
  ldb: number;
  ldc: number;
  typeA: CudaDtype;
  typeB: CudaDtype;
  /** Type of C and D. */
  typeC: CudaDtype;
  /** 'f32': CUBLAS_COMPUTE_32F; 'tf32': CUBLAS_COMPUTE_32F_FAST_TF32. Scalars are fp32 either way. */
  compute: 'f32' | 'tf32';
  /** Adds a bias vector of length m (one per row of D) of this type (CUBLASLT_EPILOGUE_BIAS); omitted: no bias. */
  bias?: 'float32' | 'bfloat16';
  /**
   * Instead of adding the bias, write the bias gradient into it: the sum over k of op(A) (one per
   * row of D, length m: CUBLASLT_EPILOGUE_BGRADA) or of op(B) (one per column, length n: BGRADB).
   * Needs `bias` (the gradient's type). Not every problem has an algorithm with it.
   */
  biasGrad?: 'A' | 'B';
  /** Strided batched GEMM; strides in elements. */
  batch?: { count: number; strideA: number; strideB: number; strideC: number };
  /**
   * Byte alignment the plan assumes of every pointer passed to run() (a, b, c, d, bias); default 16.
   * Larger values may allow faster kernels; run() rejects pointers that are less aligned.
   */
  alignment?: number;
  /**
   * Which of the heuristic's usable algorithms (in its order, at most 8; see
   * {@link GemmPlan.algorithms}) the plan runs; default 0, the heuristic's first choice.
   */
  algorithm?: number;
}

/** Bytes of the cuBLASLt workspace each context allocates once and its plans share. */
export const GEMM_WORKSPACE_BYTES = 32 << 20;

// cudaDataType_t (library_types.h) and cublasComputeType_t (cublas_api.h); see native/cublaslt.h.
const DATA_TYPE: Partial<Record<CudaDtype, number>> = { float32: 0, float16: 2, bfloat16: 14 };
const COMPUTE_TYPE = { f32: 68, tf32: 77 } as const;

/** A one-line description of a GEMM for error messages. */
export function describeGemm(d: GemmDesc): string {
  const batch = d.batch
    ? `, batch ${d.batch.count} (strides ${d.batch.strideA}/${d.batch.strideB}/${d.batch.strideC})`
    : '';
  return (
    `${d.transA ? 'Aᵀ' : 'A'}·${d.transB ? 'Bᵀ' : 'B'} m=${d.m} n=${d.n} k=${d.k} ` +
    `lda=${d.lda} ldb=${d.ldb} ldc=${d.ldc} A:${d.typeA} B:${d.typeB} C/D:${d.typeC} compute:${d.compute}` +
    `${d.bias ? ` bias:${d.bias}` : ''}${d.biasGrad ? ` biasGrad:${d.biasGrad}` : ''}${batch}${d.alignment ? ` alignment:${d.alignment}` : ''}${d.algorithm ? ` algorithm:${d.algorithm}` : ''}`
  );
}

function validate(d: GemmDesc): void {
  const bad = (what: string) => new RangeError(`GemmPlan: ${what} (${describeGemm(d)})`);
  const posInt = (v: number) => Number.isInteger(v) && v > 0 && v < 2 ** 31;
  for (const key of ['m', 'n', 'k'] as const)
    if (!posInt(d[key])) throw bad(`${key} must be a positive integer`);
  const rowsA = d.transA ? d.k : d.m;
  const rowsB = d.transB ? d.n : d.k;
  if (!Number.isInteger(d.lda) || d.lda < rowsA) throw bad(`lda must be ≥ ${rowsA}`);
  if (!Number.isInteger(d.ldb) || d.ldb < rowsB) throw bad(`ldb must be ≥ ${rowsB}`);
  if (!Number.isInteger(d.ldc) || d.ldc < d.m) throw bad(`ldc must be ≥ ${d.m}`);
  for (const key of ['typeA', 'typeB', 'typeC'] as const) {
    if (DATA_TYPE[d[key]] === undefined) throw bad(`${key} must be float32, float16 or bfloat16`);
  }
  if (!(d.compute in COMPUTE_TYPE)) throw bad(`compute must be 'f32' or 'tf32'`);
  if (d.bias !== undefined && d.bias !== 'float32' && d.bias !== 'bfloat16') {
    throw bad(`bias must be 'float32' or 'bfloat16'`);
  }
  if (d.biasGrad !== undefined) {
    if (d.biasGrad !== 'A' && d.biasGrad !== 'B') throw bad(`biasGrad must be 'A' or 'B'`);
    if (d.bias === undefined) throw bad('biasGrad needs bias (the type of the gradient it writes)');
    if (d.batch && d.batch.count > 1) throw bad('biasGrad is not supported with a batched GEMM');
  }
  if (d.batch) {
    const { count, strideA, strideB, strideC } = d.batch;
    if (!posInt(count)) throw bad('batch.count must be a positive integer');
    for (const s of [strideA, strideB, strideC]) {
      if (!Number.isSafeInteger(s) || s < 0) throw bad('batch strides must be integers ≥ 0');
    }
  }
  if (d.algorithm !== undefined && !(Number.isInteger(d.algorithm) && d.algorithm >= 0 && d.algorithm < 8)) {
    throw bad('algorithm must be an integer in [0, 8)');
  }
  const al = d.alignment ?? 16;
  if (!Number.isInteger(al) || al < 1 || al > 256 || (al & (al - 1)) !== 0) {
    throw bad('alignment must be a power of two in [1, 256]');
  }
}

/**
 * A planned cuBLASLt GEMM: descriptors made and an algorithm chosen once (heuristic, workspace ≤
 * {@link GEMM_WORKSPACE_BYTES}), then {@link GemmPlan.run} any number of times. Plans of one context
 * share its workspace, so do not run two of them concurrently on different streams. Run each plan
 * once before capturing it into a {@link CudaGraph} (that loads its kernels outside the capture).
 */
export class GemmPlan {
  readonly desc: GemmDesc;
  readonly context: CudaContext;
  /** @internal */
  readonly native: NativeGemmPlan;

  constructor(desc: GemmDesc, context?: CudaContext) {
    const why = cublasLtUnavailableReason();
    if (why) throw new Error(why);
    validate(desc);
    this.desc = { ...desc, ...(desc.batch ? { batch: { ...desc.batch } } : {}) };
    this.context = context ?? CudaContext.get();
    const { addon } = nativeAddon();
    try {
      this.native = new (addon as NonNullable<typeof addon>).GemmPlan(this.context.native, {
        transA: desc.transA,
        transB: desc.transB,
        m: desc.m,
        n: desc.n,
        k: desc.k,
        lda: desc.lda,
        ldb: desc.ldb,
        ldc: desc.ldc,
        typeA: DATA_TYPE[desc.typeA] as number,
        typeB: DATA_TYPE[desc.typeB] as number,
        typeC: DATA_TYPE[desc.typeC] as number,
        compute: COMPUTE_TYPE[desc.compute],
        biasType: desc.bias ? (DATA_TYPE[desc.bias] as number) : -1,
        biasGrad: desc.biasGrad === 'A' ? 1 : desc.biasGrad === 'B' ? 2 : 0,
        batchCount: desc.batch?.count ?? 1,
        strideA: desc.batch?.strideA ?? 0,
        strideB: desc.batch?.strideB ?? 0,
        strideC: desc.batch?.strideC ?? 0,
        alignment: desc.alignment ?? 16,
        workspaceBytes: GEMM_WORKSPACE_BYTES,
        algorithm: desc.algorithm ?? 0,
      });
    } catch (e) {
      const err = e as Error & { code?: string };
      const wrapped = new Error(`GemmPlan: ${err.message} — for ${describeGemm(desc)}`, {
        cause: e,
      }) as Error & {
        code?: string;
      };
      if (err.code) wrapped.code = err.code;
      throw wrapped;
    }
  }

  /** How many usable algorithms the heuristic offered for this problem (≥ 1; `desc.algorithm` < this). */
  get algorithms(): number {
    return this.native.algorithms;
  }

  /** Workspace bytes the chosen algorithm needs (≤ {@link GEMM_WORKSPACE_BYTES}). */
  get workspaceBytes(): number {
    return this.native.workspaceBytes;
  }

  /**
   * Queues D = alpha·op(A)·op(B) + beta·C (+ bias, or the bias gradient into `bias`) on `stream` (default: the legacy default stream)
   * with cublasLtMatmul; no synchronisation; capturable in a CUDA graph. Addresses are device
   * addresses (`buffer.address + BigInt(byteOffset)`); `d` defaults to `c`, alpha to 1, beta to 0
   * (with beta 0, C is not read, so it may hold NaN).
   */
  run(args: {
    a: bigint;
    b: bigint;
    c: bigint;
    d?: bigint;
    bias?: bigint;
    alpha?: number;
    beta?: number;
    stream?: CudaStream | null;
  }): void {
    this.native.run(
      args.a,
      args.b,
      args.c,
      args.d,
      args.bias,
      args.alpha,
      args.beta,
      args.stream?.native ?? null,
    );
  }

  /** Frees the descriptors (idempotent; otherwise when collected). The shared workspace stays. */
  destroy(): void {
    this.native.destroy();
  }
}
