/**
 * WGSL of the attention backward's dK/dV pass with the keys in registers (layout 'gpu', adapters
 * with subgroups). A workgroup owns LANE_ROWS keys of one (sequence b, head h); each key belongs to
 * `lanes` consecutive lanes of one subgroup, and lane qd holds the vec4s 4·(lanes·m + qd) of the
 * key's k and v rows and of its dk and dv accumulators (dh / lanes floats of each). Queries stream
 * through workgroup memory (q and dO, `qt` rows at a time, as vec4s: the lanes of a key read
 * neighbouring vec4s and the keys of a subgroup the same ones, so the reads neither conflict nor
 * repeat); per query a key's lanes sum their partial q·k and dO·v over subgroupShuffleXor and every
 * lane applies the same p and dS to its part of the head. The tiled kernel (attentionDkvWGSL)
 * instead keeps k, v, q and dO tiles all in workgroup memory: at dh = 128 no tile above 32 × 8
 * fits 48 KiB, and its threads read about one word of workgroup memory per FMA. H200 through
 * Vulkan, ml20m (dh 128), per step: 25.7 ms tiled, 15.5 with 4 lanes, 14.1 with 8. The same design
 * for dq (queries in registers, keys streamed) ran 13.0 ms against the tiled dq's 12.0 and was
 * dropped: dq's tile (32 × 16) already fits, and it does 3 products per pair where dK/dV does 4.
 *
 * Same arguments, bindings (q, k, v, dOut, dk, dv stored as act_t) and results as attentionDkvWGSL (reference.ts is the contract), with
 * two differences in how the numbers are formed: the head-size sums run in a different order (so
 * results differ by rounding), and a query with no real key before it (i ≤ the sequence's first
 * real key) gets dS = 0 exactly, the exact gradient of a softmax over its one allowed key; the
 * tiled kernels reach that zero by forming dP in the delta kernel's order instead.
 * The dropout multiplier of (query i, key j) is drawn once per key: lane qd draws it for query
 * q0 + qd and the key's lanes pass it round by subgroupShuffle.
 */
import type { WgslAct } from '../wgsl-view.js';
import {
  ATTN_DKV_BUFFERS,
  ATTN_DKV_FIELDS,
  attentionHead,
  FIRST_REAL_DECLS,
  firstRealWGSL,
} from './attention.wgsl.js';

/** Keys per workgroup. */
export const LANE_ROWS = 32;

/** One build of the kernel: lanes per key and queries per workgroup-memory tile. */
export interface LaneRowsShape {
  lanes: 4 | 8;
  qt: number;
}

/** Workgroup-memory bytes of the kernel at head size dh (q and dO tiles, lse and delta, the slot and first-key words). */
export function laneRowsBytes(dh: number, s: LaneRowsShape): number {
  return 4 * (2 * s.qt * dh + 2 * s.qt + 1 + 2);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** WGSL lines `f(m)` for each of the lane's vec4s of the head. */
const perVec = (m4: number, f: (m: number) => string) => range(m4).map(f).join('\n    ');

export function attentionDkvKeysWGSL(
  dh: number,
  shared: boolean,
  s: LaneRowsShape,
  act: WgslAct = 'f32',
): string {
  const { lanes, qt } = s;
  if (dh % (4 * lanes) !== 0)
    throw new RangeError(`attention dkv keys: dh ${dh} is not a multiple of ${4 * lanes}`);
  const nt = LANE_ROWS * lanes;
  const m4 = dh / (4 * lanes);
  const dh4 = dh / 4;
  const perThread = (qt * dh4) / nt;
  if (!Number.isInteger(perThread) || qt % lanes !== 0)
    throw new RangeError(`attention dkv keys: qt ${qt} does not suit dh ${dh} and ${lanes} lanes`);
  const dv = shared ? 'dk' : 'dv';
  const vec = (buf: string, at: string) =>
    `vec4<f32>(f32(${buf}[${at}]), f32(${buf}[${at} + 1u]), f32(${buf}[${at} + 2u]), f32(${buf}[${at} + 3u]))`;
  const tileLoads = range(perThread)
    .map(
      (u) => `{
      let x = lid + ${u * nt}u;
      let qq = x / DH4;
      let i = i0 + qq;
      let d = 4u * (x - qq * DH4);
      if (i < P.L) {
        qv[${u}] = ${vec('q', 'P.q_o + (b * P.L + i) * P.stride + h * DH + d')};
        gv[${u}] = ${vec('dOut', 'P.dOut_o + (b * P.L + i) * D + h * DH + d')};
      }
    }`,
    )
    .join('\n    ');
  const tileStores = range(perThread)
    .map((u) => `Qs[lid + ${u * nt}u] = qv[${u}]; Gs[lid + ${u * nt}u] = gv[${u}];`)
    .join('\n    ');
  return /* wgsl */ `${attentionHead(ATTN_DKV_FIELDS, ATTN_DKV_BUFFERS, dh, true, act, undefined, ['subgroups'])}
const KR: u32 = ${LANE_ROWS}u;
const LANES: u32 = ${lanes}u;
const NT: u32 = ${nt}u;
const QT: u32 = ${qt}u;
const DH4: u32 = ${dh4}u;
var<workgroup> Qs: array<vec4<f32>, ${qt * dh4}>;
var<workgroup> Gs: array<vec4<f32>, ${qt * dh4}>;
var<workgroup> lseS: array<f32, ${qt}>;
var<workgroup> deltaS: array<f32, ${qt}>;
var<workgroup> sgSlot: atomic<u32>;
${FIRST_REAL_DECLS}

@compute @workgroup_size(${nt})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32,
        @builtin(subgroup_size) sz: u32) {
  let unit = unit_of(wid, nwg);
  let tiles = (P.L + KR - 1u) / KR;
  let bh = unit / tiles;
  if (bh >= P.B * P.H) { return; }
  let b = bh / P.H;
  let h = bh - b * P.H;
  let r0 = (unit - bh * tiles) * KR;
  let D = P.H * DH;
  // A key's lanes: LANES consecutive lanes of one subgroup (the subgroup's slot from a counter).
  var slot = 0u;
  if (sl == 0u) { slot = atomicAdd(&sgSlot, 1u); }
  slot = subgroupBroadcastFirst(slot);
  let qd = sl % LANES;
  let base = sl - qd;
  let j = r0 + slot * (sz / LANES) + sl / LANES;
  let jv = j < P.L;
  let kpad = jv && ids[P.ids_o + b * P.L + min(j, P.L - 1u)] == P.pad;
  let ko = (b * P.L + min(j, P.L - 1u)) * P.stride + h * DH;
  ${perVec(m4, (m) => `let k${m} = ${vec('k', `P.k_o + ko + ${4 * lanes * m}u + 4u * qd`)};`)}
  ${perVec(m4, (m) => `let v${m} = ${vec('v', `P.v_o + ko + ${4 * lanes * m}u + 4u * qd`)};`)}
  ${perVec(m4, (m) => `var dk${m} = vec4<f32>(0.0);\n  var dv${m} = vec4<f32>(0.0);`)}
  let kEnd = min(P.L, r0 + KR);
${firstRealWGSL('firstTile', 'r0', 'kEnd', 'NT')}
${firstRealWGSL('firstSeq', '0u', 'kEnd', 'NT')}
  // Keys all padding (firstTile = kEnd): each is attended by its own query only, so stop at kEnd.
  let iEnd = select(kEnd, P.L, firstTile < kEnd);
  for (var i0 = r0; i0 < iEnd; i0 += QT) {
    var qv = array<vec4<f32>, ${perThread}>();
    var gv = array<vec4<f32>, ${perThread}>();
    ${tileLoads}
    ${tileStores}
    if (lid < QT) {
      let i = i0 + lid;
      var a = 0.0;
      var c = 0.0;
      if (i < P.L) {
        a = lse[P.lse_o + bh * P.L + i];
        c = delta[P.delta_o + bh * P.L + i];
      }
      lseS[lid] = a;
      deltaS[lid] = c;
    }
    workgroupBarrier();
    for (var q0 = 0u; q0 < QT; q0 += LANES) {
      var muOwn = 1.0;
      let iq = i0 + q0 + qd;
      if (P.drop_on != 0u && jv && iq < P.L && iq >= j) { muOwn = drop_mul((bh * P.L + iq) * P.L + j); }
      for (var u = 0u; u < LANES; u++) {
        let qq = q0 + u;
        let i = i0 + qq;
        let mu = subgroupShuffle(muOwn, base + u);
        let at = qq * DH4 + qd;
        var s = 0.0;
        var dp = 0.0;
        ${perVec(m4, (m) => `s += dot(Qs[at + ${lanes * m}u], k${m});\n        dp += dot(Gs[at + ${lanes * m}u], v${m});`)}
        for (var w = 1u; w < LANES; w <<= 1u) {
          s += subgroupShuffleXor(s, w);
          dp += subgroupShuffleXor(dp, w);
        }
        let ok = jv && i < P.L && i >= j && (i == j || !kpad);
        let p = exp(P.scale * s - lseS[qq]);
        let pm = select(0.0, p * mu, ok);
        let ds = select(0.0, P.scale * p * (mu * dp - deltaS[qq]), ok && i > firstSeq);
        ${perVec(m4, (m) => `dv${m} += pm * Gs[at + ${lanes * m}u];\n        dk${m} += ds * Qs[at + ${lanes * m}u];`)}
      }
    }
    workgroupBarrier();
  }
  if (jv) {
    let o = (b * P.L + j) * P.stride + h * DH + 4u * qd;
    ${perVec(
      m4,
      (m) => `for (var c = 0u; c < 4u; c++) {
      dk[P.dk_o + o + ${4 * lanes * m}u + c] = act_t(dk${m}[c]);
      ${dv}[P.dv_o + o + ${4 * lanes * m}u + c] = act_t(dv${m}[c]);
    }`,
    )}
  }
}
`;
}
