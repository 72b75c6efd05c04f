/**
 * CUDA launchers of the linear layer (row-major): {@link cudaMatmul} (cuBLASLt where usable, our
 * own kernels in linear.cu otherwise) and {@link cudaBiasGrad}. They queue work on `call.stream`
 * and never synchronise or allocate, except that the first call with a new problem shape builds
 * and caches a cuBLASLt plan for its context (capture a CUDA graph after one warm-up step).
 */
import { type CudaContext, type KernelArg, launch } from '@cutrec/tensor';
import { opModule } from '../module.js';
import { addressOf, aligned, checkBytes, contextOf, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';
import { type LtGemmDesc, type LtGemmPlan, ltPlan, ltUnavailableReason } from './cublaslt.js';

/** Storage types of the linear layer's operands. */
export type LinearDtype = 'float32' | 'bfloat16';

/** Arguments of {@link cudaMatmul}: c = (accumulate ? c : 0) + op(A)·op(B) + bias, row-major. */
export interface CudaMatmulArgs {
  /** [M, K], or [K, M] when transA. */
  a: DevicePtr;
  /** [K, N], or [N, K] when transB. */
  b: DevicePtr;
  /** [M, N] output (written, or added into when accumulate). */
  c: DevicePtr;
  /** [N] (`biasDtype`), added to every row. */
  bias?: DevicePtr | null;
  /**
   * Storage type of the bias (default 'float32'). A bf16 output with a bf16 bias is the problem
   * cuBLASLt's fast bias epilogues are made for (with a float32 bias it picks slower algorithms).
   */
  biasDtype?: LinearDtype;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Default false. */
  accumulate?: boolean;
  /** Storage type of a and b (they must be equal). */
  dtypeA: LinearDtype;
  dtypeB: LinearDtype;
  dtypeC: LinearDtype;
  /**
   * Math for float32 inputs: 'fp32' (default) full fp32, 'tf32' lets cuBLASLt use tf32 tensor
   * cores (our own kernel computes fp32 either way). bfloat16 inputs always accumulate in fp32.
   */
  precision?: 'fp32' | 'tf32';
}

/** Arguments of {@link cudaBiasGrad}: db[n] += Σ_r dy[r, n]. */
export interface CudaBiasGradArgs {
  /** [R, N] upstream gradient. */
  dy: DevicePtr;
  /** [N] float32, accumulates. */
  db: DevicePtr;
  R: number;
  N: number;
  /** Storage type of dy (default 'float32'; db is float32). */
  dtype?: LinearDtype;
}

/** Which GEMM implementation {@link cudaMatmul} uses. */
export type GemmBackendChoice = 'auto' | 'cublaslt' | 'own';

let choice: GemmBackendChoice = 'auto';

/**
 * Chooses {@link cudaMatmul}'s implementation: 'auto' (default: cuBLASLt when usable), 'cublaslt'
 * (throws here when cuBLASLt is unavailable) or 'own' (our kernels in linear.cu).
 */
export function setGemmBackend(backend: GemmBackendChoice): void {
  if (backend !== 'auto' && backend !== 'cublaslt' && backend !== 'own') {
    throw new RangeError(`setGemmBackend: unknown backend ${String(backend)}`);
  }
  if (backend === 'cublaslt') {
    const why = ltUnavailableReason();
    if (why) throw new Error(`setGemmBackend('cublaslt'): ${why}`);
  }
  choice = backend;
}

/**
 * The implementation {@link cudaMatmul} uses now. With 'cublaslt', a problem cuBLASLt has no
 * algorithm for (or with an operand not 256-byte aligned, or K = 0) still runs on our own kernels.
 */
export function gemmBackend(): 'cublaslt' | 'own' {
  if (choice === 'own') return 'own';
  if (choice === 'cublaslt') return 'cublaslt';
  return ltUnavailableReason() === undefined ? 'cublaslt' : 'own';
}

/**
 * Operand alignment cuBLASLt is used for: its heuristics assume 256-byte aligned pointers unless
 * told otherwise (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*_BYTES defaults to 256), so a view at a less
 * aligned offset runs on our own kernels instead.
 */
const LT_ALIGN = 256n;

const bytesPer = (d: LinearDtype) => (d === 'bfloat16' ? 2 : 4);
const short = (d: LinearDtype) => (d === 'bfloat16' ? 'bf16' : 'f32');

function checkDtype(name: string, d: unknown): asserts d is LinearDtype {
  if (d !== 'float32' && d !== 'bfloat16') {
    throw new RangeError(`${name} must be 'float32' or 'bfloat16', got ${String(d)}`);
  }
}

function checkInt(fn: string, dims: Record<string, number>, max = 2 ** 31 - 1): void {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new RangeError(`${fn}: ${k} must be an integer in [0, ${max}], got ${v}`);
    }
  }
}

/** How a cached problem runs on cuBLASLt: with the bias epilogue, or a GEMM then our bias add. */
interface LtEntry {
  plan: LtGemmPlan;
  biasKernel: boolean;
}

/** Per context: desc key → entry, or null where cuBLASLt had no algorithm (our kernels then). */
const plans = new Map<CudaContext, Map<string, LtEntry | null>>();

function tryPlan(desc: LtGemmDesc, context: CudaContext): LtGemmPlan | null {
  try {
    return ltPlan(desc, context);
  } catch {
    return null;
  }
}

function cachedEntry(desc: LtGemmDesc, context: CudaContext): LtEntry | null {
  let byKey = plans.get(context);
  if (!byKey) {
    byKey = new Map();
    plans.set(context, byKey);
  }
  const key = JSON.stringify(desc);
  const hit = byKey.get(key);
  if (hit !== undefined) return hit;
  let entry: LtEntry | null = null;
  const plan = tryPlan(desc, context);
  if (plan) entry = { plan, biasKernel: false };
  else if (desc.bias) {
    // e.g. a float32 bias with a bf16 output: GEMM without epilogue, then linear_bias_add_*.
    const { bias: _bias, ...plain } = desc;
    const p = tryPlan(plain, context);
    if (p) entry = { plan: p, biasKernel: true };
  }
  byKey.set(key, entry);
  return entry;
}

/** Destroys the cached cuBLASLt plans of `context` (default: of every context); later calls rebuild them. */
export function clearGemmPlans(context?: CudaContext): void {
  for (const [ctx, byKey] of plans) {
    if (context && ctx !== context) continue;
    for (const e of byKey.values()) e?.plan.destroy();
    byKey.clear();
  }
}

/**
 * The column-major cuBLASLt problem of a row-major c = op(A)·op(B): Cᵀ [N, M] = op(B)ᵀ·op(A)ᵀ, so
 * cuBLASLt's A is our b and its B our a; the bias (one per column of c) has length m = N.
 */
export function ltDescFor(args: CudaMatmulArgs): LtGemmDesc {
  const { M, N, K, transA, transB } = args;
  const desc: LtGemmDesc = {
    transA: transB,
    transB: transA,
    m: N,
    n: M,
    k: K,
    lda: transB ? K : N,
    ldb: transA ? M : K,
    ldc: N,
    typeA: args.dtypeB,
    typeB: args.dtypeA,
    typeC: args.dtypeC,
    compute: args.dtypeA === 'float32' && args.precision === 'tf32' ? 'tf32' : 'f32',
  };
  if (args.bias) desc.bias = args.biasDtype ?? 'float32';
  return desc;
}

/** Validates {@link cudaMatmul}'s arguments (throws naming the offender). */
function checkMatmul(args: CudaMatmulArgs): void {
  const { M, N, K } = args;
  checkInt('cudaMatmul', { M, N, K });
  checkDtype('cudaMatmul: dtypeA', args.dtypeA);
  checkDtype('cudaMatmul: dtypeB', args.dtypeB);
  checkDtype('cudaMatmul: dtypeC', args.dtypeC);
  if (args.dtypeA !== args.dtypeB) {
    throw new RangeError(`cudaMatmul: dtypeA (${args.dtypeA}) and dtypeB (${args.dtypeB}) must be equal`);
  }
  if (args.precision !== undefined && args.precision !== 'fp32' && args.precision !== 'tf32') {
    throw new RangeError(`cudaMatmul: precision must be 'fp32' or 'tf32', got ${String(args.precision)}`);
  }
  if (Math.ceil(N / 64) > 65535) throw new RangeError(`cudaMatmul: N = ${N} exceeds ${65535 * 64}`);
  checkBytes('cudaMatmul: a', args.a, M * K * bytesPer(args.dtypeA));
  checkBytes('cudaMatmul: b', args.b, K * N * bytesPer(args.dtypeB));
  checkBytes('cudaMatmul: c', args.c, M * N * bytesPer(args.dtypeC));
  if (args.biasDtype !== undefined) checkDtype('cudaMatmul: biasDtype', args.biasDtype);
  if (args.bias) checkBytes('cudaMatmul: bias', args.bias, N * bytesPer(args.biasDtype ?? 'float32'));
}

/**
 * Row-major c = (accumulate ? c : 0) + op(A)·op(B) + bias on `call.stream`: cuBLASLt (a cached
 * plan per context and problem) when {@link gemmBackend} says so and cuBLASLt has an algorithm,
 * else linear_gemm_<in>_<out> (fp32 SIMT for float32 inputs, WMMA tensor cores for bfloat16).
 */
export function cudaMatmul(args: CudaMatmulArgs, call: OpCall = {}): void {
  checkMatmul(args);
  const { M, N, K } = args;
  if (M === 0 || N === 0) return;
  const context = contextOf(args.c);
  const stream = call.stream ?? null;
  const bias = args.bias ?? null;
  const accumulate = args.accumulate === true;

  if (gemmBackend() === 'cublaslt' && K > 0) {
    const ptrs = [args.a, args.b, args.c, ...(bias ? [bias] : [])].map(addressOf);
    if (ptrs.every((p) => p % LT_ALIGN === 0n)) {
      const entry = cachedEntry(ltDescFor(args), context);
      if (entry) {
        const [a, b, c] = ptrs as [bigint, bigint, bigint];
        entry.plan.run({
          a: b,
          b: a,
          c,
          d: c,
          ...(bias && !entry.biasKernel ? { bias: addressOf(bias) } : {}),
          alpha: 1,
          beta: accumulate ? 1 : 0,
          stream,
        });
        if (bias && entry.biasKernel) launchBiasAdd(context, args, bias, call);
        return;
      }
    }
  }

  const kernel = opModule('linear', context).kernel(
    `linear_gemm_${short(args.dtypeA)}_${short(args.dtypeC)}`,
  );
  const bf16 = args.dtypeA === 'bfloat16';
  // our GEMM kernels add a float32 bias; a bf16 one is added after them
  const ownBias = (args.biasDtype ?? 'float32') === 'float32';
  const kernelArgs: KernelArg[] = [
    ptrArg(args.a),
    ptrArg(args.b),
    ptrArg(args.c),
    ptrArg(ownBias ? bias : null),
    { i32: M },
    { i32: N },
    { i32: K },
    { i32: args.transA ? 1 : 0 },
    { i32: args.transB ? 1 : 0 },
    { i32: accumulate ? 1 : 0 },
  ];
  launch(
    kernel,
    { grid: [Math.ceil(M / 64), Math.ceil(N / 64)], block: bf16 ? 128 : 256, stream },
    kernelArgs,
  );
  if (bias && !ownBias) launchBiasAdd(context, args, bias, call);
}

/** c += bias on every row (linear_bias_add_<c>[_bb]: a float32 or a bf16 bias). */
function launchBiasAdd(context: CudaContext, args: CudaMatmulArgs, bias: DevicePtr, call: OpCall): void {
  const { M, N } = args;
  const bb = args.biasDtype === 'bfloat16' ? '_bb' : '';
  const kernel = opModule('linear', context).kernel(`linear_bias_add_${short(args.dtypeC)}${bb}`);
  const blocks = Math.max(1, Math.min(Math.ceil((M * N) / 256), 65535));
  launch(kernel, { grid: blocks, block: 256, stream: call.stream ?? null }, [
    ptrArg(args.c),
    ptrArg(bias),
    { i32: M },
    { i32: N },
  ]);
}

/** db[n] += Σ_r dy[r, n] on `call.stream` (per-CTA column partials, one atomicAdd per column and CTA). */
export function cudaBiasGrad(args: CudaBiasGradArgs, call: OpCall = {}): void {
  const { R, N } = args;
  const dtype = args.dtype ?? 'float32';
  checkInt('cudaBiasGrad', { R, N });
  checkDtype('cudaBiasGrad: dtype', dtype);
  checkBytes('cudaBiasGrad: dy', args.dy, R * N * bytesPer(dtype));
  checkBytes('cudaBiasGrad: db', args.db, N * 4);
  if (R === 0 || N === 0) return;
  const ctx = contextOf(args.db);
  const kernel = opModule('linear', ctx).kernel(`linear_bias_grad_${short(dtype)}`);
  // A thread sums V adjacent columns with one 16-byte load per row where N and dy allow it.
  const V = 16 / bytesPer(dtype);
  const vec = N % V === 0 && aligned(args.dy, 16);
  const gx = Math.ceil(N / (32 * (vec ? V : 1)));
  // About 8 CTAs per SM in all, each row slice ≥ 8 rows per thread (≤ 8·SMs atomics per column).
  const gy = Math.max(1, Math.min(Math.ceil((Math.max(1, ctx.device.smCount) * 8) / gx), Math.ceil(R / 64)));
  launch(kernel, { grid: [gx, gy], block: [32, 8], stream: call.stream ?? null }, [
    ptrArg(args.dy),
    ptrArg(args.db),
    { i32: R },
    { i32: N },
    { i32: vec ? 1 : 0 },
  ]);
}
