/**
 * WGSL of the target-logit kernels (one workgroup of 64 threads per row, D split over threads):
 * forward finishes the log-sum-exp (lse = logaddexp(pos, negatives' lse), loss = lse − pos);
 * backward starts the gradients with the target's term (−dLoss, plus dLoss·p_pos for sampled
 * negatives) into dHidden and dItems. Rows whose target lies in another item chunk do nothing.
 * Layout 'cpu' (software adapters, `cpu`): the same per row, a row per invocation, 64 rows a
 * workgroup, no workgroup memory or barrier (the 64-thread tree reduction's 7 barriers a row are
 * 7 switches of every SIMD fiber on llvmpipe: 3–5 ms per call at the README's shape, N = 1,088).
 * hidden and items are `act_t` (f32, or f16 with `act: 'f16'`), loaded into f32; lse, loss,
 * dHidden and dItems are f32.
 */
import { actHeaderWGSL, type WgslAct } from '../ops/wgsl-view.js';
import { actDecls, atomicAddWGSL, preludeWGSL } from './common.wgsl.js';
import { BACKWARD_ROW_BINDINGS, bindingsWGSL, FORWARD_ROW_BINDINGS } from './program.js';

export interface TargetShaderConfig {
  /** 'all': the target is one of the items the lse already covers. */
  all: boolean;
  backward: boolean;
  /** Layout 'cpu': a row per invocation ({@link TARGET_CPU_ROWS} a workgroup). */
  cpu?: boolean;
  /** Storage of hidden and items (default 'f32'; 'f16' needs 'shader-f16'). */
  act?: WgslAct;
}

const WG = 64;
/** Rows per workgroup of the 'cpu' target kernels. */
export const TARGET_CPU_ROWS = 64;

function posWGSL(): string {
  return `
var<workgroup> red: array<f32, ${WG}>;

// h_r · w_y over D (all threads get the sum); 0 unless in_chunk.
fn target_dot(r: u32, ly: u32, in_chunk: bool, lid: u32) -> f32 {
  var acc = 0.0;
  if (in_chunk) {
    for (var d = lid; d < P.dim; d = d + ${WG}u) {
      acc = acc + f32(hidden[r * P.dim + d]) * f32(items[ly * P.dim + d]);
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      red[lid] = red[lid] + red[lid + s];
    }
    workgroupBarrier();
  }
  return red[0];
}
`;
}

function head(): string {
  return `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = unit_id(wid);
  if (r >= P.n_units) {
    return;
  }
  let y = targets[r];
  let ignored = y == P.ignore_index;
  let in_chunk = !ignored && y >= i32(P.item_base) && u32(y) < P.item_base + P.n_items;
  let ly = u32(y) - P.item_base;
  let pos = target_dot(r, ly, in_chunk, lid);
`;
}

/** lse of the target's logit `pos` and the negatives' online state `st` (in lse[r], loss[r]). */
function finishLse(c: TargetShaderConfig): string {
  return c.all
    ? 'neg_lse'
    : 'select(max(pos, neg_lse) + log(1.0 + exp(-abs(pos - neg_lse))), pos, st.y <= 0.0)';
}

/** The target kernel's WGSL. */
export function targetWGSL(c: TargetShaderConfig): string {
  if (c.cpu) return targetCpuWGSL(c);
  if (!c.backward) {
    const lse = finishLse(c);
    return `${actHeaderWGSL(c.act ?? 'f32')}${preludeWGSL()}
${bindingsWGSL(actDecls(FORWARD_ROW_BINDINGS))}
${posWGSL()}
${head()}
  if (lid != 0u) {
    return;
  }
  if (in_chunk) {
    // The main kernels left the negatives' online state (max, sum) in lse[r], loss[r].
    let st = vec2<f32>(lse[r], loss[r]);
    let neg_lse = st.x + log(max(st.y, 1e-38));
    let l = ${lse};
    lse[r] = l;
    loss[r] = l - pos;
  } else if (ignored && P.first == 1u) {
    lse[r] = 0.0;
    loss[r] = 0.0;
  }
}
`;
  }
  const g = targetGrad(c);
  return `${actHeaderWGSL(c.act ?? 'f32')}${preludeWGSL()}
${bindingsWGSL(actDecls(BACKWARD_ROW_BINDINGS))}
${atomicAddWGSL('d_items')}
${posWGSL()}
${head()}
  if (!in_chunk) {
    return;
  }
  let dl = dloss[r];
  let g = ${g};
  if (g == 0.0) {
    return;
  }
  for (var d = lid; d < P.dim; d = d + ${WG}u) {
    d_hidden[r * P.dim + d] = d_hidden[r * P.dim + d] + g * f32(items[ly * P.dim + d]);
    atomic_add_d_items(ly * P.dim + d, g * f32(hidden[r * P.dim + d]));
  }
}
`;
}

/** The target term's gradient coefficient of row r (dl = dLoss[r], pos its target's logit). */
function targetGrad(c: TargetShaderConfig): string {
  return c.all ? '-dl' : 'dl * (exp(pos - lse[r]) - 1.0)';
}

/** The 'cpu' target kernels: invocation `lid` of workgroup `wid` owns row r, its dot over D alone. */
function targetCpuWGSL(c: TargetShaderConfig): string {
  const head = `
@compute @workgroup_size(${TARGET_CPU_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = unit_id(wid) * ${TARGET_CPU_ROWS}u + lid;
  if (r >= P.n_rows) {
    return;
  }
  let y = targets[r];
  let ignored = y == P.ignore_index;
  let in_chunk = !ignored && y >= i32(P.item_base) && u32(y) < P.item_base + P.n_items;
  let ly = u32(y) - P.item_base;
  var pos = 0.0;
  if (in_chunk) {
    for (var d = 0u; d < P.dim; d = d + 1u) {
      pos = pos + f32(hidden[r * P.dim + d]) * f32(items[ly * P.dim + d]);
    }
  }
`;
  if (!c.backward) {
    return `${actHeaderWGSL(c.act ?? 'f32')}${preludeWGSL()}
${bindingsWGSL(actDecls(FORWARD_ROW_BINDINGS))}
${head}
  if (in_chunk) {
    let st = vec2<f32>(lse[r], loss[r]);
    let neg_lse = st.x + log(max(st.y, 1e-38));
    let l = ${finishLse(c)};
    lse[r] = l;
    loss[r] = l - pos;
  } else if (ignored && P.first == 1u) {
    lse[r] = 0.0;
    loss[r] = 0.0;
  }
}
`;
  }
  return `${actHeaderWGSL(c.act ?? 'f32')}${preludeWGSL()}
${bindingsWGSL(actDecls(BACKWARD_ROW_BINDINGS))}
${atomicAddWGSL('d_items')}
${head}
  if (!in_chunk) {
    return;
  }
  let dl = dloss[r];
  let g = ${targetGrad(c)};
  if (g == 0.0) {
    return;
  }
  for (var d = 0u; d < P.dim; d = d + 1u) {
    d_hidden[r * P.dim + d] = d_hidden[r * P.dim + d] + g * f32(items[ly * P.dim + d]);
    atomic_add_d_items(ly * P.dim + d, g * f32(hidden[r * P.dim + d]));
  }
}
`;
}
