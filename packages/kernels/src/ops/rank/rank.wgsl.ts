/**
 * WGSL of the target-rank op (reference.ts is the oracle; rank.cu the CUDA twin): a workgroup of
 * 64 per user counts the items c ≠ y that beat the target (s_c > s_y, or equal with c < y) and
 * are not in the user's sorted seen list (binary search), reading hidden from the strided view.
 * Every score is the same sequential fma chain over d = 0 … D − 1 (one WGSL function), so the
 * target never beats itself and exact ties stay exact, as in rank.cu. No users × C matrix.
 * hidden is stored as the kernel's `act_t` (f32, or f16 with 'shader-f16'; bf16 `dtype` on CUDA);
 * items stay float32 (the parameters' master copy, as on CUDA).
 */
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { unitWGSL } from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

export const RANK_WORKGROUP = 64;

export const RANK_BUFFERS: readonly Decl[] = [
  ['hidden', 'act_t', 'read'],
  ['items', 'f32', 'read'],
  ['targets', 'i32', 'read'],
  ['seenOffsets', 'i32', 'read'],
  ['seenItems', 'i32', 'read'],
  ['ranks', 'i32', 'rw'],
];
export const RANK_FIELDS: readonly ParamField[] = [
  ['U', 'u32'],
  ['C', 'u32'],
  ['D', 'u32'],
  ['row_stride', 'u32'],
  ['offset', 'u32'],
  ['has_seen', 'u32'],
  ...offsetFields(RANK_BUFFERS),
];

export function rankWGSL(act: WgslAct = 'f32'): string {
  const WG = RANK_WORKGROUP;
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(RANK_FIELDS)}
${storageWGSL(RANK_BUFFERS)}
${unitWGSL}
var<workgroup> counts: array<u32, ${WG}>;

fn score(hb: u32, c: u32) -> f32 {
  var acc = 0.0;
  for (var d = 0u; d < P.D; d++) { acc = fma(f32(hidden[P.hidden_o + hb + d]), items[P.items_o + c * P.D + d], acc); }
  return acc;
}
fn is_seen(u: u32, c: u32) -> bool {
  var lo = seenOffsets[P.seenOffsets_o + u];
  var hi = seenOffsets[P.seenOffsets_o + u + 1u];
  let ci = i32(c);
  while (lo < hi) {
    let mid = (lo + hi) / 2;
    let v = seenItems[P.seenItems_o + u32(mid)];
    if (v == ci) { return true; }
    if (v < ci) { lo = mid + 1; } else { hi = mid; }
  }
  return false;
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let u = unit_of(wid, nwg);
  if (u >= P.U) { return; }
  let hb = P.offset + u * P.row_stride;
  let y = u32(targets[P.targets_o + u]);
  let sy = score(hb, y);
  var n = 0u;
  for (var c = lid; c < P.C; c += ${WG}u) {
    if (c == y) { continue; }
    let s = score(hb, c);
    if ((s > sy || (s == sy && c < y)) && !(P.has_seen != 0u && is_seen(u, c))) { n++; }
  }
  counts[lid] = n;
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) { counts[lid] += counts[lid + k]; }
    workgroupBarrier();
  }
  if (lid == 0u) { ranks[P.ranks_o + u] = i32(counts[0]); }
}
`;
}
