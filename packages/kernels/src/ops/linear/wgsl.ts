/**
 * WebGPU launchers of the linear op (linear.wgsl.ts): each returns the dispatch of one call
 * (runner.ts `Step`s). Arguments mean what they mean for the CUDA launchers (cuda.ts
 * CudaMatmulArgs / CudaBiasGradArgs; EngineOps.matmul / biasGrad); storage is float32.
 */
import { layoutOf, type WgslLayout } from '../../wgsl/layout.js';
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { Binder, checkInt, opBindings, type WgslView } from '../wgsl-view.js';
import {
  BIAS_GRAD_BUFFERS,
  BIAS_GRAD_FIELDS,
  BIAS_GRAD_WORKGROUP,
  biasGradRows,
  biasGradWGSL,
  GEMM_CPU_COLS,
  GEMM_CPU_LANES,
  GEMM_CPU_ROWS,
  GEMM_FIELDS,
  GEMM_TILE,
  GEMM_TILE_K,
  GEMM_WORKGROUP,
  type GemmVariant,
  gemmBuffers,
  gemmCpuBuffers,
  gemmCpuWGSL,
  gemmWGSL,
  SPLITK_SUM_BUFFERS,
  SPLITK_SUM_FIELDS,
  SPLITK_SUM_WORKGROUP,
  splitKSumWGSL,
} from './linear.wgsl.js';

/** c = (accumulate ? c : 0) + op(a)·op(b) + bias: 64 × 64 tiles ('gpu'), 16 × 64 ('cpu'). */
export class GemmProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize: number;
  readonly bindings: readonly BindingKind[];
  readonly paramFields = GEMM_FIELDS;
  constructor(
    readonly variant: GemmVariant,
    readonly layout: WgslLayout = 'gpu',
  ) {
    this.key = `linear/gemm/${variant.transA ? 't' : 'n'}${variant.transB ? 't' : 'n'}${variant.vec4 ? '/vec4' : ''}/${layout}`;
    this.workgroupSize = layout === 'cpu' ? GEMM_CPU_LANES : GEMM_WORKGROUP;
    this.bindings = opBindings(layout === 'cpu' ? gemmCpuBuffers(variant.vec4) : gemmBuffers(variant.vec4));
  }
  code(): string {
    return this.layout === 'cpu' ? gemmCpuWGSL(this.variant) : gemmWGSL(this.variant);
  }
}

/** db[n] += Σ_r dy[r, n]. */
export class BiasGradProgram implements WgslProgram {
  readonly key = 'linear/bias-grad';
  readonly workgroupSize = BIAS_GRAD_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(BIAS_GRAD_BUFFERS);
  readonly paramFields = BIAS_GRAD_FIELDS;
  code = biasGradWGSL;
}

/** c = (accumulate ? c : 0) + Σ_s part[s] + bias: the second pass of a split-K GEMM. */
export class SplitKSumProgram implements WgslProgram {
  readonly key = 'linear/splitk-sum';
  readonly workgroupSize = SPLITK_SUM_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(SPLITK_SUM_BUFFERS);
  readonly paramFields = SPLITK_SUM_FIELDS;
  code = splitKSumWGSL;
}

/** Arguments of {@link wgslMatmul}. */
export interface WgslMatmulArgs {
  /** [M, K], or [K, M] when transA. */
  a: WgslView;
  /** [K, N], or [N, K] when transB. */
  b: WgslView;
  /** [M, N] out (written, or added into when accumulate); must not overlap a or b. */
  c: WgslView;
  /** [N], added to every row. */
  bias?: WgslView | null;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  accumulate?: boolean;
  /** Allow the 16-byte-load variant where shapes and offsets permit (default true). */
  vec4?: boolean;
  /**
   * Split K into `splits` ranges (layout 'gpu'; a multiple of 16 each) computed into the slices of
   * `part` (at least splits·M·N floats, not overlapping the operands), then summed into c: for a
   * long K over few output tiles (a weight gradient), which would otherwise keep a GPU idle.
   */
  splitK?: { part: WgslView; splits: number };
}

/** Splits of K worth making for an M × N output on a GPU: enough tiles for ~256 workgroups, each split ≥ 1,024 of K. */
export function gemmSplits(M: number, N: number, K: number): number {
  const tiles = Math.ceil(M / GEMM_TILE) * Math.ceil(N / GEMM_TILE);
  return Math.max(1, Math.min(Math.ceil(256 / tiles), Math.floor(K / 1024), 64));
}

/** Arguments of {@link wgslBiasGrad}. */
export interface WgslBiasGradArgs {
  /** [R, N]. */
  dy: WgslView;
  /** [N], accumulates. */
  db: WgslView;
  R: number;
  N: number;
}

/** Whether the vec4 variant can load a and b: K > 0 and every leading dimension and view offset a multiple of 4. */
export function gemmVec4Ok(
  a: Pick<WgslMatmulArgs, 'a' | 'b' | 'M' | 'N' | 'K' | 'transA' | 'transB'>,
): boolean {
  const ldA = a.transA ? a.M : a.K;
  const ldB = a.transB ? a.K : a.N;
  return (
    a.K > 0 && ldA % 4 === 0 && ldB % 4 === 0 && (a.a.offset ?? 0) % 4 === 0 && (a.b.offset ?? 0) % 4 === 0
  );
}

/** Whether the 'cpu' GEMM can load b as vec4: b not transposed, K > 0, N and b's offset multiples of 4. */
export function gemmCpuVec4Ok(a: Pick<WgslMatmulArgs, 'b' | 'N' | 'K' | 'transB'>): boolean {
  return !a.transB && a.K > 0 && a.N % 4 === 0 && (a.b.offset ?? 0) % 4 === 0;
}

/** The GEMM's dispatch (none when M or N is 0). */
export function wgslMatmul(device: GPUDevice, a: WgslMatmulArgs): Step[] {
  const op = 'wgslMatmul';
  checkInt(op, 'M', a.M, 0);
  checkInt(op, 'N', a.N, 0);
  checkInt(op, 'K', a.K, 0);
  for (const [name, n] of [
    ['M·K', a.M * a.K],
    ['K·N', a.K * a.N],
    ['M·N', a.M * a.N],
  ] as const) {
    if (n > 2 ** 32 - 4) throw new RangeError(`${op}: ${name} = ${n} exceeds the 32-bit element index`);
  }
  if (a.M === 0 || a.N === 0) return [];
  const layout = layoutOf(device);
  const cpu = layout === 'cpu';
  const vec4 = (a.vec4 ?? true) && (cpu ? gemmCpuVec4Ok(a) : gemmVec4Ok(a));
  const tilesN = Math.ceil(a.N / (cpu ? GEMM_CPU_COLS : GEMM_TILE));
  const tilesM = Math.ceil(a.M / (cpu ? GEMM_CPU_ROWS : GEMM_TILE));
  const tiles = tilesM * tilesN;
  const split = !cpu && a.splitK && a.splitK.splits > 1 && a.K > GEMM_TILE_K ? a.splitK : undefined;
  // Split K: ranges of kChunk (a multiple of the K tile) into the slices of part, bias and c after.
  const kChunk = split ? Math.ceil(Math.ceil(a.K / split.splits) / GEMM_TILE_K) * GEMM_TILE_K : a.K;
  const splits = split ? Math.ceil(a.K / kChunk) : 1;
  const b = new Binder(device, op, cpu ? gemmCpuBuffers(vec4) : gemmBuffers(vec4))
    .view('a', a.a, a.M * a.K)
    .view('b', a.b, a.K * a.N)
    .view('c', split ? split.part : a.c, splits * a.M * a.N)
    .view('bias', split ? undefined : (a.bias ?? undefined), a.N);
  const gemm: Step = {
    program: new GemmProgram({ transA: a.transA, transB: a.transB, vec4 }, layout),
    params: b.with({
      M: a.M,
      N: a.N,
      K: a.K,
      tiles_n: tilesN,
      tiles,
      k_chunk: kChunk,
      accumulate: !split && a.accumulate ? 1 : 0,
      has_bias: !split && a.bias ? 1 : 0,
    }),
    buffers: b.buffers,
    units: tiles * splits,
  };
  if (!split) return [gemm];
  const sum = new Binder(device, op, SPLITK_SUM_BUFFERS)
    .view('part', split.part, splits * a.M * a.N)
    .view('c', a.c, a.M * a.N)
    .view('bias', a.bias ?? undefined, a.N);
  return [
    gemm,
    {
      program: new SplitKSumProgram(),
      params: sum.with({
        M: a.M,
        N: a.N,
        splits,
        accumulate: a.accumulate ? 1 : 0,
        has_bias: a.bias ? 1 : 0,
      }),
      buffers: sum.buffers,
      units: Math.ceil((a.M * a.N) / SPLITK_SUM_WORKGROUP),
    },
  ];
}

/** The bias gradient's dispatch. */
export function wgslBiasGrad(device: GPUDevice, a: WgslBiasGradArgs): Step[] {
  const op = 'wgslBiasGrad';
  checkInt(op, 'R', a.R, 0);
  checkInt(op, 'N', a.N, 0);
  if (a.R * a.N > 2 ** 32 - 4)
    throw new RangeError(`${op}: R·N = ${a.R * a.N} exceeds the 32-bit element index`);
  if (a.R === 0 || a.N === 0) return [];
  const b = new Binder(device, op, BIAS_GRAD_BUFFERS).view('dy', a.dy, a.R * a.N).view('db', a.db, a.N);
  const colBlocks = Math.ceil(a.N / BIAS_GRAD_WORKGROUP);
  const chunkRows = biasGradRows(a.R);
  return [
    {
      program: new BiasGradProgram(),
      params: b.with({ R: a.R, N: a.N, col_blocks: colBlocks, chunk_rows: chunkRows }),
      buffers: b.buffers,
      units: colBlocks * Math.ceil(a.R / chunkRows),
    },
  ];
}
