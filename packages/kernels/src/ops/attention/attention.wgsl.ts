/**
 * WGSL of the attention op (reference.ts is the contract; attention.cu the CUDA twin, same
 * arguments and the same three-pass backward with no atomics). DH (the head size) is a
 * compile-time constant. A workgroup owns 32 rows (queries, or keys in the dK/dV pass) of one
 * (sequence b, head h), an invocation one row with its vectors in registers; the other side is
 * streamed through workgroup memory in tiles of T rows (T from the 16 KiB workgroup-memory
 * minimum: 32 for dh ≤ 60). No [L, L] tensor exists.
 *
 * - forward: online softmax over the allowed keys j ≤ i (key padding; the diagonal always
 *   allowed): running max m, sum l of exp(s − m), acc = Σ exp(s − m)·mul(e_ij)·v_j; out = acc / l,
 *   lse = m + log l. Dropout acts on the probabilities (e_ij = ((b·H + h)·L + i)·L + j).
 * - backward: delta_i = dO_i · out_i; then per key row j: dv_j = Σ_i p·mul·dO_i, dk_j = scale ·
 *   Σ_i dS_ij q_i; then per query row i: dq_i = scale · Σ_j dS_ij k_j, dS = p·(dP_ij − delta_i) with
 *   dP_ij = Σ_d dO_i,d·(mul·v_j,d), the same products the forward's out = Σ p·mul·v rounds: a query
 *   with one allowed key (p = 1) then gets dS = 0 exactly, as the tfjs engine does, instead of
 *   rounding noise that Adam's first step would turn into ±lr moves of q/k weights.
 */
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { dropoutCoreWGSL, dropoutFields, dropoutSiteWGSL, unitWGSL } from '../common.wgsl.js';
import { type Decl, offsetFields, storageWGSL } from '../wgsl-view.js';

/** Rows owned by a workgroup (one per invocation). */
export const ATTN_ROWS = 32;
/** Workgroup-memory bytes a kernel may use (WebGPU's guaranteed minimum). */
const WG_BYTES = 16384;

/** Rows of a streamed tile for head size dh (two [T, dh] tiles and two [T] vectors fit WG_BYTES). */
export function attentionTile(dh: number): number {
  return Math.max(1, Math.min(32, Math.floor(WG_BYTES / (4 * (2 * dh + 2)))));
}

const SHAPE: ParamField[] = [
  ['B', 'u32'],
  ['L', 'u32'],
  ['H', 'u32'],
  ['stride', 'u32'],
  ['pad', 'i32'],
  ['scale', 'f32'],
];

export const ATTN_FORWARD_BUFFERS: readonly Decl[] = [
  ['q', 'f32', 'read'],
  ['k', 'f32', 'read'],
  ['v', 'f32', 'read'],
  ['ids', 'i32', 'read'],
  ['out', 'f32', 'rw'],
  ['lse', 'f32', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const ATTN_DELTA_BUFFERS: readonly Decl[] = [
  ['out', 'f32', 'read'],
  ['dOut', 'f32', 'read'],
  ['delta', 'f32', 'rw'],
];
/** dK/dV pass; with `shared`, dv is written through the dk binding (dk and dv in one buffer). */
export const ATTN_DKV_BUFFERS: readonly Decl[] = [
  ['q', 'f32', 'read'],
  ['k', 'f32', 'read'],
  ['v', 'f32', 'read'],
  ['ids', 'i32', 'read'],
  ['dOut', 'f32', 'read'],
  ['lse', 'f32', 'read'],
  ['delta', 'f32', 'read'],
  ['dk', 'f32', 'rw'],
  ['dv', 'f32', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const ATTN_DQ_BUFFERS: readonly Decl[] = [
  ['q', 'f32', 'read'],
  ['k', 'f32', 'read'],
  ['v', 'f32', 'read'],
  ['ids', 'i32', 'read'],
  ['dOut', 'f32', 'read'],
  ['lse', 'f32', 'read'],
  ['delta', 'f32', 'read'],
  ['dq', 'f32', 'rw'],
  ['step_ctr', 'u32', 'read'],
];

const fields = (decls: readonly Decl[], drop: boolean): ParamField[] => [
  ...SHAPE,
  ...offsetFields(decls),
  ...(drop ? dropoutFields('drop') : []),
];
export const ATTN_FORWARD_FIELDS = fields(ATTN_FORWARD_BUFFERS, true);
export const ATTN_DELTA_FIELDS = fields(ATTN_DELTA_BUFFERS, false);
export const ATTN_DKV_FIELDS = fields(ATTN_DKV_BUFFERS, true);
export const ATTN_DQ_FIELDS = fields(ATTN_DQ_BUFFERS, true);

function head(f: readonly ParamField[], decls: readonly Decl[], dh: number, drop: boolean): string {
  const T = attentionTile(dh);
  return `${paramsStructWGSL(f)}
${storageWGSL(decls)}
${drop ? `${dropoutCoreWGSL}\n${dropoutSiteWGSL('drop')}` : ''}
${unitWGSL}
const DH: u32 = ${dh}u;
const RW: u32 = ${ATTN_ROWS}u;
const T: u32 = ${T}u;
`;
}

/** (b, h, first row) of the workgroup; `ok` false past the last (b, h). */
const TILE_OF = /* wgsl */ `
  let unit = unit_of(wid, nwg);
  let tiles = (P.L + RW - 1u) / RW;
  let bh = unit / tiles;
  if (bh >= P.B * P.H) { return; }
  let b = bh / P.H;
  let h = bh - b * P.H;
  let r0 = (unit - bh * tiles) * RW;
  let D = P.H * DH;
`;

export function attentionForwardWGSL(dh: number): string {
  return /* wgsl */ `${head(ATTN_FORWARD_FIELDS, ATTN_FORWARD_BUFFERS, dh, true)}
var<workgroup> Ks: array<f32, ${attentionTile(dh) * dh}>;
var<workgroup> Vs: array<f32, ${attentionTile(dh) * dh}>;
var<workgroup> kpad: array<u32, ${attentionTile(dh)}>;

@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${TILE_OF}
  let i = r0 + lid;
  let live = i < P.L;
  let row = bh * P.L + i;
  var qv: array<f32, ${dh}>;
  var acc: array<f32, ${dh}>;
  if (live) {
    let qo = P.q_o + (b * P.L + i) * P.stride + h * DH;
    for (var d = 0u; d < DH; d++) { qv[d] = q[qo + d]; }
  }
  var m = -3.0e38;
  var l = 0.0;
  let jEnd = min(P.L, r0 + RW);
  for (var j0 = 0u; j0 < jEnd; j0 += T) {
    for (var x = lid; x < T * DH; x += RW) {
      let j = j0 + x / DH;
      var kv = 0.0;
      var vv = 0.0;
      if (j < P.L) {
        let o = (b * P.L + j) * P.stride + h * DH + x % DH;
        kv = k[P.k_o + o];
        vv = v[P.v_o + o];
      }
      Ks[x] = kv;
      Vs[x] = vv;
    }
    for (var x = lid; x < T; x += RW) {
      let j = j0 + x;
      kpad[x] = select(0u, 1u, j < P.L && ids[P.ids_o + b * P.L + j] == P.pad);
    }
    workgroupBarrier();
    if (live) {
      for (var jj = 0u; jj < T; jj++) {
        let j = j0 + jj;
        if (j > i) { break; }
        if (j != i && kpad[jj] != 0u) { continue; }
        var s = 0.0;
        for (var d = 0u; d < DH; d++) { s += qv[d] * Ks[jj * DH + d]; }
        s *= P.scale;
        let mn = max(m, s);
        let corr = exp(m - mn);
        let pe = exp(s - mn);
        l = l * corr + pe;
        let pm = pe * drop_mul(row * P.L + j);
        for (var d = 0u; d < DH; d++) { acc[d] = acc[d] * corr + pm * Vs[jj * DH + d]; }
        m = mn;
      }
    }
    workgroupBarrier();
  }
  if (live) {
    lse[P.lse_o + row] = m + log(l);
    let oo = P.out_o + (b * P.L + i) * D + h * DH;
    let inv = 1.0 / l;
    for (var d = 0u; d < DH; d++) { out[oo + d] = acc[d] * inv; }
  }
}
`;
}

export function attentionDeltaWGSL(dh: number): string {
  return /* wgsl */ `${head(ATTN_DELTA_FIELDS, ATTN_DELTA_BUFFERS, dh, false)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = unit_of(wid, nwg) * 64u + lid;
  if (row >= P.B * P.H * P.L) { return; }
  let bh = row / P.L;
  let i = row - bh * P.L;
  let b = bh / P.H;
  let h = bh - b * P.H;
  let o = (b * P.L + i) * P.H * DH + h * DH;
  var s = 0.0;
  for (var d = 0u; d < DH; d++) { s += dOut[P.dOut_o + o + d] * out[P.out_o + o + d]; }
  delta[P.delta_o + row] = s;
}
`;
}

export function attentionDkvWGSL(dh: number, shared: boolean): string {
  const T = attentionTile(dh);
  const dv = shared ? 'dk' : 'dv';
  return /* wgsl */ `${head(ATTN_DKV_FIELDS, ATTN_DKV_BUFFERS, dh, true)}
var<workgroup> Qs: array<f32, ${T * dh}>;
var<workgroup> Gs: array<f32, ${T * dh}>;
var<workgroup> lseS: array<f32, ${T}>;
var<workgroup> deltaS: array<f32, ${T}>;

@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${TILE_OF}
  let j = r0 + lid;
  let live = j < P.L;
  var kv: array<f32, ${dh}>;
  var vv: array<f32, ${dh}>;
  var dk_: array<f32, ${dh}>;
  var dv_: array<f32, ${dh}>;
  var padded = false;
  if (live) {
    let o = (b * P.L + j) * P.stride + h * DH;
    for (var d = 0u; d < DH; d++) {
      kv[d] = k[P.k_o + o + d];
      vv[d] = v[P.v_o + o + d];
    }
    padded = ids[P.ids_o + b * P.L + j] == P.pad;
  }
  for (var i0 = r0; i0 < P.L; i0 += T) {
    for (var x = lid; x < T * DH; x += RW) {
      let i = i0 + x / DH;
      var qx = 0.0;
      var gx = 0.0;
      if (i < P.L) {
        qx = q[P.q_o + (b * P.L + i) * P.stride + h * DH + x % DH];
        gx = dOut[P.dOut_o + (b * P.L + i) * D + h * DH + x % DH];
      }
      Qs[x] = qx;
      Gs[x] = gx;
    }
    for (var x = lid; x < T; x += RW) {
      let i = i0 + x;
      var a = 0.0;
      var c = 0.0;
      if (i < P.L) {
        a = lse[P.lse_o + bh * P.L + i];
        c = delta[P.delta_o + bh * P.L + i];
      }
      lseS[x] = a;
      deltaS[x] = c;
    }
    workgroupBarrier();
    if (live) {
      for (var ii = 0u; ii < T; ii++) {
        let i = i0 + ii;
        if (i >= P.L) { break; }
        if (i < j || (i != j && padded)) { continue; }
        let mu = drop_mul((bh * P.L + i) * P.L + j);
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < DH; d++) {
          s += Qs[ii * DH + d] * kv[d];
          dp += Gs[ii * DH + d] * (mu * vv[d]);
        }
        let p = exp(P.scale * s - lseS[ii]);
        let ds = p * (dp - deltaS[ii]);
        let pm = p * mu;
        for (var d = 0u; d < DH; d++) {
          dv_[d] += pm * Gs[ii * DH + d];
          dk_[d] += P.scale * ds * Qs[ii * DH + d];
        }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let o = (b * P.L + j) * P.stride + h * DH;
    for (var d = 0u; d < DH; d++) {
      dk[P.dk_o + o + d] = dk_[d];
      ${dv}[P.dv_o + o + d] = dv_[d];
    }
  }
}
`;
}

export function attentionDqWGSL(dh: number): string {
  const T = attentionTile(dh);
  return /* wgsl */ `${head(ATTN_DQ_FIELDS, ATTN_DQ_BUFFERS, dh, true)}
var<workgroup> Ks: array<f32, ${T * dh}>;
var<workgroup> Vs: array<f32, ${T * dh}>;
var<workgroup> kpad: array<u32, ${T}>;

@compute @workgroup_size(${ATTN_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${TILE_OF}
  let i = r0 + lid;
  let live = i < P.L;
  let row = bh * P.L + i;
  var qv: array<f32, ${dh}>;
  var gv: array<f32, ${dh}>;
  var dq_: array<f32, ${dh}>;
  var lse_i = 0.0;
  var delta_i = 0.0;
  if (live) {
    let qo = (b * P.L + i) * P.stride + h * DH;
    let go = (b * P.L + i) * D + h * DH;
    for (var d = 0u; d < DH; d++) {
      qv[d] = q[P.q_o + qo + d];
      gv[d] = dOut[P.dOut_o + go + d];
    }
    lse_i = lse[P.lse_o + row];
    delta_i = delta[P.delta_o + row];
  }
  let jEnd = min(P.L, r0 + RW);
  for (var j0 = 0u; j0 < jEnd; j0 += T) {
    for (var x = lid; x < T * DH; x += RW) {
      let j = j0 + x / DH;
      var kx = 0.0;
      var vx = 0.0;
      if (j < P.L) {
        let o = (b * P.L + j) * P.stride + h * DH + x % DH;
        kx = k[P.k_o + o];
        vx = v[P.v_o + o];
      }
      Ks[x] = kx;
      Vs[x] = vx;
    }
    for (var x = lid; x < T; x += RW) {
      let j = j0 + x;
      kpad[x] = select(0u, 1u, j < P.L && ids[P.ids_o + b * P.L + j] == P.pad);
    }
    workgroupBarrier();
    if (live) {
      for (var jj = 0u; jj < T; jj++) {
        let j = j0 + jj;
        if (j > i) { break; }
        if (j != i && kpad[jj] != 0u) { continue; }
        let mu = drop_mul(row * P.L + j);
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < DH; d++) {
          s += qv[d] * Ks[jj * DH + d];
          dp += gv[d] * (mu * Vs[jj * DH + d]);
        }
        let p = exp(P.scale * s - lse_i);
        let ds = p * (dp - delta_i);
        for (var d = 0u; d < DH; d++) { dq_[d] += P.scale * ds * Ks[jj * DH + d]; }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let qo = (b * P.L + i) * P.stride + h * DH;
    for (var d = 0u; d < DH; d++) { dq[P.dq_o + qo + d] = dq_[d]; }
  }
}
`;
}
