/**
 * WGSL of the tile kernels for share 'block', 'batch' and negatives 'all': rows that share their
 * negatives form dense tiles, S = H[TR×D] · W[TK×D]ᵀ, computed by a 16×16 workgroup with
 * workgroup-memory tiling over D (TD = 16 deep), each thread holding a (TR/16)×(TK/16) block of S
 * (rows ty+16i, columns tx+16j, so workgroup-memory reads broadcast or hit distinct banks).
 * - lse: a workgroup owns a row tile and sweeps all negatives (TK per step), each thread keeping an
 *   online (max, sum) for its rows; the 16 threads of a row merge at the end.
 * - grad-hidden: a workgroup owns a row tile and a D chunk (DC columns); per negative tile it
 *   recomputes S, forms G = dLoss·exp(S − corr − lse) in workgroup memory, and accumulates
 *   G·W[:, chunk] in registers; it adds the result to dHidden (its rows alone) at the end.
 * - grad-items: a workgroup owns a negative tile and a D chunk and sweeps the group's row tiles
 *   (or a 1/splits share of them); accumulates Gᵀ·H[:, chunk] in registers, then, in layout 'gpu'
 *   with sampled negatives (share 'block'/'batch'), stores it plainly into its own slot of a
 *   scratch, part[(split, group, negative), D] (`scratch`: {@link storePartWGSL}), for a chunk of
 *   groups sized by a scratch budget, which the gather (gather.ts, gather.wgsl.ts: count, scan,
 *   scatter by item, a sum per item in sorted order) adds into dItems with no float atomics and
 *   the same bits every run. Split row sweeps keep their own slots rather than giving up the
 *   split: splitting happens only where there are too few workgroups (few groups, e.g. 'batch'),
 *   so the extra slots are few, while one workgroup sweeping all of a batch's rows would serialise
 *   the kernel. On the H200 through Vulkan at ml20m (2,048 groups × 511 × 256: 268 M CAS loops)
 *   grad-items took 22.5 ms by CAS, 13.0 by the gather (11.0 of it grad-items, 1.6 the sums; 8
 *   chunks of 128 MiB; 12.1 with 256 MiB), and the step 104.0 → 91.3 ms (2026-12-04,
 *   bench/wgsl-grad-items-bench.mjs, models' webgpu-step.mjs --profile). Elsewhere (negatives 'all' where items are
 *   distinct: plainly, or by CAS when split; layout 'cpu'; a group too large for the budget) it
 *   adds into dItems by CAS atomics where items can repeat (sampled, or split sweeps), else plainly.
 * - Layout 'cpu' (software adapters) where the device has one subgroup size of 4, 8 or 16
 *   ({@link tileCpuWGSL}; tile.ts tileVariant): the same work units, no workgroup memory and no
 *   barrier; a lane per row (lse, grad-hidden) or per negative (grad-items), the shared operand (W's
 *   rows, or H's) loaded once per subgroup, a different row per lane, vec4 along D, and handed out
 *   by subgroupBroadcast (llvmpipe otherwise loads a lane-uniform address once per lane, with a
 *   bounds check and branch each); uniform loops, edges clamped and masked by select. Measured on
 *   lavapipe (2-core VM, BENCHMARKS.md, 2026-12-03), synthetic step: lse 25–30 → 5–7 ms, grad-hidden
 *   44–48 → 12–17, grad-items 45–62 → 12–20. grad-items' CAS adds are not its cost (plain stores
 *   instead: no faster), so there is no reduction before them, nor the gather (on lavapipe in
 *   layout 'gpu' it only adds its sum pass: ~17–19 ms at N 4,096, C 2,000, D 64, K 127, grad-items
 *   itself unchanged). Elsewhere: the kernels above.
 * hidden and items are stored as `act_t` (f32, or f16 with `act: 'f16'`: vec4 loads then read
 * `array<act4_t>`) and converted to f32 on load; the workgroup-memory tiles, lse, loss, dHidden,
 * dItems and the gather's partial sums are f32.
 */
import { actHeaderWGSL, type WgslAct } from '../ops/wgsl-view.js';
import { actDecls, atomicAddWGSL, NEG_SENTINEL, preludeWGSL, scalarRowLoadWGSL } from './common.wgsl.js';
import { CPU_SUBGROUP_SIZES } from './layout.js';
import { type NegConfig, negativesWGSL } from './negatives.js';
import { bindingsWGSL } from './program.js';

export type TileKernel = 'lse' | 'grad-hidden' | 'grad-items';

export interface TileShaderConfig {
  kernel: TileKernel;
  /** undefined: negatives 'all' (the chunk's items in order, no correction, no masking). */
  neg: NegConfig | undefined;
  removeHits: boolean;
  /** Rows per tile: 16 or 64. */
  tr: number;
  /** Negatives per tile: 32 or 64. */
  tk: number;
  /** D columns per grad workgroup: a power of two in [16, 256]. */
  dc: number;
  /** grad-items: add to dItems with CAS atomics. */
  atomicItems: boolean;
  /**
   * grad-items (workgroup-memory kernel only): write each (split, group, negative) partial sum into
   * the scratch binding `part` instead of adding to dItems; gather.wgsl.ts adds them up.
   */
  scratch?: boolean;
  /** Layout 'cpu' with subgroups of this size ({@link tileCpuWGSL}); 0 or absent: the workgroup-memory kernel. */
  subgroup?: number;
  /** The subgroup kernel: hidden, items (and dHidden) read as vec4 (D a multiple of 4). */
  vec4?: boolean;
  /** Storage of hidden and items (default 'f32'; 'f16' needs 'shader-f16'). */
  act?: WgslAct;
}

export const TILE_WG = 256;
const TD = 16;

/** The row tiles of a chunk (both kernel families): `tile_of(t)`, with TR the tile's rows. */
const TILE_OF_WGSL = `struct Tile {
  r0: u32,
  nr: u32,
  grp: u32,
}

// Row tile t of this row chunk: rows [r0, r0 + nr) (chunk-local) of group grp.
fn tile_of(t: u32) -> Tile {
  let gi = t / P.tiles_per_group;
  let sub = t % P.tiles_per_group;
  let g = P.g0 + gi;
  let gs = max(g * P.block_rows, P.row_base);
  let ge = min(g * P.block_rows + P.block_rows, P.row_base + P.n_rows);
  let start = gs + sub * TR;
  var nr = 0u;
  if (start < ge) {
    nr = min(TR, ge - start);
  }
  return Tile(start - P.row_base, nr, g);
}`;

/** Bindings (after params) of each tile kernel, before the sampler's. */
export function tileOwnBindings(c: TileShaderConfig): [string, 'read' | 'rw', string][] {
  const base: [string, 'read' | 'rw', string][] = [
    ['hidden', 'read', 'f32'],
    ['items', 'read', 'f32'],
    ['targets', 'read', 'i32'],
  ];
  if (c.kernel === 'lse') return actDecls([...base, ['lse', 'rw', 'f32'], ['loss', 'rw', 'f32']]);
  const dItems: [string, 'read' | 'rw', string] = c.scratch
    ? ['part', 'rw', 'f32']
    : ['d_items', 'rw', c.atomicItems ? 'atomic<u32>' : 'f32'];
  return actDecls([
    ...base,
    ['lse', 'read', 'f32'],
    ['dloss', 'read', 'f32'],
    c.kernel === 'grad-hidden' ? ['d_hidden', 'rw', 'f32'] : dItems,
  ]);
}

function sizes(c: TileShaderConfig) {
  const RM = c.tr / 16;
  const CM = c.tk / 16;
  const HS = Math.max(TD * (c.tr + 1), 1024);
  const WS = Math.max(TD * (c.tk + 1), c.tr * 16);
  return { RM, CM, HS, WS, DQ: c.dc / 16, CS: 1024 / c.dc };
}

function sharedWGSL(c: TileShaderConfig): string {
  const { RM, CM, HS, WS } = sizes(c);
  const hit = c.removeHits && c.neg ? `if (i32(s_item[c] + P.item_base) == y) { continue; }` : '';
  const draw = c.neg
    ? `let dr = neg_draw(grp, j);
      if (dr.item >= P.item_base && dr.item < P.item_base + P.n_items) {
        ok = 1u;
        li = dr.item - P.item_base;
        corr = dr.corr;
      }`
    : `ok = 1u;
      li = j;`;
  return `
const TR = ${c.tr}u;
const TK = ${c.tk}u;
const TD = ${TD}u;
const RM = ${RM}u;
const CM = ${CM}u;

var<workgroup> hs: array<f32, ${HS}>;
var<workgroup> ws: array<f32, ${WS}>;
var<workgroup> s_item: array<u32, ${c.tk}>;
var<workgroup> s_ok: array<u32, ${c.tk}>;
var<workgroup> s_corr: array<f32, ${c.tk}>;
var<workgroup> s_tgt: array<i32, ${c.tr}>;
var<workgroup> s_lse: array<f32, ${c.tr}>;
var<workgroup> s_dl: array<f32, ${c.tr}>;

${TILE_OF_WGSL}

// Negatives k0 … k0+TK-1 of group grp into s_item (chunk-local), s_ok, s_corr.
fn load_negatives(grp: u32, k0: u32, lid: u32) {
  if (lid < TK) {
    let j = k0 + lid;
    var ok = 0u;
    var li = 0u;
    var corr = 0.0;
    if (j < P.k) {
      ${draw}
    }
    s_item[lid] = li;
    s_ok[lid] = ok;
    s_corr[lid] = corr;
  }
}

// Targets, lse and dLoss of the tile's rows into s_tgt, s_lse, s_dl (rows past nr: ignored).
fn load_rows(tile: Tile, lid: u32, with_grad: bool) {
  if (lid < TR) {
    var y = P.ignore_index;
    var l = 0.0;
    var dl = 0.0;
    if (lid < tile.nr) {
      let r = tile.r0 + lid;
      y = targets[r];
      if (with_grad) {
        l = lse_at(r);
        dl = dloss_at(r);
      }
    }
    s_tgt[lid] = y;
    s_lse[lid] = l;
    s_dl[lid] = dl;
  }
}

// S = H[tile rows] · W[s_item]ᵀ over all of D; this thread's rows ty+16i, columns tx+16j.
fn tile_logits(tile: Tile, lid: u32, tx: u32, ty: u32) -> array<f32, ${RM * CM}> {
  var acc: array<f32, ${RM * CM}>;
  for (var d0 = 0u; d0 < P.dim; d0 = d0 + TD) {
    for (var e = lid; e < TR * TD; e = e + ${TILE_WG}u) {
      let r = e / TD;
      let k = e % TD;
      var v = 0.0;
      if (r < tile.nr && d0 + k < P.dim) {
        v = f32(hidden[(tile.r0 + r) * P.dim + d0 + k]);
      }
      hs[k * (TR + 1u) + r] = v;
    }
    for (var e = lid; e < TK * TD; e = e + ${TILE_WG}u) {
      let c = e / TD;
      let k = e % TD;
      var v = 0.0;
      if (s_ok[c] != 0u && d0 + k < P.dim) {
        v = f32(items[s_item[c] * P.dim + d0 + k]);
      }
      ws[k * (TK + 1u) + c] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < TD; k = k + 1u) {
      var a: array<f32, ${RM}>;
      for (var i = 0u; i < RM; i = i + 1u) {
        a[i] = hs[k * (TR + 1u) + ty + 16u * i];
      }
      for (var jj = 0u; jj < CM; jj = jj + 1u) {
        let b = ws[k * (TK + 1u) + tx + 16u * jj];
        for (var i = 0u; i < RM; i = i + 1u) {
          acc[i * CM + jj] = acc[i * CM + jj] + a[i] * b;
        }
      }
    }
    workgroupBarrier();
  }
  return acc;
}

// Whether logit (row i of s_tgt, column c) takes part.
fn live(r: u32, c: u32) -> bool {
  let y = s_tgt[r];
  if (y == P.ignore_index || s_ok[c] == 0u) {
    return false;
  }
  ${hit.replace('continue;', 'return false;')}
  return true;
}
`;
}

function lseWGSL(c: TileShaderConfig): string {
  const { RM, CM } = sizes(c);
  return `
fn lse_at(r: u32) -> f32 {
  return 0.0;
}
fn dloss_at(r: u32) -> f32 {
  return 0.0;
}
${sharedWGSL(c)}

@compute @workgroup_size(${TILE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = unit_id(wid);
  if (t >= P.n_units) {
    return;
  }
  let tx = lid % 16u;
  let ty = lid / 16u;
  let tile = tile_of(t);
  load_rows(tile, lid, false);
  var st: array<vec2<f32>, ${RM}>;
  for (var i = 0u; i < RM; i = i + 1u) {
    st[i] = lse_empty();
  }
  for (var k0 = 0u; k0 < P.k; k0 = k0 + TK) {
    load_negatives(tile.grp, k0, lid);
    workgroupBarrier();
    let acc = tile_logits(tile, lid, tx, ty);
    for (var i = 0u; i < RM; i = i + 1u) {
      for (var jj = 0u; jj < ${CM}u; jj = jj + 1u) {
        let c = tx + 16u * jj;
        if (live(ty + 16u * i, c)) {
          st[i] = lse_push(st[i], acc[i * CM + jj] - s_corr[c]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < RM; i = i + 1u) {
    hs[(ty + 16u * i) * 16u + tx] = st[i].x;
    ws[(ty + 16u * i) * 16u + tx] = st[i].y;
  }
  workgroupBarrier();
  if (lid < tile.nr) {
    var m = lse_empty();
    for (var q = 0u; q < 16u; q = q + 1u) {
      m = lse_merge(m, vec2<f32>(hs[lid * 16u + q], ws[lid * 16u + q]));
    }
    let r = tile.r0 + lid;
    if (P.first == 0u) {
      m = lse_merge(vec2<f32>(lse[r], loss[r]), m);
    }
    lse[r] = m.x;
    loss[r] = m.y;
  }
}
`;
}

function gradPrelude(c: TileShaderConfig): string {
  const { RM, CM } = sizes(c);
  return `
fn lse_at(r: u32) -> f32 {
  return lse[r];
}
fn dloss_at(r: u32) -> f32 {
  return dloss[r];
}
${sharedWGSL(c)}
var<workgroup> gs: array<f32, ${c.tr * (c.tk + 1)}>;

// G = dLoss·exp(S − corr − lse) (0 where masked) into gs[row·(TK+1) + col].
fn store_g(acc: array<f32, ${RM * CM}>, tx: u32, ty: u32) {
  for (var i = 0u; i < RM; i = i + 1u) {
    let r = ty + 16u * i;
    for (var jj = 0u; jj < CM; jj = jj + 1u) {
      let c = tx + 16u * jj;
      var g = 0.0;
      if (live(r, c) && s_dl[r] != 0.0) {
        g = s_dl[r] * exp(acc[i * CM + jj] - s_corr[c] - s_lse[r]);
      }
      gs[r * (TK + 1u) + c] = g;
    }
  }
}
`;
}

function gradHiddenWGSL(c: TileShaderConfig): string {
  const { RM, DQ, CS } = sizes(c);
  return `${gradPrelude(c)}
@compute @workgroup_size(${TILE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let u = unit_id(wid);
  if (u >= P.n_units) {
    return;
  }
  let tx = lid % 16u;
  let ty = lid / 16u;
  let dc = u % P.n_dchunks;
  let tile = tile_of(u / P.n_dchunks);
  let d_base = dc * ${c.dc}u;
  load_rows(tile, lid, true);
  var dacc: array<f32, ${RM * DQ}>;
  for (var k0 = 0u; k0 < P.k; k0 = k0 + TK) {
    load_negatives(tile.grp, k0, lid);
    workgroupBarrier();
    let acc = tile_logits(tile, lid, tx, ty);
    store_g(acc, tx, ty);
    // dH[rows, chunk] += G · W[s_item, chunk], ${CS} negatives at a time through hs.
    for (var c0 = 0u; c0 < TK; c0 = c0 + ${CS}u) {
      workgroupBarrier();
      for (var e = lid; e < ${CS * c.dc}u; e = e + ${TILE_WG}u) {
        let cc = e / ${c.dc}u;
        let d = d_base + e % ${c.dc}u;
        var v = 0.0;
        if (s_ok[c0 + cc] != 0u && d < P.dim) {
          v = f32(items[s_item[c0 + cc] * P.dim + d]);
        }
        hs[e] = v;
      }
      workgroupBarrier();
      for (var cc = 0u; cc < ${CS}u; cc = cc + 1u) {
        for (var i = 0u; i < RM; i = i + 1u) {
          let g = gs[(ty + 16u * i) * (TK + 1u) + c0 + cc];
          for (var q = 0u; q < ${DQ}u; q = q + 1u) {
            dacc[i * ${DQ}u + q] = dacc[i * ${DQ}u + q] + g * hs[cc * ${c.dc}u + tx + 16u * q];
          }
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < RM; i = i + 1u) {
    let r = ty + 16u * i;
    if (r < tile.nr) {
      for (var q = 0u; q < ${DQ}u; q = q + 1u) {
        let d = d_base + tx + 16u * q;
        if (d < P.dim) {
          let at = (tile.r0 + r) * P.dim + d;
          d_hidden[at] = d_hidden[at] + dacc[i * ${DQ}u + q];
        }
      }
    }
  }
}
`;
}

function gradItemsWGSL(c: TileShaderConfig): string {
  const { CM, DQ, CS } = sizes(c);
  return `${gradPrelude(c)}
${c.atomicItems ? atomicAddWGSL('d_items') : ''}
@compute @workgroup_size(${TILE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let u = unit_id(wid);
  if (u >= P.n_units) {
    return;
  }
  let tx = lid % 16u;
  let ty = lid / 16u;
  // u = ((split · groups + gi) · n_ktiles + kt) · n_dchunks + dc
  let dc = u % P.n_dchunks;
  let kt = (u / P.n_dchunks) % P.n_ktiles;
  let gsplit = u / (P.n_dchunks * P.n_ktiles);
  let n_groups = P.n_groups;
  let splits = P.splits;
  let gi = gsplit % n_groups;
  let split = gsplit / n_groups;
  let d_base = dc * ${c.dc}u;
  let k0 = kt * TK;
  load_negatives(P.g0 + gi, k0, lid);
  var wacc: array<f32, ${CM * DQ}>;
  for (var sub = split; sub < P.tiles_per_group; sub = sub + splits) {
    let tile = tile_of(gi * P.tiles_per_group + sub);
    workgroupBarrier();
    load_rows(tile, lid, true);
    workgroupBarrier();
    let acc = tile_logits(tile, lid, tx, ty);
    store_g(acc, tx, ty);
    // dW[s_item, chunk] += Gᵀ · H[rows, chunk], ${CS} rows at a time through hs.
    for (var r0 = 0u; r0 < TR; r0 = r0 + ${CS}u) {
      workgroupBarrier();
      for (var e = lid; e < ${CS * c.dc}u; e = e + ${TILE_WG}u) {
        let rr = e / ${c.dc}u;
        let d = d_base + e % ${c.dc}u;
        var v = 0.0;
        if (r0 + rr < tile.nr && d < P.dim) {
          v = f32(hidden[(tile.r0 + r0 + rr) * P.dim + d]);
        }
        hs[e] = v;
      }
      workgroupBarrier();
      for (var rr = 0u; rr < ${CS}u; rr = rr + 1u) {
        for (var i = 0u; i < CM; i = i + 1u) {
          let g = gs[(r0 + rr) * (TK + 1u) + ty + 16u * i];
          for (var q = 0u; q < ${DQ}u; q = q + 1u) {
            wacc[i * ${DQ}u + q] = wacc[i * ${DQ}u + q] + g * hs[rr * ${c.dc}u + tx + 16u * q];
          }
        }
      }
    }
  }
${c.scratch ? storePartWGSL(c) : c.atomicItems ? addItemsAtomicWGSL(c) : addItemsPlainWGSL(c)}
}
`;
}

/** grad-items' end, items distinct: each thread adds its CM × DQ sums to dItems plainly. */
function addItemsPlainWGSL(c: TileShaderConfig): string {
  const { DQ } = sizes(c);
  return `  for (var i = 0u; i < CM; i = i + 1u) {
    let col = ty + 16u * i;
    if (s_ok[col] != 0u) {
      for (var q = 0u; q < ${DQ}u; q = q + 1u) {
        let d = d_base + tx + 16u * q;
        let v = wacc[i * ${DQ}u + q];
        if (d < P.dim && v != 0.0) {
          let at = s_item[col] * P.dim + d;
          d_items[at] = d_items[at] + v;
        }
      }
    }
  }`;
}

/**
 * grad-items' end in scratch mode: each thread stores its CM × DQ sums plainly into the slot of
 * (split, group, negative), part[((split · n_groups + gi) · K + k) · D + d]; every live negative's
 * slot is written (zeros too), a skipped one (outside the item chunk, the sentinel) is not.
 */
function storePartWGSL(c: TileShaderConfig): string {
  const { DQ } = sizes(c);
  return `  let slot0 = (split * n_groups + gi) * P.k + k0;
  for (var i = 0u; i < CM; i = i + 1u) {
    let col = ty + 16u * i;
    if (s_ok[col] != 0u) {
      let row = (slot0 + col) * P.dim;
      for (var q = 0u; q < ${DQ}u; q = q + 1u) {
        let d = d_base + tx + 16u * q;
        if (d < P.dim) {
          part[row + d] = wacc[i * ${DQ}u + q];
        }
      }
    }
  }`;
}

/**
 * grad-items' end, items may repeat: CAS adds, issued DQ at a time so that their round trips
 * overlap (all loads, then all exchanges; only the exchanges another workgroup raced retry, one by
 * one). One CAS loop per element waited for every round trip in turn: on the H200 through Vulkan
 * that was two thirds of the kernel's time at ml20m.
 */
function addItemsAtomicWGSL(c: TileShaderConfig): string {
  const { DQ } = sizes(c);
  return `  for (var i = 0u; i < CM; i = i + 1u) {
    let col = ty + 16u * i;
    if (s_ok[col] != 0u) {
      let row = s_item[col] * P.dim;
      var old: array<u32, ${DQ}>;
      for (var q = 0u; q < ${DQ}u; q = q + 1u) {
        let d = d_base + tx + 16u * q;
        if (d < P.dim && wacc[i * ${DQ}u + q] != 0.0) {
          old[q] = atomicLoad(&d_items[row + d]);
        }
      }
      var raced = 0u;
      for (var q = 0u; q < ${DQ}u; q = q + 1u) {
        let d = d_base + tx + 16u * q;
        let v = wacc[i * ${DQ}u + q];
        if (d < P.dim && v != 0.0) {
          let r = atomicCompareExchangeWeak(&d_items[row + d], old[q], bitcast<u32>(bitcast<f32>(old[q]) + v));
          if (!r.exchanged) {
            raced = raced | (1u << q);
          }
        }
      }
      for (var q = 0u; q < ${DQ}u; q = q + 1u) {
        if ((raced & (1u << q)) != 0u) {
          atomic_add_d_items(row + d_base + tx + 16u * q, wacc[i * ${DQ}u + q]);
        }
      }
    }
  }`;
}

/** The tile kernel's WGSL. */
export function tileWGSL(c: TileShaderConfig): string {
  if (c.subgroup) return tileCpuWGSL(c);
  const own = tileOwnBindings(c);
  const neg = c.neg ? negativesWGSL(c.neg, own.length + 1) : '';
  const body =
    c.kernel === 'lse' ? lseWGSL(c) : c.kernel === 'grad-hidden' ? gradHiddenWGSL(c) : gradItemsWGSL(c);
  return `${actHeaderWGSL(c.act ?? 'f32')}${preludeWGSL()}
${bindingsWGSL(own)}
${neg}
${body}`;
}

// ---------------------------------------------------------------------------------------------
// Layout 'cpu' with subgroups (software adapters): see tileCpuWGSL.

/** Subgroup sizes the 'cpu' tile kernels are built for (divisors of the 16 or 64 lanes). */
export const TILE_CPU_SUBGROUPS = CPU_SUBGROUP_SIZES;
/** D columns a 'cpu' gradient lane accumulates at once (a unit's chunk is swept in these). */
export const TILE_CPU_DC = 64;

/** Lanes per workgroup of a 'cpu' tile kernel: a row each (lse, grad-hidden), a negative each (grad-items). */
export function tileCpuLanes(c: TileShaderConfig): number {
  return c.kernel === 'grad-items' ? c.tk : c.tr;
}

/**
 * Bindings of the 'cpu' tile kernel: as {@link tileOwnBindings}, with `vec4` hidden and items as
 * `act4_t` and dHidden as `vec4<f32>`.
 */
function tileCpuBindings(c: TileShaderConfig): [string, 'read' | 'rw', string][] {
  if (!c.vec4) return tileOwnBindings(c);
  return tileOwnBindings(c).map(([n, k, t]) => [
    n,
    k,
    t === 'act_t' ? 'act4_t' : n === 'd_hidden' ? 'vec4<f32>' : t,
  ]);
}

/** ld_h / ld_w: 4 consecutive values of a row (start `row`, its first element) from d, zero past D. */
function cpuLoadsWGSL(c: TileShaderConfig): string {
  const one = (arr: string) =>
    c.vec4
      ? `fn ld_${arr[0]}(row: u32, d: u32) -> vec4<f32> {
  return vec4<f32>(${arr}[(row + min(d, P.dim - 4u)) / 4u]);
}`
      : scalarRowLoadWGSL(arr[0]!, arr);
  return `${one('hidden')}
${one('items')}`;
}

function cpuCommonWGSL(c: TileShaderConfig): string {
  const hit = c.removeHits && c.neg;
  const draw = c.neg
    ? `let dr = neg_draw(grp, min(j, P.k - 1u));
  let ok = j < P.k && dr.item >= P.item_base && dr.item < P.item_base + P.n_items;
  return Neg(select(0u, dr.item - P.item_base, ok), ok, select(0.0, dr.corr, ok));`
    : `let ok = j < P.k;
  return Neg(select(0u, j, ok), ok, 0.0);`;
  return `
const TR = ${c.tr}u;
const TK = ${c.tk}u;
const NEG = ${NEG_SENTINEL};

${TILE_OF_WGSL}

struct Neg {
  li: u32,
  ok: bool,
  corr: f32,
}

// Negative j of group grp: its chunk-local item (0 when none), whether it takes part, its correction.
fn neg_of(grp: u32, j: u32) -> Neg {
  ${draw}
}

// Whether the logit of a row with target y and negative n takes part.
fn live(y: i32, n_ok: bool, li: u32) -> bool {
  return y != P.ignore_index && n_ok${hit ? ' && i32(li + P.item_base) != y' : ''};
}
${cpuLoadsWGSL(c)}
`;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * Row-lane logits of the S negatives a subgroup drew (lane s: negative `n`, row start `hrow` of
 * its own row): a_t = h_row · w_t over D, w_t read once per subgroup (lane t) and broadcast.
 */
function rowLaneLogits(S: number): string {
  const t = ids(S);
  return `${t.map((i) => `var a${i} = 0.0;`).join(' ')}
    let wrow = n.li * P.dim;
    for (var d = 0u; d < P.dim; d = d + 4u) {
      let h = ld_h(hrow, d);
      let w = ld_i(wrow, d);
      ${t.map((i) => `a${i} = a${i} + dot(h, subgroupBroadcast(w, ${i}u));`).join('\n      ')}
    }
    ${t.map((i) => `let ok${i} = live(y, subgroupBroadcast(u32(n.ok), ${i}u) != 0u, subgroupBroadcast(n.li, ${i}u));`).join('\n    ')}
    ${t.map((i) => `let x${i} = a${i} - subgroupBroadcast(n.corr, ${i}u);`).join('\n    ')}`;
}

function cpuRowHead(): string {
  return `let t = unit_id(wid);
  if (t >= P.n_units) {
    return;
  }`;
}

function cpuLseWGSL(c: TileShaderConfig, S: number): string {
  const t = ids(S);
  return `
@compute @workgroup_size(${c.tr})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sid: u32) {
  ${cpuRowHead()}
  let tile = tile_of(t);
  if (tile.nr == 0u) {
    return;
  }
  let rv = lid < tile.nr;
  let r = tile.r0 + min(lid, tile.nr - 1u);
  let y = select(P.ignore_index, targets[r], rv);
  let hrow = r * P.dim;
  var m = NEG;
  var s = 0.0;
  for (var j0 = 0u; j0 < P.k; j0 = j0 + ${S}u) {
    let n = neg_of(tile.grp, j0 + sid);
    ${rowLaneLogits(S)}
    let bm = max(${t.map((i) => `select(NEG, x${i}, ok${i})`).reduce((a, b) => `max(${a}, ${b})`)}, m);
    s = s * exp(m - bm) + ${t.map((i) => `select(0.0, exp(x${i} - bm), ok${i})`).join(' + ')};
    m = bm;
  }
  if (rv) {
    var st = vec2<f32>(m, s);
    if (P.first == 0u) {
      st = lse_merge(vec2<f32>(lse[r], loss[r]), st);
    }
    lse[r] = st.x;
    loss[r] = st.y;
  }
}
`;
}

function cpuGradHiddenWGSL(c: TileShaderConfig, S: number): string {
  const t = ids(S);
  const DC = Math.min(c.dc, TILE_CPU_DC);
  const q = ids(DC / 4);
  const store = (i: number) =>
    c.vec4
      ? `d_hidden[at / 4u] = d_hidden[at / 4u] + o${i};`
      : `for (var e = 0u; e < 4u; e = e + 1u) {
          if (d + e < P.dim) {
            d_hidden[at + e] = d_hidden[at + e] + o${i}[e];
          }
        }`;
  return `
@compute @workgroup_size(${c.tr})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sid: u32) {
  ${cpuRowHead()}
  let dc = t % P.n_dchunks;
  let tile = tile_of(t / P.n_dchunks);
  if (tile.nr == 0u) {
    return;
  }
  let rv = lid < tile.nr;
  let r = tile.r0 + min(lid, tile.nr - 1u);
  let y = select(P.ignore_index, targets[r], rv);
  let l = lse[r];
  let dl = select(0.0, dloss[r], rv);
  let hrow = r * P.dim;
  let d_end = min(dc * ${c.dc}u + ${c.dc}u, P.dim);
  for (var d0 = dc * ${c.dc}u; d0 < d_end; d0 = d0 + ${DC}u) {
    ${q.map((i) => `var o${i} = vec4<f32>(0.0);`).join(' ')}
    for (var j0 = 0u; j0 < P.k; j0 = j0 + ${S}u) {
      let n = neg_of(tile.grp, j0 + sid);
      ${rowLaneLogits(S)}
      ${t.map((i) => `let g${i} = select(0.0, dl * exp(x${i} - l), ok${i} && dl != 0.0);`).join('\n      ')}
      ${q
        .map(
          (i) => `{
        let w = ld_i(wrow, d0 + ${4 * i}u);
        o${i} = o${i} + ${t.map((k) => `g${k} * subgroupBroadcast(w, ${k}u)`).join(' + ')};
      }`,
        )
        .join('\n      ')}
    }
    if (rv) {
      ${q
        .map(
          (i) => `{
        let d = d0 + ${4 * i}u;
        let at = r * P.dim + d;
        if (d < d_end) {
          ${store(i)}
        }
      }`,
        )
        .join('\n      ')}
    }
  }
}
`;
}

function cpuGradItemsWGSL(c: TileShaderConfig, S: number): string {
  const t = ids(S);
  const DC = Math.min(c.dc, TILE_CPU_DC);
  const q = ids(DC / 4);
  const add = c.atomicItems ? 'atomic_add_d_items(at + e, v);' : 'd_items[at + e] = d_items[at + e] + v;';
  return `${c.atomicItems ? atomicAddWGSL('d_items') : ''}
@compute @workgroup_size(${c.tk})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sid: u32) {
  let u = unit_id(wid);
  if (u >= P.n_units) {
    return;
  }
  // u = ((split · groups + gi) · n_ktiles + kt) · n_dchunks + dc
  let dc = u % P.n_dchunks;
  let kt = (u / P.n_dchunks) % P.n_ktiles;
  let gsplit = u / (P.n_dchunks * P.n_ktiles);
  let gi = gsplit % P.n_groups;
  let split = gsplit / P.n_groups;
  let n = neg_of(P.g0 + gi, kt * TK + lid);
  let wrow = n.li * P.dim;
  let d_end = min(dc * ${c.dc}u + ${c.dc}u, P.dim);
  for (var d0 = dc * ${c.dc}u; d0 < d_end; d0 = d0 + ${DC}u) {
    ${q.map((i) => `var o${i} = vec4<f32>(0.0);`).join(' ')}
    for (var sub = split; sub < P.tiles_per_group; sub = sub + P.splits) {
      let tile = tile_of(gi * P.tiles_per_group + sub);
      for (var rb = 0u; rb < tile.nr; rb = rb + ${S}u) {
        // lane s: row rb + s of the tile (clamped; past nr it is ignored).
        let rv = rb + sid < tile.nr;
        let r = tile.r0 + min(rb + sid, tile.nr - 1u);
        let ys = select(P.ignore_index, targets[r], rv);
        let ls = lse[r];
        let dls = select(0.0, dloss[r], rv);
        let hrow = r * P.dim;
        ${t.map((i) => `var a${i} = 0.0;`).join(' ')}
        for (var d = 0u; d < P.dim; d = d + 4u) {
          let h = ld_h(hrow, d);
          let w = ld_i(wrow, d);
          ${t.map((i) => `a${i} = a${i} + dot(subgroupBroadcast(h, ${i}u), w);`).join('\n          ')}
        }
        ${t
          .map(
            (i) => `let dl${i} = subgroupBroadcast(dls, ${i}u);
        let g${i} = select(0.0, dl${i} * exp(a${i} - n.corr - subgroupBroadcast(ls, ${i}u)), live(subgroupBroadcast(ys, ${i}u), n.ok, n.li) && dl${i} != 0.0);`,
          )
          .join('\n        ')}
        ${q
          .map(
            (i) => `{
          let h = ld_h(hrow, d0 + ${4 * i}u);
          o${i} = o${i} + ${t.map((k) => `g${k} * subgroupBroadcast(h, ${k}u)`).join(' + ')};
        }`,
          )
          .join('\n        ')}
      }
    }
    if (n.ok) {
      ${q
        .map(
          (i) => `for (var e = 0u; e < 4u; e = e + 1u) {
        let d = d0 + ${4 * i}u;
        let at = wrow + d;
        let v = o${i}[e];
        if (d + e < d_end && v != 0.0) {
          ${add}
        }
      }`,
        )
        .join('\n      ')}
    }
  }
}
`;
}

/**
 * The tile kernel for a software adapter (layout 'cpu') with subgroups of `c.subgroup` lanes: no
 * workgroup memory and no barrier. lse and grad-hidden: a lane per row of the tile; the lanes of
 * a subgroup draw S negatives (one each) and each loads its negative's row of W four columns at a
 * time, subgroupBroadcast handing them to every lane, so W is read once per subgroup; a lane's
 * own row of H is read by vec4. The lse is an online (max, sum) per S negatives; grad-hidden
 * accumulates G·W[:, chunk] in registers (64 columns at a time). grad-items: a lane per negative
 * of the k tile, the rows broadcast S at a time (H read once per subgroup), Gᵀ·H[:, chunk]
 * accumulated in registers, added to dItems at the end. Every loop is uniform (indices clamped,
 * values past the edges zeroed or masked by select), so no loop body is masked per lane.
 */
export function tileCpuWGSL(c: TileShaderConfig): string {
  const S = c.subgroup ?? 0;
  if (c.scratch) throw new RangeError('tileCpuWGSL: the subgroup kernel has no scratch mode (gather)');
  if (!TILE_CPU_SUBGROUPS.includes(S))
    throw new RangeError(`tileCpuWGSL: subgroup size ${S} is not one of ${TILE_CPU_SUBGROUPS.join(', ')}`);
  const own = tileCpuBindings(c);
  const neg = c.neg ? negativesWGSL(c.neg, own.length + 1) : '';
  const body =
    c.kernel === 'lse'
      ? cpuLseWGSL(c, S)
      : c.kernel === 'grad-hidden'
        ? cpuGradHiddenWGSL(c, S)
        : cpuGradItemsWGSL(c, S);
  return `${actHeaderWGSL(c.act ?? 'f32', ['subgroups'])}${preludeWGSL()}
${bindingsWGSL(own)}
${neg}
${cpuCommonWGSL(c)}
${body}`;
}
