/**
 * WGSL of the share 'row' kernels for a software adapter (layout 'cpu') with subgroups of S lanes
 * (4, 8 or 16): a workgroup is one subgroup and owns one row; no workgroup memory, no barrier.
 * llvmpipe runs a subgroup as one SIMD fiber, and a load whose address differs across lanes, or
 * is the same for all lanes but not provably so, is a loop over the lanes; so every value here is
 * loaded by one lane and shared by subgroupBroadcast where more lanes need it.
 * - Logits (both kernels): lane t draws negative j0 + t of the row; the row of H is loaded S vec4
 *   at a time, lane s the s-th, and broadcast, so H is read once per S negatives; each lane reads
 *   its negative's row of W by vec4.
 * - lse: an online (max, sum) per lane over its negatives, merged over the subgroup at the end
 *   (subgroupMax, subgroupAdd) and into the state of earlier item chunks (lse[r], loss[r]).
 * - grad: after the S logits, g_t = dLoss·exp(s_t − lse) in lane t; then the lanes split D (lane s
 *   owns vec4 columns s, s + S, …), and for each of the S negatives (its item and g_t broadcast)
 *   add g_t·w_t to their dHidden columns in registers and g_t·h to dItems by CAS atomics; dHidden
 *   is added to once per S negatives (the row is this workgroup's alone).
 * Same work (one row per workgroup), draws and masking as row.wgsl.ts; sums in another order.
 * hidden and items are `act_t` (f32, or f16), loaded into f32; the outputs are f32.
 */
import { actHeaderWGSL } from '../ops/wgsl-view.js';
import { actDecls, atomicAddWGSL, NEG_SENTINEL, preludeWGSL, scalarRowLoadWGSL } from './common.wgsl.js';
import { CPU_SUBGROUP_SIZES } from './layout.js';
import { negativesWGSL, negBindingCount } from './negatives.js';
import { BACKWARD_ROW_BINDINGS, bindingsWGSL, FORWARD_ROW_BINDINGS } from './program.js';
import type { RowShaderConfig } from './row.wgsl.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);

/** ld_h / ld_w: 4 values of a row of hidden / items from element `row + d` (d a multiple of 4), zero past D. */
function loadsWGSL(vec4: boolean): string {
  const one = (name: string, arr: string) =>
    vec4
      ? `fn ld_${name}(row: u32, d: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), vec4<f32>(${arr}4[(row + min(d, P.dim - 4u)) / 4u]), d < P.dim);
}`
      : scalarRowLoadWGSL(name, arr);
  return `${one('h', 'hidden')}
${one('w', 'items')}`;
}

/** `neg_of`: negative j of row r (chunk-local item, whether it takes part, its correction); `lane_logit`. */
function commonWGSL(c: RowShaderConfig, S: number): string {
  const hit = c.removeHits ? ' && i32(dr.item) != y' : '';
  return `
const S = ${S}u;
const NEG = ${NEG_SENTINEL};

struct Neg {
  li: u32,
  ok: bool,
  corr: f32,
}

// Negative j of row r with target y: its chunk-local item (0 when none), whether it takes part
// (j < K, in this item chunk, not the target), and its logit correction.
fn neg_of(r: u32, y: i32, j: u32) -> Neg {
  let dr = neg_draw(P.row_base + r, min(j, P.k - 1u));
  let ok = j < P.k && y != P.ignore_index && dr.item >= P.item_base && dr.item < P.item_base + P.n_items${hit};
  return Neg(select(0u, dr.item - P.item_base, ok), ok, select(0.0, dr.corr, ok));
}

${loadsWGSL(c.vec4)}

// h_r · w over D, where lane s holds w's row (start wrow) and the row of H (start hrow) is
// loaded S vec4 at a time, one per lane, and broadcast.
fn lane_dot(hrow: u32, wrow: u32, sid: u32) -> f32 {
  var a = 0.0;
  for (var d0 = 0u; d0 < P.dim; d0 = d0 + ${4 * S}u) {
    let hl = ld_h(hrow, d0 + 4u * sid);
    ${ids(S)
      .map((t) => `a = a + dot(subgroupBroadcast(hl, ${t}u), ld_w(wrow, d0 + ${4 * t}u));`)
      .join('\n    ')}
  }
  return a;
}
`;
}

function lseWGSL(): string {
  return `
@compute @workgroup_size(S)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let r = unit_id(wid);
  if (r >= P.n_units) {
    return;
  }
  let y = targets[r];
  let hrow = r * P.dim;
  // An ignored row keeps the empty state (its loop runs no negative).
  let k = select(P.k, 0u, y == P.ignore_index);
  var m = NEG;
  var s = 0.0;
  for (var j0 = 0u; j0 < k; j0 = j0 + S) {
    let n = neg_of(r, y, j0 + sid);
    let x = select(NEG, lane_dot(hrow, n.li * P.dim, sid) - n.corr, n.ok);
    let bm = max(m, x);
    s = s * exp(m - bm) + select(0.0, exp(x - bm), n.ok);
    m = bm;
  }
  let mm = subgroupMax(m);
  let ss = subgroupAdd(s * exp(m - mm));
  if (sid == 0u) {
    var st = vec2<f32>(mm, ss);
    if (P.first == 0u) {
      st = lse_merge(vec2<f32>(lse[r], loss[r]), st);
    }
    lse[r] = st.x;
    loss[r] = st.y;
  }
}
`;
}

function gradWGSL(S: number): string {
  const t = ids(S);
  return `${atomicAddWGSL('d_items')}
@compute @workgroup_size(S)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let r = unit_id(wid);
  if (r >= P.n_units) {
    return;
  }
  let y = targets[r];
  let dl = dloss[r];
  if (y == P.ignore_index || dl == 0.0) {
    return;
  }
  let lse_r = lse[r];
  let hrow = r * P.dim;
  for (var j0 = 0u; j0 < P.k; j0 = j0 + S) {
    let n = neg_of(r, y, j0 + sid);
    let wrow = n.li * P.dim;
    let g = select(0.0, dl * exp(lane_dot(hrow, wrow, sid) - n.corr - lse_r), n.ok);
    ${t.map((i) => `let w${i} = subgroupBroadcast(wrow, ${i}u);`).join('\n    ')}
    ${t.map((i) => `let g${i} = subgroupBroadcast(g, ${i}u);`).join('\n    ')}
    // Lane s: columns d = d0 + 4s, 4 at a time.
    for (var d0 = 0u; d0 < P.dim; d0 = d0 + ${4 * S}u) {
      let d = d0 + 4u * sid;
      let h = ld_h(hrow, d);
      var o = vec4<f32>(0.0);
      ${t
        .map(
          (i) => `if (g${i} != 0.0) {
        o = o + g${i} * ld_w(w${i}, d);
        add_item_row(w${i} + d, g${i} * h);
      }`,
        )
        .join('\n      ')}
      for (var e = 0u; e < 4u; e = e + 1u) {
        if (d + e < P.dim) {
          d_hidden[hrow + d + e] = d_hidden[hrow + d + e] + o[e];
        }
      }
    }
  }
}

// dItems[at + e] += v[e] for the components inside D (lane-owned columns: at is row start + d).
fn add_item_row(at: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e = e + 1u) {
    if (v[e] != 0.0) {
      atomic_add_d_items(at + e, v[e]);
    }
  }
}
`;
}

/** The 'cpu' row kernel's WGSL for subgroups of S lanes (the workgroup size). */
export function rowCpuWGSL(c: RowShaderConfig, S: number): string {
  if (!CPU_SUBGROUP_SIZES.includes(S))
    throw new RangeError(`rowCpuWGSL: subgroup size ${S} is not one of ${CPU_SUBGROUP_SIZES.join(', ')}`);
  const own = actDecls(c.backward ? BACKWARD_ROW_BINDINGS : FORWARD_ROW_BINDINGS);
  const nb = own.length + 1;
  const v4 = nb + negBindingCount(c.neg);
  const vec4Decls = c.vec4
    ? `@group(0) @binding(${v4}) var<storage, read> hidden4: array<act4_t>;
@group(0) @binding(${v4 + 1}) var<storage, read> items4: array<act4_t>;`
    : '';
  return `${actHeaderWGSL(c.act ?? 'f32', ['subgroups'])}${preludeWGSL()}
${bindingsWGSL(own)}
${negativesWGSL(c.neg, nb)}
${vec4Decls}
${commonWGSL(c, S)}
${c.backward ? gradWGSL(S) : lseWGSL()}`;
}
