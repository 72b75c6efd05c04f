/**
 * WGSL of AdamW over one flat buffer (reference.ts is the oracle; adamw.cu the CUDA twin): the
 * global Σg² (workgroup sums CAS-added into a zeroed scalar), the update with clipping and the
 * learning-rate schedule evaluated on the device from the step counter (updates completed), and
 * the counter's increment. WGSL has no f64: the schedule is evaluated in f32, and the bias
 * corrections 1 − β^t as −expm1(t·log β) with log β from the host (f64) and a series for small
 * |t·log β|, so they keep f32 relative accuracy at t = 1 where 1 − β is small. With a
 * `grad_scale` bound (has_scale, the f16 engine's loss scaling: meanLoss's 1/count) every use of
 * the gradient is s·g: Σ (s·g)², and the update's g. The optional 'act' copy of the parameters is
 * stored as the kernel's `act_t` (f32, or f16 with 'shader-f16'); everything else is f32.
 */
import { atomicAddWGSL } from '../../wgsl/common.wgsl.js';
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { unitWGSL } from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

export const ADAMW_WORKGROUP = 256;
/** Elements per invocation of the norm (grid-stride beyond). */
export const NORM_PER_THREAD = 16;
/** Most workgroups of the norm and the update (grid-stride loops beyond). */
export const ADAMW_MAX_UNITS = 1024;

export const NORM_BUFFERS: readonly Decl[] = [
  ['g', 'f32', 'read'],
  ['out', 'atomic<u32>', 'rw'],
  ['grad_scale', 'f32', 'read'],
];
export const NORM_FIELDS: readonly ParamField[] = [
  ['n', 'u32'],
  ['has_scale', 'u32'],
  ...offsetFields(NORM_BUFFERS),
];

export const UPDATE_BUFFERS: readonly Decl[] = [
  ['params', 'f32', 'rw'],
  ['grads', 'f32', 'read'],
  ['m', 'f32', 'rw'],
  ['v', 'f32', 'rw'],
  ['act', 'act_t', 'rw'],
  ['norm_sq', 'f32', 'read'],
  ['grad_scale', 'f32', 'read'],
  ['step_ctr', 'u32', 'read'],
];
export const UPDATE_FIELDS: readonly ParamField[] = [
  ['n', 'u32'],
  ['n_decay', 'u32'],
  ['has_act', 'u32'],
  ['has_scale', 'u32'],
  ['lr', 'f32'],
  ['min_ratio', 'f32'],
  ['b1', 'f32'],
  ['b2', 'f32'],
  ['omb1', 'f32'],
  ['omb2', 'f32'],
  ['log_b1', 'f32'],
  ['log_b2', 'f32'],
  ['wd', 'f32'],
  ['eps', 'f32'],
  ['clip', 'f32'],
  ['kind', 'u32'],
  ['warmup', 'u32'],
  ['total', 'u32'],
  ...offsetFields(UPDATE_BUFFERS),
];

export const STEP_BUFFERS: readonly Decl[] = [['step_ctr', 'u32', 'rw']];
export const STEP_FIELDS: readonly ParamField[] = offsetFields(STEP_BUFFERS);

export function gradNormWGSL(): string {
  return /* wgsl */ `
${paramsStructWGSL(NORM_FIELDS)}
${storageWGSL(NORM_BUFFERS)}
${unitWGSL}
${atomicAddWGSL('out')}
var<workgroup> red: array<f32, ${ADAMW_WORKGROUP}>;
@compute @workgroup_size(${ADAMW_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let threads = nwg.x * nwg.y * ${ADAMW_WORKGROUP}u;
  var gs = 1.0;
  if (P.has_scale != 0u) { gs = grad_scale[P.grad_scale_o]; }
  var s = 0.0;
  for (var i = unit_of(wid, nwg) * ${ADAMW_WORKGROUP}u + lid; i < P.n; i += threads) {
    let x = g[P.g_o + i] * gs;
    s = fma(x, x, s);
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = ${ADAMW_WORKGROUP / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
  if (lid == 0u) { atomic_add_out(P.out_o, red[0]); }
}
`;
}

export function adamwUpdateWGSL(act: WgslAct = 'f32'): string {
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(UPDATE_FIELDS)}
${storageWGSL(UPDATE_BUFFERS)}
${unitWGSL}
// learningRate(lr, schedule, step) of schedule.ts (f32).
fn lr_at(step: u32) -> f32 {
  let s = f32(step);
  if (step < P.warmup) { return P.lr * (s + 1.0) / f32(P.warmup); }
  if (P.kind == 0u) { return P.lr; }
  let min_lr = P.lr * P.min_ratio;
  let progress = min(1.0, (s - f32(P.warmup)) / (f32(P.total) - f32(P.warmup)));
  var shape = 1.0 - progress;
  if (P.kind == 1u) { shape = 0.5 * (1.0 + cos(3.141592653589793 * progress)); }
  return min_lr + (P.lr - min_lr) * shape;
}
// 1 − exp(x) for x ≤ 0, accurate for small |x|.
fn one_minus_exp(x: f32) -> f32 {
  if (x > -1.0e-3) { return -x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x / 24.0))); }
  return 1.0 - exp(x);
}
@compute @workgroup_size(${ADAMW_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let step = step_ctr[P.step_ctr_o];
  let t = f32(step) + 1.0;
  let lr = lr_at(step);
  let lr_wd = lr * P.wd;
  let inv_bc1 = 1.0 / one_minus_exp(t * P.log_b1);
  let inv_bc2 = 1.0 / one_minus_exp(t * P.log_b2);
  var scale = 1.0;
  if (P.clip > 0.0) { scale = min(1.0, P.clip / (sqrt(norm_sq[P.norm_sq_o]) + 1e-12)); }
  var gs = 1.0;
  if (P.has_scale != 0u) { gs = grad_scale[P.grad_scale_o]; }
  let threads = nwg.x * nwg.y * ${ADAMW_WORKGROUP}u;
  for (var i = unit_of(wid, nwg) * ${ADAMW_WORKGROUP}u + lid; i < P.n; i += threads) {
    let g = (grads[P.grads_o + i] * gs) * scale;
    let mi = fma(P.b1, m[P.m_o + i], P.omb1 * g);
    let vi = fma(P.b2, v[P.v_o + i], P.omb2 * g * g);
    m[P.m_o + i] = mi;
    v[P.v_o + i] = vi;
    let p = params[P.params_o + i];
    let update = (mi * inv_bc1) / (sqrt(vi * inv_bc2) + P.eps);
    var np = p - lr * update;
    if (i < P.n_decay) { np -= lr_wd * p; }
    params[P.params_o + i] = np;
    if (P.has_act != 0u) { act[P.act_o + i] = act_t(np); }
  }
}
`;
}

export function stepIncrementWGSL(): string {
  return /* wgsl */ `
${paramsStructWGSL(STEP_FIELDS)}
${storageWGSL(STEP_BUFFERS)}
@compute @workgroup_size(1)
fn main() {
  step_ctr[P.step_ctr_o] = step_ctr[P.step_ctr_o] + 1u;
}
`;
}
