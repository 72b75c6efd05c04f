/**
 * WGSL of the mean loss (reference.ts is the oracle; meanloss.cu the CUDA twin): one workgroup
 * of 256 sums the valid rows' losses (compensated f32 sums: WGSL has no f64, the CUDA kernel sums
 * in double) and counts them, writes the mean into out[step % ring] (the host reads the ring
 * back every few steps) and dValues = 1/count on valid rows, 0 elsewhere. With a `gradScale`
 * output bound (has_scale: the f16 engine's loss scaling, which back-propagates the sum) dValues
 * is 1 on valid rows and gradScale[0] = 1/count (0 when no row is valid); the mean is the same.
 */
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { type Decl, offsetFields, storageWGSL } from '../wgsl-view.js';

export const MEANLOSS_WORKGROUP = 256;

export const MEANLOSS_BUFFERS: readonly Decl[] = [
  ['values', 'f32', 'read'],
  ['targets', 'i32', 'read'],
  ['out', 'f32', 'rw'],
  ['dValues', 'f32', 'rw'],
  ['gradScale', 'f32', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const MEANLOSS_FIELDS: readonly ParamField[] = [
  ['N', 'u32'],
  ['ignore', 'i32'],
  ['ring', 'u32'],
  ['has_scale', 'u32'],
  ...offsetFields(MEANLOSS_BUFFERS),
];

export function meanLossWGSL(): string {
  const WG = MEANLOSS_WORKGROUP;
  return /* wgsl */ `
${paramsStructWGSL(MEANLOSS_FIELDS)}
${storageWGSL(MEANLOSS_BUFFERS)}
var<workgroup> sums: array<vec2<f32>, ${WG}>;
var<workgroup> counts: array<u32, ${WG}>;

// (sum, compensation) + x, Neumaier's variant of Kahan summation.
fn kadd(a: vec2<f32>, x: f32) -> vec2<f32> {
  let t = a.x + x;
  var c = a.y;
  if (abs(a.x) >= abs(x)) { c += (a.x - t) + x; } else { c += (x - t) + a.x; }
  return vec2<f32>(t, c);
}

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = vec2<f32>(0.0);
  var n = 0u;
  for (var i = lid; i < P.N; i += ${WG}u) {
    if (targets[P.targets_o + i] != P.ignore) {
      s = kadd(s, values[P.values_o + i]);
      n++;
    }
  }
  sums[lid] = s;
  counts[lid] = n;
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      let o = sums[lid + k];
      sums[lid] = kadd(kadd(sums[lid], o.x), o.y);
      counts[lid] += counts[lid + k];
    }
    workgroupBarrier();
  }
  let total = counts[0];
  var inv = 0.0;
  if (total > 0u) { inv = 1.0 / f32(total); }
  if (lid == 0u) {
    let sum = sums[0].x + sums[0].y;
    out[P.out_o + step_ctr[P.step_ctr_o] % P.ring] = sum * inv;
    if (P.has_scale != 0u) { gradScale[P.gradScale_o] = inv; }
  }
  // The rows' gradient: 1/count, or 1 (the sum's) when the scale 1/count goes to gradScale.
  let d = select(inv, 1.0, P.has_scale != 0u);
  for (var i = lid; i < P.N; i += ${WG}u) {
    dValues[P.dValues_o + i] = select(d, 0.0, targets[P.targets_o + i] == P.ignore);
  }
}
`;
}
