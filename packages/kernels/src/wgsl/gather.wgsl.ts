/**
 * WGSL of the dItems gather (share 'block'/'batch' in layout 'gpu'; gather.ts plans it): the
 * grad-items tile kernel in scratch mode has written each (group, negative) partial row sum
 * Σ_rows G[r,k]·H[r,:] of a chunk of groups into part[(split, group, k), D]; these kernels then
 * add them into dItems without atomics on floats:
 * - count: a thread per occurrence (group, k) of the chunk draws its negative with the kernels'
 *   own `neg_draw` and counts it into hist[item] (an integer atomicAdd; a negative outside the
 *   item chunk, or the sampler's sentinel, counts nowhere, as the tile kernel skips it).
 * - scan: one workgroup turns the counts into starts off[0 … n_items] (exclusive prefix sum, off[n]
 *   the total) and hist into each item's write cursor, a tile of 2,048 counts at a time.
 * - scatter: the same draws again; each occurrence writes its index gi·K + k at its item's
 *   cursor (atomicAdd), so order[off[c] … off[c+1]) lists item c's occurrences (in any order).
 * - sum: a workgroup per item sorts its occurrence indices (by rank in workgroup memory for up to
 *   {@link GATHER_SORT_CAP}: two barriers; bitonic in place in `order` beyond), then adds the partial rows in that order,
 *   split after split, and adds the total to dItems[c] with a plain read-modify-write: each item
 *   belongs to one workgroup, and the order is fixed, so dItems is the same bits run after run.
 */
import { preludeWGSL } from './common.wgsl.js';
import { type NegConfig, negativesWGSL } from './negatives.js';
import { bindingsWGSL } from './program.js';

export type GatherStage = 'count' | 'scan' | 'scatter' | 'sum';

/** Threads per workgroup of every gather kernel. */
export const GATHER_WG = 256;
/** Threads per workgroup of the sum kernel. */
export const GATHER_SUM_WG = 64;
/** Occurrences of one item the sum kernel sorts in workgroup memory (more: in place in `order`). */
export const GATHER_SORT_CAP = 1024;
/** Columns a sum thread accumulates at once (GATHER_SUM_WG · SUM_Q columns per sweep). */
const SUM_Q = 4;
/** Occurrences the sum kernel adds at a time (pairs() below is written for 4). */
const UNROLL = 4;

type Decl = [string, 'read' | 'rw', string];

/** Bindings (after params) of each gather kernel, before the sampler's (count, scatter). */
export function gatherBindings(stage: GatherStage): Decl[] {
  switch (stage) {
    case 'count':
      return [['hist', 'rw', 'atomic<u32>']];
    case 'scan':
      return [
        ['hist', 'rw', 'u32'],
        ['off', 'rw', 'u32'],
      ];
    case 'scatter':
      return [
        ['hist', 'rw', 'atomic<u32>'],
        ['order', 'rw', 'u32'],
      ];
    case 'sum':
      return [
        ['off', 'read', 'u32'],
        ['order', 'rw', 'u32'],
        ['part', 'read', 'f32'],
        ['d_items', 'rw', 'f32'],
      ];
  }
}

/** count / scatter: occurrence o = gi·K + k of this chunk's groups, its item when in the chunk. */
function drawWGSL(body: string): string {
  return `
@compute @workgroup_size(${GATHER_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = unit_id(wid) * ${GATHER_WG}u + lid;
  if (o >= P.n_groups * P.k) {
    return;
  }
  let dr = neg_draw(P.g0 + o / P.k, o % P.k);
  if (dr.item < P.item_base || dr.item >= P.item_base + P.n_items) {
    return;
  }
  let li = dr.item - P.item_base;
  ${body}
}
`;
}

/** Counts per scan thread and tile (the scan walks the items in tiles of GATHER_WG · SCAN_PER). */
const SCAN_PER = 8;

/**
 * One workgroup, over tiles of GATHER_WG · SCAN_PER counts: loaded coalesced into workgroup memory
 * (a thread's SCAN_PER in a row, padded by one against bank conflicts), each thread sums its own,
 * a Hillis–Steele scan of the thread sums, then each thread writes its exclusive prefixes, plus
 * the tiles before, back coalesced into off (starts) and hist (cursors); off[n] = the total.
 */
function scanWGSL(): string {
  const tile = GATHER_WG * SCAN_PER;
  const pad = SCAN_PER + 1;
  return `
var<workgroup> buf: array<u32, ${GATHER_WG * pad}>;
var<workgroup> sums: array<u32, ${GATHER_WG}>;

fn padded(e: u32) -> u32 {
  return (e / ${SCAN_PER}u) * ${pad}u + e % ${SCAN_PER}u;
}

@compute @workgroup_size(${GATHER_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = P.n_items;
  var carry = 0u;
  for (var t0 = 0u; t0 < n; t0 = t0 + ${tile}u) {
    for (var e = lid; e < ${tile}u; e = e + ${GATHER_WG}u) {
      var v = 0u;
      if (t0 + e < n) {
        v = hist[t0 + e];
      }
      buf[padded(e)] = v;
    }
    workgroupBarrier();
    var s = 0u;
    for (var j = 0u; j < ${SCAN_PER}u; j = j + 1u) {
      s = s + buf[lid * ${pad}u + j];
    }
    sums[lid] = s;
    workgroupBarrier();
    for (var w = 1u; w < ${GATHER_WG}u; w = w << 1u) {
      var v = sums[lid];
      if (lid >= w) {
        v = v + sums[lid - w];
      }
      workgroupBarrier();
      sums[lid] = v;
      workgroupBarrier();
    }
    var acc = carry + sums[lid] - s;
    for (var j = 0u; j < ${SCAN_PER}u; j = j + 1u) {
      let v = buf[lid * ${pad}u + j];
      buf[lid * ${pad}u + j] = acc;
      acc = acc + v;
    }
    carry = carry + sums[${GATHER_WG - 1}u];
    workgroupBarrier();
    for (var e = lid; e < ${tile}u; e = e + ${GATHER_WG}u) {
      if (t0 + e < n) {
        let v = buf[padded(e)];
        off[t0 + e] = v;
        hist[t0 + e] = v;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    off[n] = carry;
  }
}
`;
}

/**
 * Sorts `arr[base … base + n)` ascending in place by a bitonic network whose every comparison puts
 * the smaller value at the lower index (each block's first stage compares mirrored pairs), so
 * indices past n behave as +∞ and pairs reaching past n are skipped; `barrier` after each stage.
 */
function bitonicWGSL(name: string, arr: string, barrier: string): string {
  return `
fn ${name}(base: u32, n: u32, lid: u32) {
  var m = 1u;
  while (m < n) {
    m = m << 1u;
  }
  for (var k = 2u; k <= m; k = k << 1u) {
    for (var j = k >> 1u; j > 0u; j = j >> 1u) {
      for (var t = lid; t < m / 2u; t = t + ${GATHER_SUM_WG}u) {
        var a = 2u * j * (t / j) + t % j;
        var b = a + j;
        if (j == k >> 1u) {
          let blk = (t / j) * k;
          a = blk + t % j;
          b = blk + k - 1u - t % j;
        }
        if (b < n) {
          let x = ${arr}[base + a];
          let y = ${arr}[base + b];
          if (y < x) {
            ${arr}[base + a] = y;
            ${arr}[base + b] = x;
          }
        }
      }
      ${barrier}
    }
  }
}
`;
}

function sumWGSL(): string {
  const q = Array.from({ length: SUM_Q }, (_, i) => i);
  const u = Array.from({ length: UNROLL }, (_, j) => j);
  const sweep = SUM_Q * GATHER_SUM_WG;
  // Column lid + i·WG of the unrolled occurrences' rows, summed pairwise (a fixed order).
  const pairs = (i: number) =>
    `(part[r0 + ${i * GATHER_SUM_WG}u] + part[r1 + ${i * GATHER_SUM_WG}u]) + (part[r2 + ${i * GATHER_SUM_WG}u] + part[r3 + ${i * GATHER_SUM_WG}u])`;
  const add = (i: number, v: string) => `if (d0 + lid + ${i * GATHER_SUM_WG}u < P.dim) {
          a${i} = a${i} + ${v};
        }`;
  return `
var<workgroup> sa: array<u32, ${GATHER_SORT_CAP}>;
var<workgroup> sb: array<u32, ${GATHER_SORT_CAP}>;
var<workgroup> wn: u32;
${bitonicWGSL('sort_order', 'order', 'storageBarrier();')}

// Occurrence i of the item's sorted list: in sb (local) or in place in order from s0.
fn slot_at(local: bool, s0: u32, i: u32) -> u32 {
  if (local) {
    return sb[i];
  }
  return order[s0 + i];
}

@compute @workgroup_size(${GATHER_SUM_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = unit_id(wid);
  if (c >= P.n_units) {
    return;
  }
  let s0 = off[c];
  if (lid == 0u) {
    // At most the chunk's occurrences (a bound, so a broken order can never loop for long).
    wn = min(off[c + 1u] - s0, P.n_groups * P.k);
  }
  let n = workgroupUniformLoad(&wn);
  if (n == 0u) {
    return;
  }
  // Sorted occurrence indices: in sb by rank (the indices are distinct) for up to the cap, in
  // place in order beyond; one alone needs no sort.
  let local = n > 1u && n <= ${GATHER_SORT_CAP}u;
  if (local) {
    for (var i = lid; i < n; i = i + ${GATHER_SUM_WG}u) {
      sa[i] = order[s0 + i];
    }
    workgroupBarrier();
    for (var i = lid; i < n; i = i + ${GATHER_SUM_WG}u) {
      let v = sa[i];
      var r = 0u;
      for (var j = 0u; j < n; j = j + 1u) {
        r = r + u32(sa[j] < v);
      }
      sb[r] = v;
    }
    workgroupBarrier();
  } else if (n > 1u) {
    sort_order(s0, n, lid);
  }
  let occ = P.n_groups * P.k;
  for (var d0 = 0u; d0 < P.dim; d0 = d0 + ${sweep}u) {
    ${q.map((i) => `var a${i} = 0.0;`).join(' ')}
    // ${UNROLL} occurrences at a time, their loads issued together; then the rest one by one.
    var i = 0u;
    for (; i + ${UNROLL}u <= n; i = i + ${UNROLL}u) {
      ${u.map((j) => `let o${j} = slot_at(local, s0, i + ${j}u);`).join('\n      ')}
      for (var s = 0u; s < P.splits; s = s + 1u) {
        ${u.map((j) => `let r${j} = (s * occ + o${j}) * P.dim + d0 + lid;`).join('\n        ')}
        ${q.map((i) => add(i, `(${pairs(i)})`)).join('\n        ')}
      }
    }
    for (; i < n; i = i + 1u) {
      let o = slot_at(local, s0, i);
      for (var s = 0u; s < P.splits; s = s + 1u) {
        let r = (s * occ + o) * P.dim + d0 + lid;
        ${q.map((i) => add(i, `part[r + ${i * GATHER_SUM_WG}u]`)).join('\n        ')}
      }
    }
    ${q
      .map(
        (i) => `{
      let d = d0 + lid + ${i * GATHER_SUM_WG}u;
      if (d < P.dim) {
        d_items[c * P.dim + d] = d_items[c * P.dim + d] + a${i};
      }
    }`,
      )
      .join('\n    ')}
  }
}
`;
}

/** The gather kernel's WGSL for `stage`; count and scatter draw from the sampler `neg`. */
export function gatherWGSL(stage: GatherStage, neg: NegConfig | undefined): string {
  const own = gatherBindings(stage);
  const draws = stage === 'count' || stage === 'scatter';
  if (draws && !neg) throw new Error(`gatherWGSL: stage ${stage} needs the sampler's config`);
  const sampler = draws && neg ? negativesWGSL(neg, own.length + 1) : '';
  const body =
    stage === 'count'
      ? drawWGSL('atomicAdd(&hist[li], 1u);')
      : stage === 'scatter'
        ? drawWGSL('order[atomicAdd(&hist[li], 1u)] = o;')
        : stage === 'scan'
          ? scanWGSL()
          : sumWGSL();
  return `${preludeWGSL()}
${bindingsWGSL(own)}
${sampler}
${body}`;
}
