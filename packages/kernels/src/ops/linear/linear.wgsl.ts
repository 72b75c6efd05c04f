/**
 * WGSL of the linear op (reference.ts is the contract; linear.cu / cuBLASLt the CUDA twins):
 *
 * - GEMM, row-major c [M, N] = (accumulate ? c : 0) + op(a)·op(b) + bias: a workgroup of 256
 *   invocations computes a 64 × 64 tile of c, each invocation a 4 × 4 register tile; the K
 *   dimension is walked in steps of 16 through two workgroup-memory tiles (a: 16 × 64, b:
 *   16 × 64, k-major so the inner loop reads 4 consecutive m or n). Global loads are coalesced
 *   for every transpose (the tile loader walks the operand's contiguous axis) and, in the `vec4`
 *   variant (the contiguous extent and every row start a multiple of 4), are 16-byte vector loads.
 *   One pipeline per (transA, transB, vec4). The bias epilogue adds bias[n]. Split K (`k_chunk`
 *   < K: a weight gradient's K is the batch's rows, 10^5 and more, over a few 64 × 64 tiles):
 *   workgroup unit u computes tile u mod tiles of the K range of split ⌊u / tiles⌋ into its own
 *   [M, N] slice of c (a scratch), and {@link splitKSumWGSL} adds the slices into the output.
 *   Where M and N are both at least 128 the launcher takes {@link gemm128WGSL} instead: 128 × 128
 *   tiles, an 8 × 8 register tile per invocation, vec4 workgroup-memory reads, two buffers and the
 *   next k-tile's global loads in registers during the current one's products (same params,
 *   bindings, epilogue and split K). A workgroup past the last split returns (both kernels).
 * - GEMM on a software adapter (layout 'cpu', wgsl/layout.ts; {@link gemmCpuWGSL}): no workgroup
 *   memory and no barrier. A workgroup of 16 lanes computes 16 rows × 64 columns of c, a lane 16 × 4
 *   (sixteen vec4 accumulators). On lavapipe (Mesa 25.0.7) a storage-buffer load whose address is not
 *   provably uniform in NIR (anything but constants: P.*, workgroup_id and loop counters are not) is
 *   a loop over the 8 lanes with a bounds check and a branch per component (~9 instructions an
 *   element, seen with GALLIVM_DEBUG=asm), so the rows of op(a), the same for every lane, were still
 *   loaded once per lane. Where the device has subgroups of one size (4, 8 or 16), the subgroup
 *   kernel walks K in blocks of 4: each lane of a subgroup loads a different 4 of the S rows × 4 k of
 *   op(a) (one vec4 where aligned) and subgroupBroadcast hands them to every lane; a lane loads its 4
 *   columns of op(b) at the 4 k as vec4 along b's contiguous axis (n, or k where transposed), and
 *   writes c, and reads c and bias, as vec4 where aligned. The K loop is uniform (no branch around
 *   it: columns past N are clamped), so it is not masked per lane. Measured on lavapipe (2-core VM,
 *   BENCHMARKS.md, 2026-12-03): the synthetic step's 38 GEMMs 1.7–1.9× faster than the kernel
 *   without subgroups; 16 rows beat 8 (1.2–1.4×) and 24 or 32 (spills: 1.2–1.4× slower, dY·Wᵀ
 *   even); 8 lanes × 8 columns no better than 16 × 4; fma() no faster than a·b + c (kept: same
 *   rounding as before). Without subgroups: the earlier kernel, a lane's rows of op(a) read at
 *   lane-uniform addresses, b as vec4 where b's rows are 16-byte aligned and not transposed (16
 *   rows 1.2× faster than 8, 32 slower). Both end in the same epilogue (`store`, or `store4`).
 * - bias gradient, db[n] += Σ_r dy[r, n]: an invocation per (column, chunk of ≥ 256 rows, at most
 *   128 chunks), the chunk's sum CAS-added (one chunk, R ≤ 256, is deterministic).
 *
 * Storage: a, b, bias, dy and c are the module's `act_t` (f32, or f16 with 'shader-f16';
 * wgsl-view.ts actHeaderWGSL), except that c is f32 where the variant's `cF32` (a split-K GEMM's
 * partial sums `part`, and the caller's f32 output: the fp32 weight gradients); db stays f32.
 * Loads convert to f32 (vec4<f32>(x4[i]) for the 8-byte vec4<f16> loads, which need the same
 * 4-element alignment as vec4<f32>), workgroup-memory tiles, broadcasts and accumulators are f32,
 * and the epilogue rounds to c's type once.
 */
import { atomicAddWGSL } from '../../wgsl/common.wgsl.js';
import { CPU_SUBGROUP_SIZES } from '../../wgsl/layout.js';
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { COLSUM_COLS, COLSUM_LANES, COLSUM_WORKGROUP, colLanesMeetWGSL, unitWGSL } from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

export const GEMM_TILE = 64;
export const GEMM_TILE_K = 16;
export const GEMM_WORKGROUP = 256;
/** Layout 'cpu': rows of c per workgroup, lanes per workgroup (4 columns each); both kernels. */
export const GEMM_CPU_ROWS = 16;
export const GEMM_CPU_LANES = 16;
export const GEMM_CPU_COLS = GEMM_CPU_LANES * 4;
/** Subgroup sizes the 'cpu' subgroup kernel is built for (divisors of the 16 rows and lanes). */
export const GEMM_CPU_SUBGROUPS = CPU_SUBGROUP_SIZES;
/** The GEMM's compile-time variant. */
export interface GemmVariant {
  transA: boolean;
  transB: boolean;
  /** 16-byte loads of a and b (see {@link gemmVec4Ok}); 8-byte vec4<f16> loads with act 'f16'. */
  vec4: boolean;
  /**
   * c is stored as f32 whatever the kernel's act_t (a split-K GEMM's f32 partial sums, or the
   * caller's f32 output under act 'f16'); default false: c is act_t, as a, b and bias are.
   */
  cF32?: boolean;
}

/** WGSL storage types of c: scalar and vec4 (f32 where `cF32`, else the kernel's act_t). */
function cTypes(cF32: boolean | undefined): [scalar: string, vec: string] {
  return cF32 ? ['f32', 'vec4<f32>'] : ['act_t', 'act4_t'];
}

/** Bindings of the 'gpu' GEMMs: a, b (act_t, act4_t where `vec4`), c (act_t or f32, {@link GemmVariant.cF32}), bias (act_t). */
export function gemmBuffers(vec4: boolean, cF32 = false): Decl[] {
  const t = vec4 ? 'act4_t' : 'act_t';
  return [
    ['a', t, 'read'],
    ['b', t, 'read'],
    ['c', cTypes(cF32)[0], 'rw'],
    ['bias', 'act_t', 'read'],
  ];
}

export const GEMM_FIELDS: readonly ParamField[] = [
  ['M', 'u32'],
  ['N', 'u32'],
  ['K', 'u32'],
  ['accumulate', 'u32'],
  ['has_bias', 'u32'],
  ['tiles_n', 'u32'],
  /** K per split (K: no split) and the tiles of one split (tiles_m · tiles_n). */
  ['k_chunk', 'u32'],
  ['tiles', 'u32'],
  ...offsetFields(gemmBuffers(false)),
];

/** The split-K sum: c = (accumulate ? c : 0) + Σ_s part[s] + bias; part f32, c act_t (f32 where `cF32`), bias act_t. */
export function splitKSumBuffers(cF32 = false): Decl[] {
  return [
    ['part', 'f32', 'read'],
    ['c', cTypes(cF32)[0], 'rw'],
    ['bias', 'act_t', 'read'],
  ];
}
export const SPLITK_SUM_BUFFERS: readonly Decl[] = splitKSumBuffers();
export const SPLITK_SUM_FIELDS: readonly ParamField[] = [
  ['M', 'u32'],
  ['N', 'u32'],
  ['splits', 'u32'],
  ['accumulate', 'u32'],
  ['has_bias', 'u32'],
  ...offsetFields(SPLITK_SUM_BUFFERS),
];
export const SPLITK_SUM_WORKGROUP = 256;

export const BIAS_GRAD_BUFFERS: readonly Decl[] = [
  ['dy', 'act_t', 'read'],
  ['db', 'atomic<u32>', 'rw'],
];
export const BIAS_GRAD_FIELDS: readonly ParamField[] = [
  ['R', 'u32'],
  ['N', 'u32'],
  ['col_blocks', 'u32'],
  ['chunk_rows', 'u32'],
  ...offsetFields(BIAS_GRAD_BUFFERS),
];

/**
 * The epilogue of both GEMMs: c[base + m·N + n … n+3] = v (+ bias) (+ c), within M and N, in f32,
 * rounded to c's storage type (`cF32`: f32, else act_t) on store.
 */
function storeWGSL(cF32: boolean | undefined): string {
  return /* wgsl */ `
fn store(base: u32, m: u32, n: u32, v: vec4<f32>) {
  if (m >= P.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (n + j >= P.N) { return; }
    var o = v[j];
    if (P.has_bias != 0u) { o += f32(bias[P.bias_o + n + j]); }
    let at = base + m * P.N + n + j;
    if (P.accumulate != 0u) { o += f32(c[at]); }
    c[at] = ${cTypes(cF32)[0]}(o);
  }
}
`;
}

/**
 * Both GEMMs' work unit: `split` (the K range) and the output tile's corner (m0, n0) for tiles of
 * T × T; a workgroup past the last split (a grid rounded up over y) returns.
 */
function gemmTileWGSL(T: number): string {
  return `  let all = unit_of(wid, nwg);
  let split = all / P.tiles;
  if (split > 0u && split * P.k_chunk >= P.K) { return; }
  let unit = all - split * P.tiles;
  let tm = unit / P.tiles_n;
  let m0 = tm * ${T}u;
  let n0 = (unit - tm * P.tiles_n) * ${T}u;`;
}

/**
 * The tile loader of one operand: 64 × 16 elements (m or n by k) into `dst` (k-major), from a
 * row-major [rows = `outer`, cols = `inner`] array whose contiguous axis is k (`kMajor` false:
 * element (i, k) at i·K + k) or i (`kMajor` true: element (i, k) at k·ld + i).
 */
function loader(
  name: string,
  dst: string,
  contiguousIsK: boolean,
  ld: string,
  extent: string,
  vec4: boolean,
): string {
  const T = GEMM_TILE;
  const TK = GEMM_TILE_K;
  // Index of element (i, k) of the operand, relative to its view.
  if (!vec4) {
    // 1024 elements, 4 per invocation; consecutive invocations walk the contiguous axis.
    return contiguousIsK
      ? `
  for (var q = 0u; q < 4u; q++) {
    let idx = lid + ${GEMM_WORKGROUP}u * q;
    let i = idx / ${TK}u;
    let k = idx % ${TK}u;
    let gi = i0 + i;
    let gk = k0 + k;
    var v = 0.0;
    if (gi < ${extent} && gk < P.K) { v = f32(${name}[P.${name}_o + gi * ${ld} + gk]); }
    ${dst}[k * ${T}u + i] = v;
  }`
      : `
  for (var q = 0u; q < 4u; q++) {
    let idx = lid + ${GEMM_WORKGROUP}u * q;
    let i = idx % ${T}u;
    let k = idx / ${T}u;
    let gi = i0 + i;
    let gk = k0 + k;
    var v = 0.0;
    if (gi < ${extent} && gk < P.K) { v = f32(${name}[P.${name}_o + gk * ${ld} + gi]); }
    ${dst}[k * ${T}u + i] = v;
  }`;
  }
  // vec4: 256 vectors, one per invocation; the contiguous extent (ld) and the offset are multiples of 4.
  return contiguousIsK
    ? `
  {
    let i = lid / ${TK / 4}u;
    let k4 = (lid % ${TK / 4}u) * 4u;
    let gi = i0 + i;
    let gk = k0 + k4;
    var v = vec4<f32>(0.0);
    if (gi < ${extent} && gk < P.K) { v = vec4<f32>(${name}[(P.${name}_o + gi * ${ld} + gk) / 4u]); }
    ${dst}[k4 * ${T}u + i] = v.x;
    ${dst}[(k4 + 1u) * ${T}u + i] = v.y;
    ${dst}[(k4 + 2u) * ${T}u + i] = v.z;
    ${dst}[(k4 + 3u) * ${T}u + i] = v.w;
  }`
    : `
  {
    let i4 = (lid % ${T / 4}u) * 4u;
    let k = lid / ${T / 4}u;
    let gi = i0 + i4;
    let gk = k0 + k;
    var v = vec4<f32>(0.0);
    if (gi < ${extent} && gk < P.K) { v = vec4<f32>(${name}[(P.${name}_o + gk * ${ld} + gi) / 4u]); }
    ${dst}[k * ${T}u + i4] = v.x;
    ${dst}[k * ${T}u + i4 + 1u] = v.y;
    ${dst}[k * ${T}u + i4 + 2u] = v.z;
    ${dst}[k * ${T}u + i4 + 3u] = v.w;
  }`;
}

export function gemmWGSL(v: GemmVariant, act: WgslAct = 'f32'): string {
  const T = GEMM_TILE;
  const TK = GEMM_TILE_K;
  // a: op(a) is [M, K]; stored [M, K] (contiguous k) or, transposed, [K, M] (contiguous m).
  const loadA = v.transA
    ? loader('a', 'As', false, 'P.M', 'P.M', v.vec4)
    : loader('a', 'As', true, 'P.K', 'P.M', v.vec4);
  // b: op(b) is [K, N]; stored [K, N] (contiguous n) or, transposed, [N, K] (contiguous k).
  const loadB = v.transB
    ? loader('b', 'Bs', true, 'P.K', 'P.N', v.vec4)
    : loader('b', 'Bs', false, 'P.N', 'P.N', v.vec4);
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(GEMM_FIELDS)}
${storageWGSL(gemmBuffers(v.vec4, v.cF32))}
${unitWGSL}
var<workgroup> As: array<f32, ${T * TK}>;
var<workgroup> Bs: array<f32, ${T * TK}>;

@compute @workgroup_size(${GEMM_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${gemmTileWGSL(T)}
  if (m0 >= P.M) { return; }
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4<f32>, 4>;
  let kEnd = min(P.K, (split + 1u) * P.k_chunk);
  for (var k0 = split * P.k_chunk; k0 < kEnd; k0 += ${TK}u) {
    {
      let i0 = m0;
      ${loadA}
    }
    {
      let i0 = n0;
      ${loadB}
    }
    workgroupBarrier();
    for (var k = 0u; k < ${TK}u; k++) {
      let ar = k * ${T}u + ty * 4u;
      let br = k * ${T}u + tx * 4u;
      let bv = vec4<f32>(Bs[br], Bs[br + 1u], Bs[br + 2u], Bs[br + 3u]);
      acc[0] += As[ar] * bv;
      acc[1] += As[ar + 1u] * bv;
      acc[2] += As[ar + 2u] * bv;
      acc[3] += As[ar + 3u] * bv;
    }
    workgroupBarrier();
  }
  let base = P.c_o + split * P.M * P.N;
  for (var i = 0u; i < 4u; i++) { store(base, m0 + ty * 4u + i, n0 + tx * 4u, acc[i]); }
}
${storeWGSL(v.cF32)}`;
}

/** The 128 × 128 GEMM's output tile and the K steps (rows of its workgroup-memory tiles) it is built for. */
export const GEMM128_TILE = 128;
export const GEMM128_TILE_KS = [8, 16] as const;
export type Gemm128TileK = (typeof GEMM128_TILE_KS)[number];
/** The K step the launcher picks by default (see the header of {@link gemm128WGSL}). */
export const GEMM128_TILE_K: Gemm128TileK = 8;

/**
 * The 128 × 128 GEMM's compile-time variant: the K step of a workgroup-memory tile, and `math16`:
 * f16 math (act 'f16' only; see {@link gemm128WGSL}).
 */
export interface Gemm128Variant extends GemmVariant {
  tileK: Gemm128TileK;
  math16?: boolean;
}

/**
 * One operand's tile loads in the 128 kernel: 128 (m or n) × TK (k) elements, `fetch`ed from global
 * memory into the registers p<x>0… (zero past `extent` or K) and `stash`ed into workgroup buffer `o`
 * of `<X>s` (k-major: vec4 k·32 + i/4 holds i … i+3 of row k). The operand is row-major with
 * contiguous axis k (element (i, k) at i·ld + k) or i (at k·ld + i); consecutive invocations walk
 * the contiguous axis. `vec4`: ld and the view's offset are multiples of 4 (a vector is all in or
 * all out), TK/8 vectors per invocation; else TK/2 scalars. `st`: the scalar type of the
 * registers and the workgroup tiles (f32; f16 in the f16-math variant).
 */
function loader128(
  x: 'a' | 'b',
  i0: string,
  contiguousIsK: boolean,
  ld: string,
  extent: string,
  vec4: boolean,
  tk: number,
  st: 'f32' | 'f16' = 'f32',
): { decl: string; fetch: string; stash: string } {
  const X = `${x.toUpperCase()}s`;
  const W = GEMM_WORKGROUP;
  const per = vec4 ? tk / 8 : tk / 2;
  const qs = Array.from({ length: per }, (_, q) => q);
  const reg = (q: number) => `p${x}${q}`;
  const rt = vec4 ? `vec4<${st}>` : st;
  const zero = `${rt}(0.0)`;
  const decl = qs.map((q) => `var ${reg(q)} = ${zero};`).join(' ');
  // (gi, gk) of the first element an invocation loads, and that element's (or vector's) index.
  let gi: string;
  let gk: string;
  let at: string;
  let stash: (q: number) => string;
  if (vec4 && contiguousIsK) {
    const TQ = tk / 4; // vectors per row of the tile
    [gi, gk] = [`${i0} + e / ${TQ}u`, `kt + (e % ${TQ}u) * 4u`];
    at = `(P.${x}_o + gi * ${ld} + gk) / 4u`;
    // Vector (i, k … k+3) goes to component i % 4 of 4 consecutive k rows.
    stash = (q) => `{
      let e = lid + ${W * q}u;
      let s = o + (e % ${TQ}u) * 128u + e / ${TQ}u / 4u;
      let j = (e / ${TQ}u) % 4u;
      ${X}[s][j] = ${reg(q)}.x; ${X}[s + 32u][j] = ${reg(q)}.y; ${X}[s + 64u][j] = ${reg(q)}.z; ${X}[s + 96u][j] = ${reg(q)}.w;
    }`;
  } else if (vec4) {
    // 32 vectors per k row: invocation e loads vector e % 32 of row e / 32, stored as it is.
    [gi, gk] = [`${i0} + (e % 32u) * 4u`, 'kt + e / 32u'];
    at = `(P.${x}_o + gk * ${ld} + gi) / 4u`;
    stash = (q) => `${X}[o + lid + ${W * q}u] = ${reg(q)};`;
  } else {
    const [i, k] = contiguousIsK ? [`e / ${tk}u`, `e % ${tk}u`] : ['e % 128u', 'e / 128u'];
    [gi, gk] = [`${i0} + ${i}`, `kt + ${k}`];
    at = contiguousIsK ? `P.${x}_o + gi * ${ld} + gk` : `P.${x}_o + gk * ${ld} + gi`;
    stash = (q) => `{
      let e = lid + ${W * q}u;
      ${X}[o + (${k}) * 32u + (${i}) / 4u][(${i}) % 4u] = ${reg(q)};
    }`;
  }
  const fetch = qs
    .map(
      (q) => `{
      let e = lid + ${W * q}u;
      let gi = ${gi};
      let gk = ${gk};
      ${reg(q)} = ${zero};
      if (gi < ${extent} && gk < P.K) { ${reg(q)} = ${rt}(${x}[${at}]); }
    }`,
    )
    .join('\n    ');
  return { decl, fetch, stash: qs.map(stash).join('\n    ') };
}

/** Accumulator names of the 128 kernel: row i (0 … 7) of the invocation, column group h (0, 1). */
const acc128 = (i: number, h: number) => `acc${i}_${h}`;

/**
 * One k-tile of the 128 kernel's outer products (unrolled): per k, the invocation's two vec4 of a
 * (rows ty·4 … +3 and 64 + ty·4 … +3) and of b (columns tx·4 … and 64 + tx·4 …) from buffer `o`.
 * `math16`: the tile's products and their sum over its TK k in vec4<f16> partials, added into the
 * f32 accumulators after the tile.
 */
function outer128(tk: number, math16 = false): string {
  const lines: string[] = [];
  const comp = ['x', 'y', 'z', 'w'];
  const ps = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [0, 1].map((h) => [i, h] as const));
  const sum = math16 ? (i: number, h: number) => `h${i}_${h}` : acc128;
  if (math16) lines.push(ps.map(([i, h]) => `var ${sum(i, h)} = vec4<f16>(0.0);`).join(' '));
  for (let k = 0; k < tk; k++) {
    const r = k * 32;
    const body = [
      `let a0 = As[ao + ${r}u]; let a1 = As[ao + ${r + 16}u];`,
      `let b0 = Bs[bo + ${r}u]; let b1 = Bs[bo + ${r + 16}u];`,
    ];
    for (let i = 0; i < 8; i++) {
      const a = `a${i >> 2}.${comp[i & 3]}`;
      body.push(`${sum(i, 0)} += ${a} * b0; ${sum(i, 1)} += ${a} * b1;`);
    }
    lines.push(`{\n      ${body.join('\n      ')}\n    }`);
  }
  if (math16) lines.push(ps.map(([i, h]) => `${acc128(i, h)} += vec4<f32>(${sum(i, h)});`).join('\n    '));
  return lines.join('\n    ');
}

/**
 * The 'gpu' GEMM on 128 × 128 tiles of c (the classic SGEMM design), for outputs of at least
 * 128 × 128; same contract, params, bindings, epilogue (`store`) and split-K scheme as
 * {@link gemmWGSL}. A workgroup of 256 invocations (16 × 16: tx along n, ty along m) computes a
 * 128 × 128 tile, each invocation an 8 × 8 register tile made of two 4-wide groups per axis: rows
 * ty·4 … +3 and 64 + ty·4 … +3, columns tx·4 … +3 and 64 + tx·4 … +3 (sixteen vec4 accumulators).
 * K is walked in steps of TK (8 or 16) through two buffers each of a and b in workgroup memory,
 * k-major as vec4 (As[k][128], Bs[k][128]; 2 · 2 · TK · 512 bytes: 16 KiB at TK 8, 32 at 16). Per
 * k an invocation reads 2 vec4 of a (the same for the 16 invocations of a ty: a broadcast) and 2
 * of b (16 consecutive vec4 across a warp's tx: no bank conflict) for 64 multiply-adds; the k-tile
 * is unrolled. The next k-tile's global loads go into registers before the current tile's products
 * and into the other buffer after them: one barrier per k-tile. Global loads are coalesced along
 * each operand's contiguous axis, 16-byte vectors where `vec4` (gemmVec4Ok), zero past M, N, K; an
 * operand contiguous in k (a in nn/nt, b in nt/tt) is transposed on the way in by scalar stores
 * (2-way bank conflicts at TK 8, 4-way at 16, once per k-tile). TK 8 is the default: 8 prefetch
 * registers against 16 beside the 64 accumulators; TK 16 halves the barriers (`tileK` picks).
 * Why: the 64 × 64 kernel (4 × 4 per invocation, no prefetch) reaches ~24 TFLOP/s on an H200
 * (Dawn/Vulkan, fp32) at the step's nn/nt (M 131,072, N = K = 256) and split-K tn (M = N = 256,
 * K 131,072) GEMMs: per k an invocation does 16 multiply-adds for 8 scalar workgroup-memory loads,
 * where this kernel does 64 for 4 vector loads and hides the global loads behind the products.
 *
 * `math16` (act 'f16' only, opt-in): the prefetch registers and workgroup tiles hold f16 (half the
 * workgroup memory), and each k-tile's products and their sum over its TK k are vec4<f16> partials
 * (f16 multiply-adds, twice the rate of f32 on GPUs with packed f16), added into the f32
 * accumulators after every k-tile; so only TK products are summed in f16, and the sum over K is
 * f32. Each partial carries up to ~TK·2^-11 of its terms' magnitude in rounding error.
 */
export function gemm128WGSL(v: Gemm128Variant, act: WgslAct = 'f32'): string {
  const T = GEMM128_TILE;
  const TK = v.tileK;
  if (!GEMM128_TILE_KS.includes(TK)) throw new RangeError(`gemm128WGSL: tileK ${TK} is not 8 or 16`);
  if (v.math16 && act !== 'f16') throw new RangeError("gemm128WGSL: f16 math (math16) needs act 'f16'");
  const st = v.math16 ? 'f16' : 'f32';
  // op(a) is [M, K]: stored [M, K] (contiguous k) or, transposed, [K, M] (contiguous m).
  const A = v.transA
    ? loader128('a', 'm0', false, 'P.M', 'P.M', v.vec4, TK, st)
    : loader128('a', 'm0', true, 'P.K', 'P.M', v.vec4, TK, st);
  // op(b) is [K, N]: stored [K, N] (contiguous n) or, transposed, [N, K] (contiguous k).
  const B = v.transB
    ? loader128('b', 'n0', true, 'P.K', 'P.N', v.vec4, TK, st)
    : loader128('b', 'n0', false, 'P.N', 'P.N', v.vec4, TK, st);
  const accs = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [acc128(i, 0), acc128(i, 1)]);
  const rows = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `${i < 4 ? '' : '64u + '}ty * 4u + ${i & 3}u`);
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(GEMM_FIELDS)}
${storageWGSL(gemmBuffers(v.vec4, v.cF32))}
${unitWGSL}
var<workgroup> As: array<vec4<${st}>, ${2 * TK * (T / 4)}>;
var<workgroup> Bs: array<vec4<${st}>, ${2 * TK * (T / 4)}>;

@compute @workgroup_size(${GEMM_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${gemmTileWGSL(T)}
  // Masks and a buffer offset of (tile & 1) · half: every workgroup-memory read index is within
  // the array by its known bits, so a compiler can drop the robustness clamp Tint puts on it.
  let tx = lid & 15u;
  let ty = (lid >> 4u) & 15u;
  ${accs.map((a) => `var ${a} = vec4<f32>(0.0);`).join(' ')}
  ${A.decl}
  ${B.decl}
  let kBegin = split * P.k_chunk;
  let kEnd = min(P.K, kBegin + P.k_chunk);
  if (kBegin < kEnd) {
    let kt = kBegin;
    let o = 0u;
    ${A.fetch}
    ${B.fetch}
    ${A.stash}
    ${B.stash}
  }
  workgroupBarrier();
  var t = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}u) {
    let kt = k0 + ${TK}u;
    let more = kt < kEnd;
    if (more) {
    ${A.fetch}
    ${B.fetch}
    }
    let ao = (t & 1u) * ${TK * (T / 4)}u + ty;
    let bo = (t & 1u) * ${TK * (T / 4)}u + tx;
    ${outer128(TK, v.math16)}
    t++;
    if (more) {
    let o = (t & 1u) * ${TK * (T / 4)}u;
    ${A.stash}
    ${B.stash}
    }
    workgroupBarrier();
  }
  let base = P.c_o + split * P.M * P.N;
  ${rows.map((r, i) => `store(base, m0 + ${r}, n0 + tx * 4u, ${acc128(i, 0)}); store(base, m0 + ${r}, n0 + 64u + tx * 4u, ${acc128(i, 1)});`).join('\n  ')}
}
${storeWGSL(v.cF32)}`;
}

/**
 * The compile-time variant of the 'cpu' GEMM. `subgroup` 0 is the kernel without subgroups, whose
 * `vec4` reads b as vec4 along n (b not transposed). Otherwise the subgroup kernel for that
 * subgroup size, whose `vec4` reads b as vec4 along its contiguous axis (n, or k where b is
 * transposed), `vec4A` reads a as vec4 along its contiguous axis (k, or m where transposed), and
 * `vec4C` writes c (and reads c and bias) as vec4 (see wgsl.ts gemmCpuVariant for when each holds).
 */
export interface GemmCpuVariant extends GemmVariant {
  subgroup: number;
  vec4A?: boolean;
  vec4C?: boolean;
}

/**
 * Bindings of the 'cpu' GEMM: act_t (c: f32 where `cF32`), or their vec4 where the variant reads
 * (writes) that operand by vec4.
 */
export function gemmCpuBuffers(v: GemmCpuVariant): Decl[] {
  const t = (vec4: boolean | undefined) => (vec4 ? 'act4_t' : 'act_t');
  const sg = v.subgroup > 0;
  const c4 = sg && v.vec4C;
  return [
    ['a', t(sg && v.vec4A), 'read'],
    ['b', t(v.vec4), 'read'],
    ['c', cTypes(v.cF32)[c4 ? 1 : 0], 'rw'],
    ['bias', t(c4), 'read'],
  ];
}

/** The GEMM for a software adapter (see the header): the subgroup kernel, or the kernel without. */
export function gemmCpuWGSL(v: GemmCpuVariant, act: WgslAct = 'f32'): string {
  return v.subgroup > 0 ? gemmCpuSubgroupWGSL(v, act) : gemmCpuPlainWGSL(v, act);
}

/**
 * The 'cpu' GEMM without subgroups. `vec4`: b is read as vec4 along n (b not transposed; N and
 * b's offset multiples of 4). Measured on lavapipe: reading a transposed b as vec4 along k (a
 * 4 × 4 block turned into column vectors) was 1.7× slower than four scalar loads.
 */
function gemmCpuPlainWGSL(v: GemmCpuVariant, act: WgslAct): string {
  const R = GEMM_CPU_ROWS;
  const rows = Array.from({ length: R }, (_, i) => i);
  const aAt = (i: number) =>
    v.transA ? `f32(a[P.a_o + k * P.M + r${i}])` : `f32(a[P.a_o + r${i} * P.K + k])`;
  const col = (j: number) => `min(n + ${j}u, P.N - 1u)`;
  const loadB = v.vec4
    ? 'vec4<f32>(b[(P.b_o + k * P.N + n) / 4u])'
    : v.transB
      ? `vec4<f32>(${[0, 1, 2, 3].map((j) => `f32(b[P.b_o + ${col(j)} * P.K + k])`).join(', ')})`
      : `vec4<f32>(${[0, 1, 2, 3].map((j) => `f32(b[P.b_o + k * P.N + ${col(j)}])`).join(', ')})`;
  const loop = `for (var k = 0u; k < P.K; k++) {
      let bv = ${loadB};
      ${rows.map((i) => `c${i} += ${aAt(i)} * bv;`).join('\n      ')}
    }`;
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(GEMM_FIELDS)}
${storageWGSL(gemmCpuBuffers(v))}
${unitWGSL}

@compute @workgroup_size(${GEMM_CPU_LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let unit = unit_of(wid, nwg);
  let tm = unit / P.tiles_n;
  let tn = unit - tm * P.tiles_n;
  let m0 = tm * ${R}u;
  if (m0 >= P.M) { return; }
  let n = tn * ${GEMM_CPU_COLS}u + lid * 4u;
  // Rows past M repeat the last row (uniform, in bounds) and are not stored.
  ${rows.map((i) => `let r${i} = min(m0 + ${i}u, P.M - 1u);`).join(' ')}
  ${rows.map((i) => `var c${i} = vec4<f32>(0.0);`).join(' ')}
  if (n < P.N) {
    ${loop}
  }
  ${rows.map((i) => `store(P.c_o, m0 + ${i}u, n, c${i});`).join('\n  ')}
}
${storeWGSL(v.cF32)}`;
}

/** The subgroup kernel's epilogue by vec4: c[m, n … n+3] = v (+ bias) (+ c); N a multiple of 4. */
function store4WGSL(cF32: boolean | undefined): string {
  return /* wgsl */ `
fn store4(m: u32, n: u32, v: vec4<f32>) {
  if (m >= P.M || n >= P.N) { return; }
  var o = v;
  if (P.has_bias != 0u) { o += vec4<f32>(bias[(P.bias_o + n) / 4u]); }
  let at = (P.c_o + m * P.N + n) / 4u;
  if (P.accumulate != 0u) { o += vec4<f32>(c[at]); }
  c[at] = ${cTypes(cF32)[1]}(o);
}
`;
}

/**
 * The 'cpu' GEMM with subgroups of S lanes (see the header). A workgroup of 16 lanes computes 16
 * rows × 64 columns of c, a lane the 16 rows × its 4 columns (sixteen vec4 accumulators). K is
 * walked in blocks of 4: for each S rows, each lane of a subgroup loads a different 4 of the S × 4
 * values of a (a vec4 where `vec4A`) and subgroupBroadcast hands every value to every lane, so a
 * is read once per subgroup instead of once per lane; each lane reads its 4 columns of b at the 4
 * k. The last, partial block clamps its indices and zeroes the values past K; every lane runs the
 * whole loop (columns past N are clamped, not branched around, so the loop stays uniform).
 */
function gemmCpuSubgroupWGSL(v: GemmCpuVariant, act: WgslAct): string {
  const S = v.subgroup;
  if (!GEMM_CPU_SUBGROUPS.includes(S))
    throw new RangeError(`gemmCpuWGSL: subgroup size ${S} is not one of ${GEMM_CPU_SUBGROUPS.join(', ')}`);
  const RM = GEMM_CPU_ROWS;
  const groups = Array.from({ length: RM / S }, (_, g) => g);
  const lanes = Array.from({ length: S }, (_, i) => i);
  const rows = Array.from({ length: RM }, (_, i) => i);
  const four = [0, 1, 2, 3];
  const Q = S / 4; // transposed vec4 a: quads of rows per S rows
  const b4k = v.vec4 && v.transB;
  const b4n = v.vec4 && !v.transB;
  // One block of 4 k; `tail`: k + kk may be ≥ K (indices clamped, values zeroed).
  const block = (tail: boolean): string => {
    const out: string[] = [];
    const kx = (kk: number) => (kk ? `(k + ${kk}u)` : 'k');
    const kc = (e: string) => (tail ? `min(${e}, P.K - 1u)` : e);
    // aAt[i](kk): row m0 + i at k + kk, from the broadcasts s<g>_<lane>.
    const aAt: ((kk: number) => string)[] = [];
    for (const g of groups) {
      const r0 = g * S;
      if (v.vec4A && !v.transA) {
        // lane s: row r0 + s, k … k+3 (K a multiple of 4: no tail).
        out.push(`let a${g} = vec4<f32>(a[(P.a_o + min(m0 + ${r0}u + sid, P.M - 1u) * P.K + k) / 4u]);`);
        for (const i of lanes) aAt[r0 + i] = (kk) => `s${g}_${i}[${kk}]`;
      } else if (v.vec4A) {
        // lane s: k + s / Q, rows r0 + 4 (s % Q) … + 3 (M a multiple of 4: a quad is all in or all out).
        const kq = `(k + sid / ${Q}u)`;
        let ld = `vec4<f32>(a[(P.a_o + ${kc(kq)} * P.M + min(m0 + ${r0}u + 4u * (sid % ${Q}u), P.M - 4u)) / 4u])`;
        if (tail) ld = `select(vec4<f32>(0.0), ${ld}, ${kq} < P.K)`;
        out.push(`let a${g} = ${ld};`);
        for (const i of lanes) aAt[r0 + i] = (kk) => `s${g}_${kk * Q + (i >> 2)}[${i & 3}]`;
      } else {
        // lane s: row r0 + s at k … k+3, four scalar loads.
        out.push(`let ra${g} = min(m0 + ${r0}u + sid, P.M - 1u);`);
        const one = (kk: number) => {
          const e = v.transA
            ? `f32(a[P.a_o + ${kc(kx(kk))} * P.M + ra${g}])`
            : `f32(a[P.a_o + ra${g} * P.K + ${kc(kx(kk))}])`;
          return tail ? `select(0.0, ${e}, ${kx(kk)} < P.K)` : e;
        };
        out.push(`let a${g} = vec4<f32>(${four.map(one).join(', ')});`);
        for (const i of lanes) aAt[r0 + i] = (kk) => `s${g}_${i}[${kk}]`;
      }
      out.push(...lanes.map((t) => `let s${g}_${t} = subgroupBroadcast(a${g}, ${t}u);`));
    }
    // b at k + kk of the lane's 4 columns: b_<kk>.
    if (b4k) {
      // transposed: one vec4 along k per column (K a multiple of 4: no tail).
      out.push(...four.map((j) => `let bt${j} = vec4<f32>(b[(P.b_o + q${j} * P.K + k) / 4u]);`));
      out.push(
        ...four.map((kk) => `let b_${kk} = vec4<f32>(bt0[${kk}], bt1[${kk}], bt2[${kk}], bt3[${kk}]);`),
      );
    } else {
      for (const kk of four) {
        const at = kc(kx(kk));
        let e = b4n
          ? `vec4<f32>(b[(P.b_o + ${at} * P.N + q) / 4u])`
          : `vec4<f32>(${four.map((j) => (v.transB ? `f32(b[P.b_o + q${j} * P.K + ${at}])` : `f32(b[P.b_o + ${at} * P.N + q${j}])`)).join(', ')})`;
        if (tail) e = `select(vec4<f32>(0.0), ${e}, ${kx(kk)} < P.K)`;
        out.push(`let b_${kk} = ${e};`);
      }
    }
    for (const kk of four) out.push(...rows.map((i) => `c${i} += ${aAt[i]?.(kk)} * b_${kk};`));
    return out.join('\n    ');
  };
  const tail = !((v.vec4A && !v.transA) || b4k);
  const cols = b4n
    ? 'let q = min(n, P.N - 4u);'
    : four.map((j) => `let q${j} = min(n + ${j}u, P.N - 1u);`).join(' ');
  return /* wgsl */ `${actHeaderWGSL(act, ['subgroups'])}
${paramsStructWGSL(GEMM_FIELDS)}
${storageWGSL(gemmCpuBuffers(v))}
${unitWGSL}

@compute @workgroup_size(${GEMM_CPU_LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let unit = unit_of(wid, nwg);
  let tm = unit / P.tiles_n;
  let tn = unit - tm * P.tiles_n;
  let m0 = tm * ${RM}u;
  if (m0 >= P.M) { return; }
  let n = tn * ${GEMM_CPU_COLS}u + lid * 4u;
  ${cols}
  ${rows.map((i) => `var c${i} = vec4<f32>(0.0);`).join(' ')}
  var k = 0u;
  for (; k + 3u < P.K; k += 4u) {
    ${block(false)}
  }
  ${
    tail
      ? `if (k < P.K) {
    ${block(true)}
  }`
      : ''
  }
  ${rows.map((i) => (v.vec4C ? `store4(m0 + ${i}u, n, c${i});` : `store(P.c_o, m0 + ${i}u, n, c${i});`)).join('\n  ')}
}
${v.vec4C ? store4WGSL(v.cF32) : storeWGSL(v.cF32)}`;
}

/**
 * c = (accumulate ? c : 0) + Σ_s part[s·M·N + i] + bias: an invocation per element of c; part is
 * f32, bias act_t, c act_t (f32 where `cF32`), summed in f32.
 */
export function splitKSumWGSL(act: WgslAct = 'f32', cF32 = false): string {
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(SPLITK_SUM_FIELDS)}
${storageWGSL(splitKSumBuffers(cF32))}
${unitWGSL}
@compute @workgroup_size(${SPLITK_SUM_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = unit_of(wid, nwg) * ${SPLITK_SUM_WORKGROUP}u + lid;
  let mn = P.M * P.N;
  if (i >= mn) { return; }
  var o = 0.0;
  for (var s = 0u; s < P.splits; s++) { o += part[P.part_o + s * mn + i]; }
  if (P.has_bias != 0u) { o += f32(bias[P.bias_o + i % P.N]); }
  if (P.accumulate != 0u) { o += f32(c[P.c_o + i]); }
  c[P.c_o + i] = ${cTypes(cF32)[0]}(o);
}
`;
}

/** db[n] += Σ_r dy[r, n], by chunks of rows (ops/common.wgsl.ts: the column-sum lanes); dy act_t, db f32. */
export function biasGradWGSL(act: WgslAct = 'f32'): string {
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(BIAS_GRAD_FIELDS)}
${storageWGSL(BIAS_GRAD_BUFFERS)}
${unitWGSL}
${atomicAddWGSL('db')}
${colLanesMeetWGSL(1)}
@compute @workgroup_size(${COLSUM_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let unit = unit_of(wid, nwg);
  let chunk = unit / P.col_blocks;
  let n = (unit - chunk * P.col_blocks) * ${COLSUM_COLS}u + lid % ${COLSUM_COLS}u;
  let r0 = chunk * P.chunk_rows;
  let live = n < P.N && r0 < P.R;
  var s: array<f32, 1>;
  if (live) {
    let r1 = min(P.R, r0 + P.chunk_rows);
    for (var r = r0 + lid / ${COLSUM_COLS}u; r < r1; r = r + ${COLSUM_LANES}u) { s[0] += f32(dy[P.dy_o + r * P.N + n]); }
  }
  let t = col_lanes_meet(lid, s);
  if (live && lid < ${COLSUM_COLS}u) { atomic_add_db(P.db_o + n, t[0]); }
}
`;
}
