/**
 * WGSL of the share 'row' kernels: one workgroup of 64 threads per row, each row with its own K
 * negatives regenerated from the sampler (software adapters with subgroups: row-cpu.wgsl.ts).
 * - lse: thread t takes negatives t, t+64, …; computes each logit as a dot over D and pushes it
 *   into its online (max, sum); the workgroup merges the 64 states and merges that into the state
 *   of earlier item chunks (kept in lse[r], loss[r]).
 * - grad: 64 negatives at a time, thread t computes g_j = dLoss·exp(s_j − lse) into workgroup
 *   memory; then the threads split D (coalesced) and add Σ_j g_j·w_j into dHidden (the row is this
 *   workgroup's alone) and g_j·h into dItems by CAS atomics.
 * hidden and items are stored as `act_t` (f32, or f16 with `act: 'f16'`) and loaded into f32;
 * everything the kernels write (lse, loss, dHidden, dItems) is f32.
 */
import { actHeaderWGSL, type WgslAct } from '../ops/wgsl-view.js';
import { actDecls, atomicAddWGSL, preludeWGSL } from './common.wgsl.js';
import { type NegConfig, negativesWGSL, negBindingCount } from './negatives.js';
import { BACKWARD_ROW_BINDINGS, bindingsWGSL, FORWARD_ROW_BINDINGS } from './program.js';

export interface RowShaderConfig {
  neg: NegConfig;
  removeHits: boolean;
  backward: boolean;
  /** D % 4 = 0: logits read hidden and items as vec4 (two more read-only bindings of the same buffers, after the sampler's). */
  vec4: boolean;
  /** Layout 'cpu' with subgroups of this size (row-cpu.wgsl.ts); 0 or absent: the workgroup-memory kernel below. */
  subgroup?: number;
  /** Storage of hidden and items (default 'f32'; 'f16' needs 'shader-f16'). */
  act?: WgslAct;
}

export const ROW_WG = 64;

function drawAndDot(c: RowShaderConfig): string {
  const hit = c.removeHits ? ' || i32(dr.item) == y' : '';
  const dot = c.vec4
    ? `let q4 = P.dim / 4u;
  for (var q = 0u; q < q4; q = q + 1u) {
    acc = acc + dot(vec4<f32>(hidden4[r * q4 + q]), vec4<f32>(items4[li * q4 + q]));
  }`
    : `for (var d = 0u; d < P.dim; d = d + 1u) {
    acc = acc + f32(hidden[r * P.dim + d]) * f32(items[li * P.dim + d]);
  }`;
  return `
// The logit of negative j of row r less its correction; ok = false when masked or in another chunk.
struct NegLogit {
  x: f32,
  li: u32,
  ok: bool,
}

fn neg_logit(r: u32, y: i32, j: u32) -> NegLogit {
  let dr = neg_draw(P.row_base + r, j);
  if (dr.item < P.item_base || dr.item >= P.item_base + P.n_items${hit}) {
    return NegLogit(0.0, 0u, false);
  }
  let li = dr.item - P.item_base;
  var acc = 0.0;
  ${dot}
  return NegLogit(acc - dr.corr, li, true);
}
`;
}

/** The row kernel's WGSL. */
export function rowWGSL(c: RowShaderConfig): string {
  const common = bindingsWGSL(actDecls(c.backward ? BACKWARD_ROW_BINDINGS : FORWARD_ROW_BINDINGS));
  const nb = c.backward ? 8 : 6;
  const v4 = nb + negBindingCount(c.neg);
  const vec4Decls = c.vec4
    ? `@group(0) @binding(${v4}) var<storage, read> hidden4: array<act4_t>;
@group(0) @binding(${v4 + 1}) var<storage, read> items4: array<act4_t>;`
    : '';
  const pre = `${actHeaderWGSL(c.act ?? 'f32')}${preludeWGSL()}
${common}
${negativesWGSL(c.neg, nb)}
${vec4Decls}
${drawAndDot(c)}
`;
  if (!c.backward) {
    return `${pre}
var<workgroup> red: array<vec2<f32>, ${ROW_WG}>;

@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = unit_id(wid);
  if (r >= P.n_units) {
    return;
  }
  let y = targets[r];
  var st = lse_empty();
  if (y != P.ignore_index) {
    for (var j = lid; j < P.k; j = j + ${ROW_WG}u) {
      let v = neg_logit(r, y, j);
      if (v.ok) {
        st = lse_push(st, v.x);
      }
    }
  }
  red[lid] = st;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      red[lid] = lse_merge(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var t = red[0];
    if (P.first == 0u) {
      t = lse_merge(vec2<f32>(lse[r], loss[r]), t);
    }
    lse[r] = t.x;
    loss[r] = t.y;
  }
}
`;
  }
  return `${pre}
${atomicAddWGSL('d_items')}
var<workgroup> sh_item: array<u32, ${ROW_WG}>;
var<workgroup> sh_g: array<f32, ${ROW_WG}>;

@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = unit_id(wid);
  if (r >= P.n_units) {
    return;
  }
  let y = targets[r];
  let valid = y != P.ignore_index;
  let lse_r = lse[r];
  let dl = dloss[r];
  for (var k0 = 0u; k0 < P.k; k0 = k0 + ${ROW_WG}u) {
    let j = k0 + lid;
    var g = 0.0;
    var li = 0u;
    if (valid && j < P.k && dl != 0.0) {
      let v = neg_logit(r, y, j);
      if (v.ok) {
        g = dl * exp(v.x - lse_r);
        li = v.li;
      }
    }
    sh_item[lid] = li;
    sh_g[lid] = g;
    workgroupBarrier();
    for (var d = lid; d < P.dim; d = d + ${ROW_WG}u) {
      let hd = f32(hidden[r * P.dim + d]);
      var acc = 0.0;
      for (var t = 0u; t < ${ROW_WG}u; t = t + 1u) {
        let gt = sh_g[t];
        if (gt != 0.0) {
          let at = sh_item[t] * P.dim + d;
          acc = acc + gt * f32(items[at]);
          atomic_add_d_items(at, gt * hd);
        }
      }
      d_hidden[r * P.dim + d] = d_hidden[r * P.dim + d] + acc;
    }
    workgroupBarrier();
  }
}
`;
}
