/**
 * WGSL of the layer norm op (reference.ts is the contract; layernorm.cu the CUDA twin). D is a
 * compile-time constant (one pipeline per D and layout): on a GPU (layout 'gpu') a workgroup of
 * 64 invocations normalises a row, each invocation keeping its slots of the row in registers and
 * the sums reduced through workgroup memory; on a software adapter (layout 'cpu', wgsl/layout.ts)
 * an invocation normalises a whole row with no barrier, 8 rows per workgroup. W = 4 (D % 4 == 0)
 * gives each slot 4 consecutive elements (one Philox call for their dropout multipliers, as the CUDA kernel's
 * vector path), W = 1 one element. Every invocation reads and writes only its own elements of a
 * row, so in-place use (sum = x, dx = dSkip: variants that read/write the one binding) is safe.
 * x, a, sum, y, dy, s, dx, dSkip and da are stored as the kernel's `act_t` (f32, or f16 with
 * 'shader-f16'; as the CUDA kernels' `dtype`); gamma, beta, mean, rstd, dGamma and dBeta are f32.
 * The arithmetic is f32, rounded to act_t on store; a stored sum is rounded before the statistics
 * (as layernorm.cu), so y, mean and rstd are of the s the backward reads.
 *
 * - forward: s = x (+ a · mul(e)), mean and rstd of s, y = (s − mean)·rstd·gamma + beta (0 on
 *   masked rows), optional sum = s;
 * - backward, rows: dx = rstd·(dxh − mean(dxh) − xh·mean(dxh·xh)) (+ dSkip), da = dx · mul(e);
 * - backward, columns: dGamma += Σ dy·xh, dBeta += Σ dy over chunks of rows (the column-sum lanes
 *   of ops/common.wgsl.ts: CAS float adds of the chunk sums; one chunk, i.e. R ≤ 64, is deterministic).
 */
import { atomicAddWGSL } from '../../wgsl/common.wgsl.js';
import type { WgslLayout } from '../../wgsl/layout.js';
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import {
  COLSUM_COLS,
  COLSUM_LANES,
  COLSUM_WORKGROUP,
  colLanesMeetWGSL,
  dropoutCoreWGSL,
  dropoutFields,
  dropoutSiteWGSL,
  unitWGSL,
} from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

/** Invocations per row (layout 'gpu'). */
export const LN_WORKGROUP = 64;
/** Rows per workgroup, an invocation per row (layout 'cpu'). */
export const LN_CPU_ROWS = 8;

/** Invocations per workgroup of the row kernels. */
export function lnWorkgroupSize(layout: WgslLayout): number {
  return layout === 'cpu' ? LN_CPU_ROWS : LN_WORKGROUP;
}
/** Workgroups (units) of the row kernels for R rows. */
export function lnRowUnits(R: number, layout: WgslLayout): number {
  return layout === 'cpu' ? Math.ceil(R / LN_CPU_ROWS) : R;
}
/** Forward bindings; in place (sum = x), x is read_write and takes the sum (`sum` is unbound). */
export function lnForwardBuffers(inPlace: boolean): Decl[] {
  return [
    ['x', 'act_t', inPlace ? 'rw' : 'read'],
    ['a', 'act_t', 'read'],
    ['sum', 'act_t', inPlace ? 'read' : 'rw'],
    ['y', 'act_t', 'rw'],
    ['gamma', 'f32', 'read'],
    ['beta', 'f32', 'read'],
    ['mean', 'f32', 'rw'],
    ['rstd', 'f32', 'rw'],
    ['ids', 'i32', 'read'],
    ['step_ctr', 'u32', 'read'],
  ];
}
/** Backward (rows) bindings; in place (dx = dSkip), dSkip is read from dx (`dSkip` is unbound). */
export const LN_BACKWARD_BUFFERS: readonly Decl[] = [
  ['dy', 'act_t', 'read'],
  ['s', 'act_t', 'read'],
  ['gamma', 'f32', 'read'],
  ['mean', 'f32', 'read'],
  ['rstd', 'f32', 'read'],
  ['dx', 'act_t', 'rw'],
  ['dSkip', 'act_t', 'read'],
  ['da', 'act_t', 'rw'],
  ['ids', 'i32', 'read'],
  ['step_ctr', 'u32', 'read'],
];
export const LN_COLUMNS_BUFFERS: readonly Decl[] = [
  ['dy', 'act_t', 'read'],
  ['s', 'act_t', 'read'],
  ['mean', 'f32', 'read'],
  ['rstd', 'f32', 'read'],
  ['ids', 'i32', 'read'],
  ['dGamma', 'atomic<u32>', 'rw'],
  ['dBeta', 'atomic<u32>', 'rw'],
];

const FLAGS: ParamField[] = [
  ['R', 'u32'],
  ['eps', 'f32'],
  ['pad', 'i32'],
  ['has_a', 'u32'],
  ['has_sum', 'u32'],
  ['has_mask', 'u32'],
  ['has_skip', 'u32'],
  ['has_da', 'u32'],
];

export const LN_FORWARD_FIELDS: readonly ParamField[] = [
  ...FLAGS,
  ...offsetFields(lnForwardBuffers(false)),
  ...dropoutFields('drop'),
];
export const LN_BACKWARD_FIELDS: readonly ParamField[] = [
  ...FLAGS,
  ...offsetFields(LN_BACKWARD_BUFFERS),
  ...dropoutFields('drop'),
];
export const LN_COLUMNS_FIELDS: readonly ParamField[] = [
  ...FLAGS,
  ['D', 'u32'],
  ['col_blocks', 'u32'],
  ['chunk_rows', 'u32'],
  ...offsetFields(LN_COLUMNS_BUFFERS),
];

/** Elements per slot (W) and slots per invocation for hidden size D. */
export function lnLayout(D: number, layout: WgslLayout = 'gpu'): { W: number; slots: number } {
  const W = D % 4 === 0 ? 4 : 1;
  return { W, slots: Math.ceil(D / ((layout === 'cpu' ? 1 : LN_WORKGROUP) * W)) };
}

/** The row kernels' entry point up to `row` (the row) and `lid` (the invocation's slot in it). */
function rowEntry(layout: WgslLayout): string {
  const head = (wg: number) => `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {`;
  return layout === 'cpu'
    ? `${head(LN_CPU_ROWS)}
  let row = unit_of(wid, nwg) * ${LN_CPU_ROWS}u + li;
  let lid = 0u;`
    : `${head(LN_WORKGROUP)}
  let row = unit_of(wid, nwg);
  let lid = li;`;
}

/** Sum over the invocations of a row: through workgroup memory ('gpu'), or the value itself ('cpu'). */
function rowSumWGSL(layout: WgslLayout): string {
  if (layout === 'cpu') return 'fn wg_sum(v: f32, lid: u32) -> f32 { return v; }';
  return /* wgsl */ `var<workgroup> red: array<f32, ${LN_WORKGROUP}>;

// Sum of v over the workgroup (called by every invocation: uniform control flow).
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let t = red[0];
  workgroupBarrier();
  return t;
}`;
}

/**
 * `round_act(v)`: v rounded to act_t, as f32 (the value a store of v holds). Not f32(act_t(v)):
 * compilers fold that conversion pair back to v (Mesa's NIR does, lavapipe included, and
 * forwards a store to a later load the same way), so f16 rounds by integer ops: to nearest even
 * at 10 fraction bits, the subnormals' 2^-24 steps below 2^-14, ±inf from 65520 up.
 */
export function roundActWGSL(act: WgslAct): string {
  if (act === 'f32') return 'fn round_act(v: f32) -> f32 { return v; }';
  return /* wgsl */ `fn round_act(v: f32) -> f32 {
  let u = bitcast<u32>(v);
  let m = u & 0x7fffffffu;
  if (m > 0x7f800000u) { return v; }
  if (m >= 0x477ff000u) { return bitcast<f32>((u & 0x80000000u) | 0x7f800000u); }
  if (m < 0x38800000u) { return round(v * 16777216.0) * 5.9604644775390625e-8; }
  return bitcast<f32>((u + 0xfffu + ((u >> 13u) & 1u)) & 0xffffe000u);
}`;
}

function common(D: number, layout: WgslLayout, act: WgslAct): string {
  const { W, slots } = lnLayout(D, layout);
  return /* wgsl */ `
${dropoutCoreWGSL}
${dropoutSiteWGSL('drop')}
${unitWGSL}
const D: u32 = ${D}u;
const W: u32 = ${W}u;
const SLOTS: u32 = ${slots}u;
const WG: u32 = ${layout === 'cpu' ? 1 : LN_WORKGROUP}u;
${rowSumWGSL(layout)}
${roundActWGSL(act)}

// Dropout multipliers of the W elements from flat index e (e % 4 == 0 when W == 4).
fn muls(e: u32) -> vec4<f32> {
  if (W == 4u) { return drop_mul4(e >> 2u); }
  return vec4<f32>(drop_mul(e), 1.0, 1.0, 1.0);
}
`;
}

export function layerNormForwardWGSL(
  D: number,
  inPlace: boolean,
  layout: WgslLayout = 'gpu',
  act: WgslAct = 'f32',
): string {
  const { W, slots } = lnLayout(D, layout);
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(LN_FORWARD_FIELDS)}
${storageWGSL(lnForwardBuffers(inPlace))}
${common(D, layout, act)}
${rowEntry(layout)}
  if (row >= P.R) { return; }
  let base = row * D;
  var v: array<f32, ${slots * W}>;
  var acc = 0.0;
  for (var k = 0u; k < SLOTS; k++) {
    let d0 = (lid + WG * k) * W;
    if (d0 >= D) { break; }
    var m = vec4<f32>(1.0);
    if (P.has_a != 0u) { m = muls(base + d0); }
    for (var j = 0u; j < W; j++) {
      var s = f32(x[P.x_o + base + d0 + j]);
      if (P.has_a != 0u) { s += f32(a[P.a_o + base + d0 + j]) * m[j]; }
      // A stored sum is normalised as stored (a layer norm recomputed from it is the same).
      if (P.has_sum != 0u) { s = round_act(s); }
      v[k * W + j] = s;
      acc += s;
    }
  }
  let mu = wg_sum(acc, lid) / f32(D);
  var acc2 = 0.0;
  for (var k = 0u; k < SLOTS; k++) {
    let d0 = (lid + WG * k) * W;
    if (d0 >= D) { break; }
    for (var j = 0u; j < W; j++) {
      let c = v[k * W + j] - mu;
      acc2 += c * c;
    }
  }
  let rs = 1.0 / sqrt(wg_sum(acc2, lid) / f32(D) + P.eps);
  if (lid == 0u) {
    mean[P.mean_o + row] = mu;
    rstd[P.rstd_o + row] = rs;
  }
  let masked = P.has_mask != 0u && ids[P.ids_o + row] == P.pad;
  for (var k = 0u; k < SLOTS; k++) {
    let d0 = (lid + WG * k) * W;
    if (d0 >= D) { break; }
    for (var j = 0u; j < W; j++) {
      let d = d0 + j;
      let s = v[k * W + j];
      if (P.has_sum != 0u) { ${inPlace ? 'x[P.x_o' : 'sum[P.sum_o'} + base + d] = act_t(s); }
      var o = 0.0;
      if (!masked) { o = (s - mu) * rs * gamma[P.gamma_o + d] + beta[P.beta_o + d]; }
      y[P.y_o + base + d] = act_t(o);
    }
  }
}
`;
}

export function layerNormBackwardWGSL(
  D: number,
  inPlace: boolean,
  layout: WgslLayout = 'gpu',
  act: WgslAct = 'f32',
): string {
  const n = lnLayout(D, layout).slots * lnLayout(D, layout).W;
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(LN_BACKWARD_FIELDS)}
${storageWGSL(LN_BACKWARD_BUFFERS)}
${common(D, layout, act)}
${rowEntry(layout)}
  if (row >= P.R) { return; }
  let base = row * D;
  let masked = P.has_mask != 0u && ids[P.ids_o + row] == P.pad;
  let mu = mean[P.mean_o + row];
  let rs = rstd[P.rstd_o + row];
  var xh: array<f32, ${n}>;
  var gx: array<f32, ${n}>;
  var s1 = 0.0;
  var s2 = 0.0;
  for (var k = 0u; k < SLOTS; k++) {
    let d0 = (lid + WG * k) * W;
    if (d0 >= D || masked) { break; }
    for (var j = 0u; j < W; j++) {
      let d = d0 + j;
      let h = (f32(s[P.s_o + base + d]) - mu) * rs;
      let g = f32(dy[P.dy_o + base + d]) * gamma[P.gamma_o + d];
      xh[k * W + j] = h;
      gx[k * W + j] = g;
      s1 += g;
      s2 += g * h;
    }
  }
  let m1 = wg_sum(s1, lid) / f32(D);
  let m2 = wg_sum(s2, lid) / f32(D);
  for (var k = 0u; k < SLOTS; k++) {
    let d0 = (lid + WG * k) * W;
    if (d0 >= D) { break; }
    var m = vec4<f32>(1.0);
    if (P.has_da != 0u) { m = muls(base + d0); }
    for (var j = 0u; j < W; j++) {
      let e = base + d0 + j;
      var o = 0.0;
      if (!masked) { o = rs * (gx[k * W + j] - m1 - xh[k * W + j] * m2); }
      if (P.has_skip != 0u) { o += f32(${inPlace ? 'dx[P.dx_o' : 'dSkip[P.dSkip_o'} + e]); }
      if (P.has_da != 0u) { da[P.da_o + e] = act_t(o * m[j]); }
      dx[P.dx_o + e] = act_t(o);
    }
  }
}
`;
}

export function layerNormColumnsWGSL(act: WgslAct = 'f32'): string {
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(LN_COLUMNS_FIELDS)}
${storageWGSL(LN_COLUMNS_BUFFERS)}
${unitWGSL}
${atomicAddWGSL('dGamma')}
${atomicAddWGSL('dBeta')}
${colLanesMeetWGSL(2)}
@compute @workgroup_size(${COLSUM_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let unit = unit_of(wid, nwg);
  let chunk = unit / P.col_blocks;
  let d = (unit - chunk * P.col_blocks) * ${COLSUM_COLS}u + lid % ${COLSUM_COLS}u;
  let r0 = chunk * P.chunk_rows;
  let live = d < P.D && r0 < P.R;
  var p: array<f32, 2>; // Σ dy·xh, Σ dy
  if (live) {
    let r1 = min(P.R, r0 + P.chunk_rows);
    for (var r = r0 + lid / ${COLSUM_COLS}u; r < r1; r = r + ${COLSUM_LANES}u) {
      if (P.has_mask != 0u && ids[P.ids_o + r] == P.pad) { continue; }
      let g = f32(dy[P.dy_o + r * P.D + d]);
      p[0] += g * (f32(s[P.s_o + r * P.D + d]) - mean[P.mean_o + r]) * rstd[P.rstd_o + r];
      p[1] += g;
    }
  }
  let t = col_lanes_meet(lid, p);
  if (live && lid < ${COLSUM_COLS}u) {
    atomic_add_dGamma(P.dGamma_o + d, t[0]);
    atomic_add_dBeta(P.dBeta_o + d, t[1]);
  }
}
`;
}
