/**
 * WGSL shared by the CCE- kernels: the Params block, the work-unit index of a 2-D dispatch, the
 * online log-sum-exp state (max, sum) and its merge, and a float add on an `atomic<u32>` array
 * by compare-and-swap (WGSL has no float atomics).
 */
import { paramsWGSL } from './program.js';

/** A storage binding of a CCE- kernel: name, read-only or read_write, WGSL element type. */
export type CceDecl = readonly [name: string, kind: 'read' | 'rw', elem: string];

/** The bindings the CCE- kernels store as activations (`act_t`: f32, or f16 with 'shader-f16'). */
export const ACT_BINDINGS: ReadonlySet<string> = new Set(['hidden', 'items']);

/**
 * `decls` with hidden and items ({@link ACT_BINDINGS}) as `act_t` (the kernels load them into
 * f32); every other binding (lse, loss, dHidden, dItems, scratch) keeps its f32/i32/u32 type.
 */
export function actDecls(decls: readonly CceDecl[]): [string, 'read' | 'rw', string][] {
  return decls.map(([n, k, t]) => [n, k, ACT_BINDINGS.has(n) ? 'act_t' : t]);
}

/** Stands for −∞ in the online state; kernels skip masked logits instead of adding −∞. */
export const NEG_SENTINEL = '-3.0e38';

/**
 * `fn ld_<name>(row: u32, d: u32) -> vec4<f32>`: elements row + d … row + d + 3 of the scalar
 * array `arr` (f32, or `act_t` converted to f32), each zero past the row's D (P.dim) and never
 * read out of bounds (the 'cpu' kernels' loads of a row where D % 4 ≠ 0).
 */
export function scalarRowLoadWGSL(name: string, arr: string): string {
  return `fn ld_${name}(row: u32, d: u32) -> vec4<f32> {
  let e = P.dim - 1u;
  return vec4<f32>(select(0.0, f32(${arr}[row + min(d, e)]), d < P.dim),
                   select(0.0, f32(${arr}[row + min(d + 1u, e)]), d + 1u < P.dim),
                   select(0.0, f32(${arr}[row + min(d + 2u, e)]), d + 2u < P.dim),
                   select(0.0, f32(${arr}[row + min(d + 3u, e)]), d + 3u < P.dim));
}`;
}

/** Params, `unit_id`, `lse_push`, `lse_merge`. */
export function preludeWGSL(): string {
  return `${paramsWGSL()}
// The work unit (one per workgroup) of a dispatch laid out over x then y.
fn unit_id(wid: vec3<u32>) -> u32 {
  return wid.x + wid.y * P.wg_x;
}

// Online log-sum-exp: state (max m, sum s of exp(x - m)); s = 0 means empty (m = sentinel).
fn lse_push(st: vec2<f32>, x: f32) -> vec2<f32> {
  if (x > st.x) {
    return vec2<f32>(x, st.y * exp(st.x - x) + 1.0);
  }
  return vec2<f32>(st.x, st.y + exp(x - st.x));
}

fn lse_merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

fn lse_empty() -> vec2<f32> {
  return vec2<f32>(${NEG_SENTINEL}, 0.0);
}
`;
}

/** `fn atomic_add_<arr>(i: u32, v: f32)`: adds v to element i of `arr: array<atomic<u32>>` (f32 bits) by CAS. */
export function atomicAddWGSL(arr: string): string {
  return `
fn atomic_add_${arr}(i: u32, v: f32) {
  var old = atomicLoad(&${arr}[i]);
  loop {
    let r = atomicCompareExchangeWeak(&${arr}[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) {
      break;
    }
    old = r.old_value;
  }
}
`;
}
