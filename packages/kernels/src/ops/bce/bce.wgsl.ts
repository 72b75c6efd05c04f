/**
 * WGSL of SASRec's BCE / gBCE over uniform sampled negatives (reference.ts is the oracle; bce.cu
 * the CUDA twin). A workgroup of 64 per row; the row's K negatives are visited in chunks of 64,
 * an invocation drawing negative j (DESIGN.md's sampling contract, share 'row': counter
 * [i, j, step, 0], item = high32(w0 · C); the stream is the step counter) and its score. The
 * forward reduces β·softplus(−pos) + Σ keep·softplus(s_j); the backward keeps each chunk's
 * (item, coefficient) in workgroup memory, then the invocations split D: dHidden_i in registers
 * (D is compile-time), dItems by CAS float adds. Ignored rows: loss 0, dHidden 0. hidden and
 * items are stored as the kernel's `act_t` (f32, or f16 with 'shader-f16'); rowLoss, dRow, dHidden
 * and dItems are f32 (as on CUDA, where they stay float32 in bf16 mode).
 */
import { philoxWGSL } from '@cutrec/sampler';
import { atomicAddWGSL } from '../../wgsl/common.wgsl.js';
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { unitWGSL } from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

export const BCE_WORKGROUP = 64;

export const BCE_FORWARD_BUFFERS: readonly Decl[] = [
  ['hidden', 'act_t', 'read'],
  ['items', 'act_t', 'read'],
  ['targets', 'i32', 'read'],
  ['rowLoss', 'f32', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const BCE_BACKWARD_BUFFERS: readonly Decl[] = [
  ['hidden', 'act_t', 'read'],
  ['items', 'act_t', 'read'],
  ['targets', 'i32', 'read'],
  ['dRow', 'f32', 'read'],
  ['dHidden', 'f32', 'rw'],
  ['dItems', 'atomic<u32>', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
const SHAPE: ParamField[] = [
  ['N', 'u32'],
  ['C', 'u32'],
  ['K', 'u32'],
  ['k0', 'u32'],
  ['k1', 'u32'],
  ['ignore', 'i32'],
  ['remove_hits', 'u32'],
  ['beta', 'f32'],
];
export const BCE_FORWARD_FIELDS: readonly ParamField[] = [...SHAPE, ...offsetFields(BCE_FORWARD_BUFFERS)];
export const BCE_BACKWARD_FIELDS: readonly ParamField[] = [...SHAPE, ...offsetFields(BCE_BACKWARD_BUFFERS)];

const MASKED = '0xffffffffu';

function common(D: number): string {
  return /* wgsl */ `
${philoxWGSL}
${unitWGSL}
const D: u32 = ${D}u;
const WG: u32 = ${BCE_WORKGROUP}u;
var<workgroup> red: array<f32, ${BCE_WORKGROUP}>;

fn softplus(x: f32) -> f32 { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }
fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
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
}
// Negative j of row i (${MASKED} for a removed accidental hit of target y).
fn negative(i: u32, j: u32, y: u32) -> u32 {
  let w = philox4x32_10(vec4<u32>(i, j, step_ctr[P.step_ctr_o], 0u), vec2<u32>(P.k0, P.k1));
  let n = cutrec_mulhi32(w.x, P.C);
  if (P.remove_hits != 0u && n == y) { return ${MASKED}; }
  return n;
}
fn dot_row(i: u32, c: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < D; d++) { s = fma(f32(hidden[P.hidden_o + i * D + d]), f32(items[P.items_o + c * D + d]), s); }
  return s;
}
`;
}

export function bceForwardWGSL(D: number, act: WgslAct = 'f32'): string {
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(BCE_FORWARD_FIELDS)}
${storageWGSL(BCE_FORWARD_BUFFERS)}
${common(D)}
@compute @workgroup_size(${BCE_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = unit_of(wid, nwg);
  if (i >= P.N) { return; }
  let t = targets[P.targets_o + i];
  let valid = t != P.ignore;
  let y = u32(t);
  var s = 0.0;
  if (valid) {
    for (var j = lid; j < P.K; j += WG) {
      let n = negative(i, j, y);
      if (n != ${MASKED}) { s += softplus(dot_row(i, n)); }
    }
  }
  let total = wg_sum(s, lid);
  if (lid == 0u) {
    var loss = 0.0;
    if (valid) { loss = P.beta * softplus(-dot_row(i, y)) + total; }
    rowLoss[P.rowLoss_o + i] = loss;
  }
}
`;
}

export function bceBackwardWGSL(D: number, act: WgslAct = 'f32'): string {
  const slots = Math.ceil(D / BCE_WORKGROUP);
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(BCE_BACKWARD_FIELDS)}
${storageWGSL(BCE_BACKWARD_BUFFERS)}
${common(D)}
${atomicAddWGSL('dItems')}
var<workgroup> negI: array<u32, ${BCE_WORKGROUP}>;
var<workgroup> negC: array<f32, ${BCE_WORKGROUP}>;
var<workgroup> posC: f32;

@compute @workgroup_size(${BCE_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = unit_of(wid, nwg);
  if (i >= P.N) { return; }
  let t = targets[P.targets_o + i];
  let valid = t != P.ignore;
  let y = u32(t);
  var g = 0.0;
  if (valid) { g = dRow[P.dRow_o + i]; }
  if (lid == 0u) {
    var c = 0.0;
    if (valid) { c = -g * P.beta * sigmoid(-dot_row(i, y)); }
    posC = c;
  }
  workgroupBarrier();
  let cp = posC;
  var acc: array<f32, ${slots}>;
  for (var k = 0u; k < ${slots}u; k++) {
    let d = lid + WG * k;
    if (d < D && valid) {
      acc[k] = cp * f32(items[P.items_o + y * D + d]);
      atomic_add_dItems(P.dItems_o + y * D + d, cp * f32(hidden[P.hidden_o + i * D + d]));
    }
  }
  for (var j0 = 0u; j0 < P.K; j0 += WG) {
    let j = j0 + lid;
    var n = ${MASKED};
    var c = 0.0;
    if (valid && j < P.K) {
      n = negative(i, j, y);
      if (n != ${MASKED}) { c = g * sigmoid(dot_row(i, n)); }
    }
    negI[lid] = n;
    negC[lid] = c;
    workgroupBarrier();
    let m = min(WG, P.K - j0);
    for (var q = 0u; q < m; q++) {
      let nq = negI[q];
      if (nq == ${MASKED}) { continue; }
      let cq = negC[q];
      for (var k = 0u; k < ${slots}u; k++) {
        let d = lid + WG * k;
        if (d < D) {
          acc[k] += cq * f32(items[P.items_o + nq * D + d]);
          atomic_add_dItems(P.dItems_o + nq * D + d, cq * f32(hidden[P.hidden_o + i * D + d]));
        }
      }
    }
    workgroupBarrier();
  }
  for (var k = 0u; k < ${slots}u; k++) {
    let d = lid + WG * k;
    if (d < D) { dHidden[P.dHidden_o + i * D + d] = acc[k]; }
  }
}
`;
}
