/**
 * WGSL of the fused full-catalog top-k kernel. One workgroup per user (looping over users with a
 * stride of the dispatch size): the user's hidden vector sits in workgroup memory; the catalog is
 * scanned in tiles of WG items, one score per thread; a tile whose items beat the current k-th
 * best is merged into the running top-k (sorted best-first, in workgroup memory) by computing
 * each element's rank in the union — a binary search in the running list plus a count over the
 * tile — so the merge is exact and needs no sort. Order: higher score first, ties to the lower id.
 * Seen items are skipped by a binary search in the user's sorted CSR list; −∞ scores never enter.
 * User u's vector is hidden[offset + u·rowStride + d] (a strided view: the last position of
 * [U, L, D]), stored as the kernel's `act_t` (f32, or f16 with 'shader-f16'; bf16 `dtype` on CUDA);
 * items, ids and scores are f32 / i32 whatever the storage, as on CUDA.
 */

import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

/** The kernel's storage bindings 1…6 (views: each has its `<name>_o` element offset). */
export const TOPK_BUFFERS: readonly Decl[] = [
  ['hidden', 'act_t', 'read'],
  ['table', 'f32', 'read'],
  ['seenOffsets', 'i32', 'read'],
  ['seenItems', 'i32', 'read'],
  ['outIds', 'i32', 'rw'],
  ['outScores', 'f32', 'rw'],
];

/**
 * The kernel's uniform Params (binding 0): users U, items C, whether a seen list is bound, the
 * hidden view's row stride and offset (elements), and the bindings' element offsets.
 */
export const TOPK_PARAM_FIELDS: readonly ParamField[] = [
  ['users', 'u32'],
  ['items', 'u32'],
  ['hasSeen', 'u32'],
  ['rowStride', 'u32'],
  ['offset', 'u32'],
  ...offsetFields(TOPK_BUFFERS),
];

/** Compile-time sizes of one pipeline. */
export interface TopKShaderParams {
  /** k (entries kept per user). */
  k: number;
  /** Hidden size D. */
  dim: number;
  /** Threads per workgroup = items per tile. */
  workgroupSize: number;
  /** Storage of hidden (default 'f32'). */
  act?: WgslAct;
}

/** Bytes of workgroup memory the shader declares for these sizes. */
export function topKWorkgroupBytes(p: TopKShaderParams): number {
  return 4 * (p.dim + 4 * p.k + 2 * p.workgroupSize + 2);
}

/** The WGSL source of the top-k kernel for `p`. */
export function topKWGSL(p: TopKShaderParams): string {
  const { k: K, dim: D, workgroupSize: WG } = p;
  // hidden: user u at offset + u·rowStride; table [C, D]; seenOffsets [U + 1]; outIds, outScores [U, K].
  return /* wgsl */ `${actHeaderWGSL(p.act ?? 'f32')}
${paramsStructWGSL(TOPK_PARAM_FIELDS)}
${storageWGSL(TOPK_BUFFERS)}

const K: u32 = ${K}u;
const D: u32 = ${D}u;
const WG: u32 = ${WG}u;
const NONE: u32 = 0xffffffffu;

var<workgroup> hv: array<f32, ${D}>;
var<workgroup> topS: array<f32, ${K}>;
var<workgroup> topI: array<u32, ${K}>;
var<workgroup> newS: array<f32, ${K}>;
var<workgroup> newI: array<u32, ${K}>;
var<workgroup> tileS: array<f32, ${WG}>;
var<workgroup> tileI: array<u32, ${WG}>;
var<workgroup> anyFlag: atomic<u32>;
var<workgroup> anyPlain: u32;

fn better(sa: f32, ia: u32, sb: f32, ib: u32) -> bool {
  return sa > sb || (sa == sb && ia < ib);
}

fn isSeen(u: u32, c: u32) -> bool {
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

// Entries of the running list that beat (s, i): the length of its prefix of better entries.
fn rankInTop(s: f32, i: u32) -> u32 {
  var lo = 0u;
  var hi = K;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (better(topS[mid], topI[mid], s, i)) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}

// Tile candidates that beat (s, i).
fn rankInTile(s: f32, i: u32) -> u32 {
  var r = 0u;
  for (var j = 0u; j < WG; j = j + 1u) {
    if (tileI[j] != NONE && better(tileS[j], tileI[j], s, i)) { r = r + 1u; }
  }
  return r;
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  var negInfBits = 0xff800000u; // a var, so that -inf is made at run time (a constant -inf is a compile error)
  let negInf = bitcast<f32>(negInfBits);
  let U = P.users;
  let C = P.items;
  for (var u = wid.x; u < U; u = u + nwg.x) {
    for (var d = lid; d < D; d = d + WG) { hv[d] = f32(hidden[P.hidden_o + P.offset + u * P.rowStride + d]); }
    for (var i = lid; i < K; i = i + WG) { topS[i] = negInf; topI[i] = NONE; }
    if (lid == 0u) { atomicStore(&anyFlag, 0u); }
    workgroupBarrier();
    for (var t0 = 0u; t0 < C; t0 = t0 + WG) {
      let c = t0 + lid;
      var cand = false;
      var s = negInf;
      if (c < C) {
        var acc = 0.0;
        let base = P.table_o + c * D;
        for (var d = 0u; d < D; d = d + 1u) { acc = acc + hv[d] * table[base + d]; }
        s = acc;
        cand = s > negInf && better(s, c, topS[K - 1u], topI[K - 1u]);
        if (cand && P.hasSeen != 0u) { cand = !isSeen(u, c); }
      }
      tileS[lid] = select(negInf, s, cand);
      tileI[lid] = select(NONE, c, cand);
      if (cand) { atomicOr(&anyFlag, 1u); }
      workgroupBarrier();
      if (lid == 0u) {
        anyPlain = atomicLoad(&anyFlag);
        atomicStore(&anyFlag, 0u);
      }
      let any = workgroupUniformLoad(&anyPlain);
      if (any != 0u) {
        // Merge: every element of (running ∪ candidates) goes to its rank if that is < K.
        if (tileI[lid] != NONE) {
          let r = rankInTop(tileS[lid], tileI[lid]) + rankInTile(tileS[lid], tileI[lid]);
          if (r < K) { newS[r] = tileS[lid]; newI[r] = tileI[lid]; }
        }
        for (var i = lid; i < K; i = i + WG) {
          let r = i + rankInTile(topS[i], topI[i]);
          if (r < K) { newS[r] = topS[i]; newI[r] = topI[i]; }
        }
        workgroupBarrier();
        for (var i = lid; i < K; i = i + WG) { topS[i] = newS[i]; topI[i] = newI[i]; }
      }
      workgroupBarrier();
    }
    for (var i = lid; i < K; i = i + WG) {
      let id = topI[i];
      outIds[P.outIds_o + u * K + i] = select(i32(id), -1, id == NONE);
      outScores[P.outScores_o + u * K + i] = topS[i];
    }
    workgroupBarrier();
  }
}
`;
}
