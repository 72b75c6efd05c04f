/**
 * WGSL of the attention op in the 'cpu' layout (software adapters: lavapipe, SwiftShader, WARP;
 * src/wgsl/layout.ts): the same arguments, bindings, dropout bits and three-pass backward as the
 * tiled kernels of attention.wgsl.ts (reference.ts is the contract), laid out for a CPU. A
 * workgroup owns 32 rows (queries, or keys in the dK/dV pass) of one (sequence b, head h), an
 * invocation one row with its vectors in private memory; the other side is streamed through
 * workgroup memory in tiles of T rows (T from WebGPU's 16 KiB workgroup-memory minimum: 32 for
 * dh ≤ 60). A software adapter runs a workgroup as SIMD lanes of one CPU thread, where the tiled
 * kernels' register tiles and barriers cost 5× more (packages/kernels/BENCHMARKS.md).
 *
 * Left padding: a software adapter runs a branch's both sides under a lane mask, so a key that a
 * row skips with `continue` costs as much as one it attends. The loops therefore start where work
 * starts: the forward's and dQ's row i at min(i, the sequence's first real key) (tiles from the
 * workgroup's smallest such start), and the dK/dV pass's key j at query j, ending after it when
 * the key is padding (and the tile loop after the diagonal tile when every key of the workgroup
 * is). The skipped keys and queries are exactly those the loops `continue`d past, so the numbers
 * are those of the full loops (firstRealWGSL in attention.wgsl.ts).
 *
 * q, k, v, out, dOut, dq, dk, dv are stored as the kernels' `act_t` (f32, or f16 with
 * 'shader-f16'); rows in private and workgroup memory are f32, as is every sum.
 */
import type { ParamField } from '../../wgsl/program.js';
import type { Decl, WgslAct } from '../wgsl-view.js';
import {
  ATTN_DKV_BUFFERS,
  ATTN_DKV_FIELDS,
  ATTN_DQ_BUFFERS,
  ATTN_DQ_FIELDS,
  ATTN_FORWARD_BUFFERS,
  ATTN_FORWARD_FIELDS,
  attentionHead,
  FIRST_REAL_DECLS,
  firstRealWGSL,
  oneKeyWGSL,
} from './attention.wgsl.js';

/** Rows owned by a workgroup (one per invocation). */
export const ATTN_ROWS = 32;
/** Workgroup-memory bytes a kernel may use (WebGPU's guaranteed minimum). */
const WG_BYTES = 16384;

/** Rows of a streamed tile for head size dh (two [T, dh] tiles, two [T] vectors and FIRST_REAL_DECLS fit WG_BYTES). */
function rowsTile(dh: number): number {
  return Math.max(1, Math.min(32, Math.floor((WG_BYTES - 8) / (4 * (2 * dh + 2)))));
}

function rowsHead(
  f: readonly ParamField[],
  decls: readonly Decl[],
  dh: number,
  drop: boolean,
  act: WgslAct,
): string {
  return `${attentionHead(f, decls, dh, drop, act)}
const RW: u32 = ${ATTN_ROWS}u;
const T: u32 = ${rowsTile(dh)}u;
`;
}

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

/** The forward's and dQ's load of the key tile from key j0 on: K and V rows into Ks, Vs, padding flags into kpad. */
const KV_TILE = /* wgsl */ `    for (var x = lid; x < T * DH; x += RW) {
      let j = j0 + x / DH;
      var kx = 0.0;
      var vx = 0.0;
      if (j < P.L) {
        let o = (b * P.L + j) * P.stride + h * DH + x % DH;
        kx = f32(k[P.k_o + o]);
        vx = f32(v[P.v_o + o]);
      }
      Ks[x] = kx;
      Vs[x] = vx;
    }
    for (var x = lid; x < T; x += RW) {
      let j = j0 + x;
      kpad[x] = select(0u, 1u, j < P.L && ids[P.ids_o + b * P.L + j] == P.pad);
    }`;

/**
 * The forward's and dQ's start (after jEnd): firstReal, the first real key in [0, jEnd), and jLo,
 * row i's first key that may be allowed (keys before min(i, firstReal) are padding, not its diagonal).
 */
const KEY_START = /* wgsl */ `${firstRealWGSL('firstReal', '0u', 'jEnd', 'RW')}
  let jLo = min(i, firstReal);`;

export function attentionForwardRowsWGSL(dh: number, act: WgslAct = 'f32'): string {
  const T = rowsTile(dh);
  return /* wgsl */ `${rowsHead(ATTN_FORWARD_FIELDS, ATTN_FORWARD_BUFFERS, dh, true, act)}
var<workgroup> Ks: array<f32, ${T * dh}>;
var<workgroup> Vs: array<f32, ${T * dh}>;
var<workgroup> kpad: array<u32, ${T}>;
${FIRST_REAL_DECLS}

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
    for (var d = 0u; d < DH; d++) { qv[d] = f32(q[qo + d]); }
  }
  var m = -3.0e38;
  var l = 0.0;
  let jEnd = min(P.L, r0 + RW);
${KEY_START}
  for (var j0 = min(r0, firstReal); j0 < jEnd; j0 += T) {
${KV_TILE}
    workgroupBarrier();
    if (live) {
      for (var jj = select(0u, jLo - j0, jLo > j0); jj < T; jj++) {
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
    for (var d = 0u; d < DH; d++) { out[oo + d] = act_t(acc[d] * inv); }
  }
}
`;
}

export function attentionDkvRowsWGSL(dh: number, shared: boolean, act: WgslAct = 'f32'): string {
  const T = rowsTile(dh);
  const dv = shared ? 'dk' : 'dv';
  return /* wgsl */ `${rowsHead(ATTN_DKV_FIELDS, ATTN_DKV_BUFFERS, dh, true, act)}
var<workgroup> Qs: array<f32, ${T * dh}>;
var<workgroup> Gs: array<f32, ${T * dh}>;
var<workgroup> lseS: array<f32, ${T}>;
var<workgroup> deltaS: array<f32, ${T}>;
${FIRST_REAL_DECLS}

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
      kv[d] = f32(k[P.k_o + o + d]);
      vv[d] = f32(v[P.v_o + o + d]);
    }
    padded = ids[P.ids_o + b * P.L + j] == P.pad;
  }
  // Key j is attended by queries j … iHi − 1; none past the diagonal tile when the keys are all padding.
  let iHi = select(P.L, j + 1u, padded);
  let kEnd = min(P.L, r0 + RW);
${firstRealWGSL('firstReal', 'r0', 'kEnd', 'RW')}
  let iEnd = select(kEnd, P.L, firstReal < kEnd);${oneKeyWGSL(act, 'kEnd', 'RW')}
  for (var i0 = r0; i0 < iEnd; i0 += T) {
    for (var x = lid; x < T * DH; x += RW) {
      let i = i0 + x / DH;
      var qx = 0.0;
      var gx = 0.0;
      if (i < P.L) {
        qx = f32(q[P.q_o + (b * P.L + i) * P.stride + h * DH + x % DH]);
        gx = f32(dOut[P.dOut_o + (b * P.L + i) * D + h * DH + x % DH]);
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
      for (var ii = select(0u, j - i0, j > i0); ii < T; ii++) {
        let i = i0 + ii;
        if (i >= iHi) { break; }
        let mu = drop_mul((bh * P.L + i) * P.L + j);
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < DH; d++) {
          s += Qs[ii * DH + d] * kv[d];
          dp += Gs[ii * DH + d] * (mu * vv[d]);
        }
        let p = exp(P.scale * s - lseS[ii]);
        let ds = ${act === 'f16' ? 'select(0.0, p * (dp - deltaS[ii]), i > firstSeq)' : 'p * (dp - deltaS[ii])'};
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
      dk[P.dk_o + o + d] = act_t(dk_[d]);
      ${dv}[P.dv_o + o + d] = act_t(dv_[d]);
    }
  }
}
`;
}

export function attentionDqRowsWGSL(dh: number, act: WgslAct = 'f32'): string {
  const T = rowsTile(dh);
  return /* wgsl */ `${rowsHead(ATTN_DQ_FIELDS, ATTN_DQ_BUFFERS, dh, true, act)}
var<workgroup> Ks: array<f32, ${T * dh}>;
var<workgroup> Vs: array<f32, ${T * dh}>;
var<workgroup> kpad: array<u32, ${T}>;
${FIRST_REAL_DECLS}

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
      qv[d] = f32(q[P.q_o + qo + d]);
      gv[d] = f32(dOut[P.dOut_o + go + d]);
    }
    lse_i = lse[P.lse_o + row];
    delta_i = delta[P.delta_o + row];
  }
  let jEnd = min(P.L, r0 + RW);
${KEY_START}
  for (var j0 = min(r0, firstReal); j0 < jEnd; j0 += T) {
${KV_TILE}
    workgroupBarrier();
    if (live) {
      for (var jj = select(0u, jLo - j0, jLo > j0); jj < T; jj++) {
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
        let ds = ${act === 'f16' ? 'select(0.0, p * (dp - delta_i), i > firstReal)' : 'p * (dp - delta_i)'};
        for (var d = 0u; d < DH; d++) { dq_[d] += P.scale * ds * Ks[jj * DH + d]; }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let qo = (b * P.L + i) * P.stride + h * DH;
    for (var d = 0u; d < DH; d++) { dq[P.dq_o + qo + d] = act_t(dq_[d]); }
  }
}
`;
}
