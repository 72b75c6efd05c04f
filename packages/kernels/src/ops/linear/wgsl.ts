/**
 * WebGPU launchers of the linear op (linear.wgsl.ts): each returns the dispatch of one call
 * (runner.ts `Step`s). Arguments mean what they mean for the CUDA launchers (cuda.ts
 * CudaMatmulArgs / CudaBiasGradArgs; EngineOps.matmul / biasGrad). Storage is float32, or with
 * `act: 'f16'` (a device with 'shader-f16') f16 for a, b, bias, c (unless `cF32`) and dy; the
 * arithmetic is f32 either way (split-K partial sums and db stay f32).
 */
import { cpuSubgroupSize, layoutOf, type WgslLayout } from '../../wgsl/layout.js';
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { COLSUM_COLS, COLSUM_WORKGROUP, colSumRows } from '../common.wgsl.js';
import { Binder, checkInt, type Decl, opBindings, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  BIAS_GRAD_BUFFERS,
  BIAS_GRAD_FIELDS,
  biasGradWGSL,
  GEMM_CPU_COLS,
  GEMM_CPU_LANES,
  GEMM_CPU_ROWS,
  GEMM_FIELDS,
  GEMM_TILE,
  GEMM_TILE_K,
  GEMM_WORKGROUP,
  GEMM128_TILE,
  GEMM128_TILE_K,
  GEMM128_TILE_KS,
  type Gemm128TileK,
  type Gemm128Variant,
  type GemmCpuVariant,
  type GemmVariant,
  gemm128WGSL,
  gemmBuffers,
  gemmCpuBuffers,
  gemmCpuWGSL,
  gemmWGSL,
  SPLITK_SUM_FIELDS,
  SPLITK_SUM_WORKGROUP,
  splitKSumBuffers,
  splitKSumWGSL,
} from './linear.wgsl.js';

/** Whether a 'gpu' GEMM variant is the 128 × 128 kernel's. */
function is128(v: GemmVariant | GemmCpuVariant | Gemm128Variant): v is Gemm128Variant {
  return 'tileK' in v;
}

/**
 * c = (accumulate ? c : 0) + op(a)·op(b) + bias: 64 × 64 or, for a {@link Gemm128Variant}, 128 × 128
 * tiles ('gpu'; key suffix `/t128k<TK>`), 16 × 64 ('cpu'). Activations (a, b, bias, and c unless
 * the variant's `cF32`) are stored as `act`; the key ends in `/<act>` (and `/c32` for an f32 c
 * under act 'f16').
 */
export class GemmProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize: number;
  readonly bindings: readonly BindingKind[];
  readonly paramFields = GEMM_FIELDS;
  readonly variant: GemmVariant | GemmCpuVariant | Gemm128Variant;
  /** The storage bindings (their element types), for a {@link Binder}. */
  readonly decls: readonly Decl[];
  /** `variant`: a {@link GemmCpuVariant} for layout 'cpu' (a plain GemmVariant: the kernel without subgroups). */
  constructor(
    variant: GemmVariant | GemmCpuVariant | Gemm128Variant,
    readonly layout: WgslLayout = 'gpu',
    readonly act: WgslAct = 'f32',
  ) {
    if (layout === 'cpu' && is128(variant))
      throw new RangeError('GemmProgram: the 128 × 128 kernel is for layout gpu');
    // With f32 activations an f32 c is the same kernel.
    this.variant = { ...variant, cF32: act === 'f16' && variant.cF32 === true };
    const sg = layout === 'cpu' && 'subgroup' in variant && variant.subgroup > 0 ? variant : undefined;
    const t128 = is128(variant) ? `/t128k${variant.tileK}${variant.math16 ? '/m16' : ''}` : '';
    const c32 = this.variant.cF32 ? '/c32' : '';
    this.key = `linear/gemm/${variant.transA ? 't' : 'n'}${variant.transB ? 't' : 'n'}${variant.vec4 ? '/vec4' : ''}/${layout}${sg ? `/sg${sg.subgroup}${sg.vec4A ? '/a4' : ''}${sg.vec4C ? '/c4' : ''}` : ''}${t128}/${act}${c32}`;
    this.workgroupSize = layout === 'cpu' ? GEMM_CPU_LANES : GEMM_WORKGROUP;
    this.decls =
      layout === 'cpu' ? gemmCpuBuffers(this.cpuVariant()) : gemmBuffers(variant.vec4, this.variant.cF32);
    this.bindings = opBindings(this.decls);
  }
  private cpuVariant(): GemmCpuVariant {
    return 'subgroup' in this.variant ? this.variant : { ...this.variant, subgroup: 0 };
  }
  code(): string {
    if (this.layout === 'cpu') return gemmCpuWGSL(this.cpuVariant(), this.act);
    return is128(this.variant) ? gemm128WGSL(this.variant, this.act) : gemmWGSL(this.variant, this.act);
  }
}

/** db[n] += Σ_r dy[r, n]; dy stored as `act`, db f32. */
export class BiasGradProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = COLSUM_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(BIAS_GRAD_BUFFERS);
  readonly paramFields = BIAS_GRAD_FIELDS;
  constructor(readonly act: WgslAct = 'f32') {
    this.key = `linear/bias-grad/${act}`;
  }
  code(): string {
    return biasGradWGSL(this.act);
  }
}

/**
 * c = (accumulate ? c : 0) + Σ_s part[s] + bias: the second pass of a split-K GEMM; part f32, bias
 * `act`, c `act` (f32 where `cF32`).
 */
export class SplitKSumProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = SPLITK_SUM_WORKGROUP;
  readonly bindings: readonly BindingKind[];
  readonly paramFields = SPLITK_SUM_FIELDS;
  readonly cF32: boolean;
  constructor(
    readonly act: WgslAct = 'f32',
    cF32 = false,
  ) {
    this.cF32 = act === 'f16' && cF32;
    this.key = `linear/splitk-sum/${act}${this.cF32 ? '/c32' : ''}`;
    this.bindings = opBindings(splitKSumBuffers(this.cF32));
  }
  code(): string {
    return splitKSumWGSL(this.act, this.cF32);
  }
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
  /** Layout 'cpu': allow the subgroup kernel where the device has subgroups of a size it is built for (default true). */
  subgroups?: boolean;
  /**
   * Layout 'gpu': the output tile, 64 or 128 (default {@link gemmTile}: 128 where M and N are both
   * at least 128). The 128 kernel's K step is `tileK` (default GEMM128_TILE_K, 8).
   */
  tile?: 64 | 128;
  tileK?: Gemm128TileK;
  /**
   * Split K into `splits` ranges (layout 'gpu'; a multiple of the K step each) computed into the slices of
   * `part` (at least splits·M·N floats, not overlapping the operands), then summed into c: for a
   * long K over few output tiles (a weight gradient), which would otherwise keep a GPU idle.
   */
  splitK?: { part: WgslView; splits: number };
  /**
   * Storage of the activations a, b, bias and (unless `cF32`) c: 'f32' (default) or 'f16' (needs
   * 'shader-f16'); the products and sums are f32 either way, c rounded to its type on store. Views
   * of these bindings count f16 elements. splitK's part is always f32.
   */
  act?: WgslAct;
  /**
   * c is float32 whatever `act` (the engine's `out: 'f32'`: fp32 weight gradients accumulated into
   * the flat f32 gradient buffer); with accumulate the previous c is read as f32. Default false
   * (c is `act`); no effect with act 'f32'.
   */
  cF32?: boolean;
  /**
   * Arithmetic of the products: 'f32' (default; f16 storage is converted to f32, products and sums
   * in f32), or 'f16' (act 'f16' only): where the 'gpu' 128 × 128 kernel runs, the products and each
   * K step's (tileK's) partial sums are f16, added into f32 accumulators every K step (linear.wgsl.ts
   * gemm128WGSL; error up to ~tileK·2^-11 of the products' magnitudes per step, against f32's
   * 2^-24). A speed option, not a storage contract: the other kernels (64 × 64 tiles, layout 'cpu')
   * compute in f32 whatever it says.
   */
  math?: 'f32' | 'f16';
}

/** The 'gpu' GEMM's output tile for an M × N output: 128 where both are at least 128 (else 64). */
export function gemmTile(M: number, N: number): 64 | 128 {
  return M >= GEMM128_TILE && N >= GEMM128_TILE ? 128 : 64;
}

/**
 * Splits of K worth making for an M × N output on a GPU, with `tile` × `tile` output tiles (default
 * {@link gemmTile}): enough for ~256 workgroups (about a wave of an H200's 132 SMs at two 128 × 128
 * workgroups each), each split ≥ 1,024 of K, at most 64.
 */
export function gemmSplits(M: number, N: number, K: number, tile: 64 | 128 = gemmTile(M, N)): number {
  const tiles = Math.ceil(M / tile) * Math.ceil(N / tile);
  return Math.max(1, Math.min(Math.ceil(256 / tiles), Math.floor(K / 1024), 64));
}

/** Arguments of {@link wgslBiasGrad}. */
export interface WgslBiasGradArgs {
  /** [R, N]. */
  dy: WgslView;
  /** [N] float32, accumulates. */
  db: WgslView;
  R: number;
  N: number;
  /** Storage of dy: 'f32' (default) or 'f16' (needs 'shader-f16'); db is f32 either way. */
  act?: WgslAct;
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

/** The subgroup size the 'cpu' subgroup GEMM can rely on (wgsl/layout.ts {@link cpuSubgroupSize}). */
export const gemmCpuSubgroupSize = cpuSubgroupSize;

/**
 * The 'cpu' GEMM variant for a call: the subgroup kernel where {@link gemmCpuSubgroupSize} allows
 * (and `subgroups` is not false), with vec4 loads of b (along its contiguous axis: N, or K where
 * transposed, and b's offset multiples of 4), of a (K, or M where transposed, and a's offset
 * multiples of 4) and vec4 stores of c (N and the offsets of c and bias multiples of 4), each where
 * allowed (`vec4` not false, K > 0); else the kernel without subgroups ({@link gemmCpuVec4Ok}).
 */
export function gemmCpuVariant(
  device: GPUDevice,
  a: Pick<
    WgslMatmulArgs,
    'a' | 'b' | 'c' | 'bias' | 'M' | 'N' | 'K' | 'transA' | 'transB' | 'vec4' | 'subgroups'
  >,
): GemmCpuVariant {
  const subgroup = a.subgroups === false ? 0 : gemmCpuSubgroupSize(device);
  const allow = (a.vec4 ?? true) && a.K > 0;
  if (!subgroup) return { transA: a.transA, transB: a.transB, vec4: allow && gemmCpuVec4Ok(a), subgroup };
  const m4 = (n: number | undefined) => (n ?? 0) % 4 === 0;
  return {
    transA: a.transA,
    transB: a.transB,
    subgroup,
    vec4: allow && m4(a.b.offset) && (a.transB ? a.K : a.N) % 4 === 0,
    vec4A: allow && m4(a.a.offset) && (a.transA ? a.M : a.K) % 4 === 0,
    vec4C: allow && a.N % 4 === 0 && m4(a.c.offset) && m4(a.bias?.offset),
  };
}

/**
 * The 'gpu' GEMM variant for a call: the 128 × 128 kernel where `tile` (default {@link gemmTile})
 * is 128, with K step `tileK` (default GEMM128_TILE_K), else the 64 × 64 kernel; vec4 loads where
 * allowed (`vec4` not false) and {@link gemmVec4Ok}.
 */
function gemmGpuVariant(
  a: Pick<
    WgslMatmulArgs,
    'a' | 'b' | 'M' | 'N' | 'K' | 'transA' | 'transB' | 'vec4' | 'tile' | 'tileK' | 'math'
  >,
): GemmVariant | Gemm128Variant {
  const tile = a.tile ?? gemmTile(a.M, a.N);
  if (tile !== 64 && tile !== 128) throw new RangeError(`wgslMatmul: tile ${tile} is not 64 or 128`);
  const v: GemmVariant = { transA: a.transA, transB: a.transB, vec4: (a.vec4 ?? true) && gemmVec4Ok(a) };
  if (tile === 64) return v;
  const tileK = a.tileK ?? GEMM128_TILE_K;
  if (!GEMM128_TILE_KS.includes(tileK))
    throw new RangeError(`wgslMatmul: tileK ${tileK} is not one of ${GEMM128_TILE_KS.join(', ')}`);
  return { ...v, tileK, ...(a.math === 'f16' ? { math16: true } : {}) };
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
  const math = a.math ?? 'f32';
  if (math !== 'f32' && math !== 'f16')
    throw new RangeError(`${op}: math must be 'f32' or 'f16', got ${String(math)}`);
  if (math === 'f16' && a.act !== 'f16')
    throw new RangeError(`${op}: math 'f16' needs act 'f16', got act ${a.act ?? 'f32'}`);
  if (a.M === 0 || a.N === 0) return [];
  const layout = layoutOf(device);
  const cpu = layout === 'cpu';
  const cpuVariant = cpu ? gemmCpuVariant(device, a) : undefined;
  const variant = cpuVariant ?? gemmGpuVariant(a);
  const tile = cpu ? 0 : is128(variant) ? GEMM128_TILE : GEMM_TILE;
  const tileK = is128(variant) ? variant.tileK : GEMM_TILE_K;
  const tilesN = Math.ceil(a.N / (cpu ? GEMM_CPU_COLS : tile));
  const tilesM = Math.ceil(a.M / (cpu ? GEMM_CPU_ROWS : tile));
  const tiles = tilesM * tilesN;
  const split = !cpu && a.splitK && a.splitK.splits > 1 && a.K > tileK ? a.splitK : undefined;
  // Split K: ranges of kChunk (a multiple of the K tile) into the slices of part, bias and c after.
  const kChunk = split ? Math.ceil(Math.ceil(a.K / split.splits) / tileK) * tileK : a.K;
  const splits = split ? Math.ceil(a.K / kChunk) : 1;
  const act = a.act ?? 'f32';
  const cF32 = act === 'f16' && a.cF32 === true;
  const gemmCF32 = split !== undefined || cF32; // the GEMM's own c: part (f32) when split
  const program = new GemmProgram({ ...variant, cF32: gemmCF32 }, layout, act);
  const b = new Binder(device, op, program.decls, act)
    .view('a', a.a, a.M * a.K)
    .view('b', a.b, a.K * a.N)
    .view('c', split ? split.part : a.c, splits * a.M * a.N)
    .view('bias', split ? undefined : (a.bias ?? undefined), a.N);
  const gemm: Step = {
    program,
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
  const sumProgram = new SplitKSumProgram(act, cF32);
  const sum = new Binder(device, op, splitKSumBuffers(sumProgram.cF32), act)
    .view('part', split.part, splits * a.M * a.N)
    .view('c', a.c, a.M * a.N)
    .view('bias', a.bias ?? undefined, a.N);
  return [
    gemm,
    {
      program: sumProgram,
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
  const act = a.act ?? 'f32';
  const b = new Binder(device, op, BIAS_GRAD_BUFFERS, act).view('dy', a.dy, a.R * a.N).view('db', a.db, a.N);
  const colBlocks = Math.ceil(a.N / COLSUM_COLS);
  const chunkRows = colSumRows(a.R);
  return [
    {
      program: new BiasGradProgram(act),
      params: b.with({ R: a.R, N: a.N, col_blocks: colBlocks, chunk_rows: chunkRows }),
      buffers: b.buffers,
      units: colBlocks * Math.ceil(a.R / chunkRows),
    },
  ];
}
