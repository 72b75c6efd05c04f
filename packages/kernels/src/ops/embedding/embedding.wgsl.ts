/**
 * WGSL of the embedding op (reference.ts is the contract; embedding.cu the CUDA twin):
 *
 * - forward: one invocation per group of 4 flat elements e = 4g … 4g+3 of out [R, D] (one Philox
 *   call for the 4 dropout multipliers, as the CUDA kernel), out = (table[id]·scale + pos[r mod L])
 *   · mul(e) · [id ≠ pad];
 * - backward, table: the same layout, dTable[id, d] += scale · dOut · mul by compare-and-swap
 *   float adds (WGSL has no float atomics; the loss adds into the same buffer the same way);
 * - backward, positions: deterministic, one invocation per (t, d) summing its B rows in order.
 *
 * out and dOut are stored as the kernel's `act_t` (f32, or f16 with 'shader-f16'; as the CUDA
 * kernels' `dtype`); table, pos and the gradient accumulators dTable and dPos are f32. The
 * arithmetic is f32, out rounded to act_t on store.
 */
import { atomicAddWGSL } from '../../wgsl/common.wgsl.js';
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { dropoutCoreWGSL, dropoutFields, dropoutSiteWGSL, unitWGSL } from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

export const EMBEDDING_WORKGROUP = 256;

const SHAPE: ParamField[] = [
  ['R', 'u32'],
  ['L', 'u32'],
  ['D', 'u32'],
  ['scale', 'f32'],
  ['pad', 'i32'],
];

export const EMBEDDING_FORWARD_BUFFERS: readonly Decl[] = [
  ['ids', 'i32', 'read'],
  ['table', 'f32', 'read'],
  ['pos', 'f32', 'read'],
  ['out', 'act_t', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const EMBEDDING_TABLE_GRAD_BUFFERS: readonly Decl[] = [
  ['ids', 'i32', 'read'],
  ['dOut', 'act_t', 'read'],
  ['dTable', 'atomic<u32>', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const EMBEDDING_POS_GRAD_BUFFERS: readonly Decl[] = [
  ['ids', 'i32', 'read'],
  ['dOut', 'act_t', 'read'],
  ['dPos', 'f32', 'rw'],
  ['step_ctr', 'u32', 'read'],
];

export const EMBEDDING_FORWARD_FIELDS: readonly ParamField[] = [
  ...SHAPE,
  ...offsetFields(EMBEDDING_FORWARD_BUFFERS),
  ...dropoutFields('drop'),
];
export const EMBEDDING_TABLE_GRAD_FIELDS: readonly ParamField[] = [
  ...SHAPE,
  ...offsetFields(EMBEDDING_TABLE_GRAD_BUFFERS),
  ...dropoutFields('drop'),
];
export const EMBEDDING_POS_GRAD_FIELDS: readonly ParamField[] = [
  ...SHAPE,
  ...offsetFields(EMBEDDING_POS_GRAD_BUFFERS),
  ...dropoutFields('drop'),
];

const head = (fields: readonly ParamField[], decls: readonly Decl[], act: WgslAct) => `${actHeaderWGSL(act)}
${paramsStructWGSL(fields)}
${storageWGSL(decls)}
${dropoutCoreWGSL}
${dropoutSiteWGSL('drop')}
${unitWGSL}
`;

export function embeddingForwardWGSL(act: WgslAct = 'f32'): string {
  return /* wgsl */ `${head(EMBEDDING_FORWARD_FIELDS, EMBEDDING_FORWARD_BUFFERS, act)}
@compute @workgroup_size(${EMBEDDING_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = unit_of(wid, nwg) * ${EMBEDDING_WORKGROUP}u + lid;
  let n = P.R * P.D;
  if (g >= (n + 3u) / 4u) { return; }
  let m = drop_mul4(g);
  for (var j = 0u; j < 4u; j++) {
    let e = g * 4u + j;
    if (e >= n) { break; }
    let r = e / P.D;
    let d = e - r * P.D;
    let id = ids[P.ids_o + r];
    var o = 0.0;
    if (id != P.pad) {
      o = (table[P.table_o + u32(id) * P.D + d] * P.scale + pos[P.pos_o + (r % P.L) * P.D + d]) * m[j];
    }
    out[P.out_o + e] = act_t(o);
  }
}
`;
}

export function embeddingTableGradWGSL(act: WgslAct = 'f32'): string {
  return /* wgsl */ `${head(EMBEDDING_TABLE_GRAD_FIELDS, EMBEDDING_TABLE_GRAD_BUFFERS, act)}
${atomicAddWGSL('dTable')}
@compute @workgroup_size(${EMBEDDING_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = unit_of(wid, nwg) * ${EMBEDDING_WORKGROUP}u + lid;
  let n = P.R * P.D;
  if (g >= (n + 3u) / 4u) { return; }
  let m = drop_mul4(g);
  for (var j = 0u; j < 4u; j++) {
    let e = g * 4u + j;
    if (e >= n) { break; }
    let r = e / P.D;
    let id = ids[P.ids_o + r];
    if (id == P.pad || m[j] == 0.0) { continue; }
    let d = e - r * P.D;
    atomic_add_dTable(P.dTable_o + u32(id) * P.D + d, P.scale * (f32(dOut[P.dOut_o + e]) * m[j]));
  }
}
`;
}

export function embeddingPosGradWGSL(act: WgslAct = 'f32'): string {
  return /* wgsl */ `${head(EMBEDDING_POS_GRAD_FIELDS, EMBEDDING_POS_GRAD_BUFFERS, act)}
@compute @workgroup_size(${EMBEDDING_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = unit_of(wid, nwg) * ${EMBEDDING_WORKGROUP}u + lid;
  if (i >= P.L * P.D) { return; }
  let t = i / P.D;
  let d = i - t * P.D;
  var acc = 0.0;
  for (var r = t; r < P.R; r += P.L) {
    if (ids[P.ids_o + r] == P.pad) { continue; }
    let e = r * P.D + d;
    acc += f32(dOut[P.dOut_o + e]) * drop_mul(e);
  }
  dPos[P.dPos_o + i] += acc;
}
`;
}
