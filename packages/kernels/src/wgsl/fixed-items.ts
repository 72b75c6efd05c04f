/**
 * dItems in 64-bit fixed point, for the tile kernels' grad-items where sampled items repeat often
 * (many groups, a small catalog). WGSL has no float atomics: a float add is a compare-exchange loop
 * that waits for every round trip, and at ml20m (2,048 groups × 511 negatives × D 256 adds into a
 * catalog of 15,405) those loops were half of grad-items' 22 ms on an H200 through Vulkan. Integer
 * atomicAdd is native and needs no loop, so:
 *
 * 1. `bound`: M = max|hidden| and L = N · max|dLoss| (atomicMax of the float bits, which order like
 *    the floats for non-negative values). Every row's negatives' softmax terms sum to at most 1,
 *    so no element of dItems receives more than Σ_r |dLoss_r| · max|h| ≤ M·L in total.
 * 2. grad-items adds round(v · 2^s) as a two's-complement 64-bit integer (lo word with atomicAdd,
 *    its carry and the hi word with a second atomicAdd), with s chosen so that M·L · 2^s < 2^61:
 *    no sum can overflow, and one unit is at most 2^-61 of the bound.
 * 3. `finish`: dItems += acc · 2^-s (one float rounding).
 *
 * Integer sums do not depend on the order of the adds: dItems comes out the same every run. A
 * non-finite bound (NaN or ∞ in hidden or dLoss, or M·L past f32's range) makes dItems NaN.
 */
import { type BindingKind, type ParamField, paramsStructWGSL, type WgslProgram } from './program.js';

export const FIXED_WG = 256;

/** `fn fixed_exp() -> i32`: s, from the bound words of u32 array `bound`; 999 when the bound is not finite. */
export function fixedExpWGSL(bound: string): string {
  return /* wgsl */ `
fn fixed_exp() -> i32 {
  let b = bitcast<f32>(${bound}[0]) * bitcast<f32>(${bound}[1]);
  if (${bound}[0] >= 0x7f800000u || ${bound}[1] >= 0x7f800000u || bitcast<u32>(b) >= 0x7f800000u) { return 999; }
  if (b == 0.0) { return 0; }
  // b < 2^(e + 1), so M·L·2^s < 2^61 with s = 60 - e; s within f32's exponents.
  let e = i32((bitcast<u32>(b) >> 23u) & 0xffu) - 127;
  return clamp(60 - e, -126, 126);
}
`;
}

/** `fn to_fixed(x: f32) -> vec2<u32>`: an integral x with |x| < 2^62 as (lo, hi) two's-complement words. */
export const TO_FIXED_WGSL = /* wgsl */ `
fn to_fixed(x: f32) -> vec2<u32> {
  if (abs(x) < 2147483648.0) {
    let i = i32(x);
    return vec2<u32>(bitcast<u32>(i), select(0u, 0xffffffffu, i < 0));
  }
  // |x| ≥ 2^31: x is a multiple of 2^8 with 24 significant bits, so x − h·2^32 is exact.
  let h = floor(x * 2.3283064365386963e-10);
  return vec2<u32>(u32(x - h * 4294967296.0), bitcast<u32>(i32(h)));
}
`;

/** `fn fixed_add(at: u32, v: f32, scale: f32)` into the (lo, hi) words at 2·at of atomic array `acc`. */
export function fixedAddWGSL(acc: string): string {
  return /* wgsl */ `${TO_FIXED_WGSL}
fn fixed_add(at: u32, v: f32, scale: f32) {
  let x = to_fixed(round(v * scale));
  let old = atomicAdd(&${acc}[2u * at], x.x);
  let hi = x.y + select(0u, 1u, old + x.x < old);
  if (hi != 0u) {
    atomicAdd(&${acc}[2u * at + 1u], hi);
  }
}
`;
}

const BOUND_FIELDS: readonly ParamField[] = [
  ['n_h', 'u32'],
  ['n_l', 'u32'],
  ['rows', 'f32'],
  ['wg_x', 'u32'],
  ['n_units', 'u32'],
];

/** bound[0] ← max(bound[0], max|hidden|), bound[1] ← max(bound[1], rows · max|dLoss|) over one row chunk. */
export class FixedBoundProgram implements WgslProgram {
  readonly key = 'tile/fixed/bound';
  readonly workgroupSize = FIXED_WG;
  readonly bindings: readonly BindingKind[] = ['uniform', 'read', 'read', 'rw'];
  readonly paramFields = BOUND_FIELDS;
  code(): string {
    return /* wgsl */ `${paramsStructWGSL(BOUND_FIELDS)}
@group(0) @binding(1) var<storage, read> hidden: array<f32>;
@group(0) @binding(2) var<storage, read> dloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> bound: array<atomic<u32>>;
var<workgroup> red: array<vec2<u32>, ${FIXED_WG}>;
@compute @workgroup_size(${FIXED_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let u = wid.x + wid.y * P.wg_x;
  let stride = P.n_units * ${FIXED_WG}u;
  // The bits of |x|, maxed as u32: they order like the values, and NaN's (> ∞'s) win.
  var m = vec2<u32>(0u);
  if (u < P.n_units) {
    for (var i = u * ${FIXED_WG}u + lid; i < P.n_h; i += stride) { m.x = max(m.x, bitcast<u32>(abs(hidden[i]))); }
    for (var i = u * ${FIXED_WG}u + lid; i < P.n_l; i += stride) { m.y = max(m.y, bitcast<u32>(abs(dloss[i]))); }
  }
  red[lid] = m;
  workgroupBarrier();
  for (var s = ${FIXED_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u && u < P.n_units) {
    atomicMax(&bound[0], red[0].x);
    let l = red[0].y;
    atomicMax(&bound[1], select(bitcast<u32>(abs(bitcast<f32>(l) * P.rows)), l, l >= 0x7f800000u));
  }
}
`;
  }
}

const FINISH_FIELDS: readonly ParamField[] = [
  ['n', 'u32'],
  ['wg_x', 'u32'],
  ['n_units', 'u32'],
];

/** d_items[i] += acc[i] · 2^-s for the n elements of one item chunk. */
export class FixedFinishProgram implements WgslProgram {
  readonly key = 'tile/fixed/finish';
  readonly workgroupSize = FIXED_WG;
  readonly bindings: readonly BindingKind[] = ['uniform', 'read', 'read', 'rw'];
  readonly paramFields = FINISH_FIELDS;
  code(): string {
    return /* wgsl */ `${paramsStructWGSL(FINISH_FIELDS)}
@group(0) @binding(1) var<storage, read> acc: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> bound: array<u32>;
@group(0) @binding(3) var<storage, read_write> d_items: array<f32>;
${fixedExpWGSL('bound')}
@compute @workgroup_size(${FIXED_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * P.wg_x) * ${FIXED_WG}u + lid;
  if (i >= P.n) { return; }
  let s = fixed_exp();
  let w = acc[i];
  var v = bitcast<f32>(bound[0] | bound[1] | 0x7fc00000u); // NaN (computed: WGSL has no NaN constant)
  if (s != 999) {
    v = ldexp(f32(bitcast<i32>(w.y)) * 4294967296.0 + f32(w.x), -s);
  }
  d_items[i] = d_items[i] + v;
}
`;
  }
}
