/**
 * WGSL of the activation op (reference.ts is the contract; activation.cu the CUDA twin): one
 * invocation per group of 4 elements (one Philox call for their dropout multipliers),
 * out = act(pre) · mul(e); backward dPre = dOut · mul(e) · act'(pre). ReLU, or GELU in its tanh
 * form (evaluated as x·σ(2z), which is the same function without the cancellation of 1 + tanh z
 * for x ≪ 0). In place (out = pre; dPre = dOut or pre) the aliased input is read from the output
 * binding and its own binding is unbound. pre, out, dOut and dPre are stored as the kernel's `act_t`
 * (f32, or f16 with 'shader-f16'); the arithmetic is f32, rounded to act_t on store.
 */
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { dropoutCoreWGSL, dropoutFields, dropoutSiteWGSL, unitWGSL } from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

export const ACTIVATION_WORKGROUP = 256;

/** Which input the output is (read from the output binding), or none. */
export type ActivationAlias = 'none' | 'pre' | 'dOut';

export const ACTIVATION_FORWARD_BUFFERS: readonly Decl[] = [
  ['pre', 'act_t', 'read'],
  ['out', 'act_t', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
export const ACTIVATION_BACKWARD_BUFFERS: readonly Decl[] = [
  ['pre', 'act_t', 'read'],
  ['dOut', 'act_t', 'read'],
  ['dPre', 'act_t', 'rw'],
  ['step_ctr', 'u32', 'read'],
];
const SHAPE: ParamField[] = [
  ['n', 'u32'],
  ['kind', 'u32'],
];
export const ACTIVATION_FORWARD_FIELDS: readonly ParamField[] = [
  ...SHAPE,
  ...offsetFields(ACTIVATION_FORWARD_BUFFERS),
  ...dropoutFields('drop'),
];
export const ACTIVATION_BACKWARD_FIELDS: readonly ParamField[] = [
  ...SHAPE,
  ...offsetFields(ACTIVATION_BACKWARD_BUFFERS),
  ...dropoutFields('drop'),
];

const ACT = /* wgsl */ `
const GELU_C: f32 = 0.7978845608028654;
const GELU_A: f32 = 0.044715;
// σ(y) without overflow or cancellation on either side.
fn sigmoid(y: f32) -> f32 {
  if (y >= 0.0) { return 1.0 / (1.0 + exp(-y)); }
  let e = exp(y);
  return e / (1.0 + e);
}
// kind 0: ReLU, 1: GELU (tanh form): 0.5·x·(1 + tanh z) = x·σ(2z), z = C·(x + A·x³); the σ form
// keeps f32 relative accuracy where 1 + tanh z cancels (x ≪ 0).
fn act_fn(x: f32, kind: u32) -> f32 {
  if (kind == 0u) { return max(x, 0.0); }
  return x * sigmoid(2.0 * GELU_C * (x + GELU_A * x * x * x));
}
// d/dx: σ(2z) + x·2σ(2z)σ(−2z)·C·(1 + 3A·x²) (= 0.5(1 + t) + 0.5x(1 − t²)·z', t = tanh z).
fn act_grad(x: f32, kind: u32) -> f32 {
  if (kind == 0u) { return select(0.0, 1.0, x > 0.0); }
  let z2 = 2.0 * GELU_C * (x + GELU_A * x * x * x);
  let s = sigmoid(z2);
  return s + x * 2.0 * s * sigmoid(-z2) * GELU_C * (1.0 + 3.0 * GELU_A * x * x);
}
`;

function head(fields: readonly ParamField[], decls: readonly Decl[], act: WgslAct): string {
  return `${actHeaderWGSL(act)}${paramsStructWGSL(fields)}\n${storageWGSL(decls)}\n${dropoutCoreWGSL}\n${dropoutSiteWGSL('drop')}\n${unitWGSL}\n${ACT}`;
}

export function activationForwardWGSL(alias: ActivationAlias, act: WgslAct = 'f32'): string {
  const pre = alias === 'pre' ? 'out[P.out_o' : 'pre[P.pre_o';
  return /* wgsl */ `${head(ACTIVATION_FORWARD_FIELDS, ACTIVATION_FORWARD_BUFFERS, act)}
@compute @workgroup_size(${ACTIVATION_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = unit_of(wid, nwg) * ${ACTIVATION_WORKGROUP}u + lid;
  if (g >= (P.n + 3u) / 4u) { return; }
  let m = drop_mul4(g);
  for (var j = 0u; j < 4u; j++) {
    let e = g * 4u + j;
    if (e >= P.n) { break; }
    out[P.out_o + e] = act_t(act_fn(f32(${pre} + e]), P.kind) * m[j]);
  }
}
`;
}

export function activationBackwardWGSL(alias: ActivationAlias, act: WgslAct = 'f32'): string {
  const pre = alias === 'pre' ? 'dPre[P.dPre_o' : 'pre[P.pre_o';
  const dOut = alias === 'dOut' ? 'dPre[P.dPre_o' : 'dOut[P.dOut_o';
  return /* wgsl */ `${head(ACTIVATION_BACKWARD_FIELDS, ACTIVATION_BACKWARD_BUFFERS, act)}
@compute @workgroup_size(${ACTIVATION_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = unit_of(wid, nwg) * ${ACTIVATION_WORKGROUP}u + lid;
  if (g >= (P.n + 3u) / 4u) { return; }
  let m = drop_mul4(g);
  for (var j = 0u; j < 4u; j++) {
    let e = g * 4u + j;
    if (e >= P.n) { break; }
    dPre[P.dPre_o + e] = act_t(f32(${dOut} + e]) * m[j] * act_grad(f32(${pre} + e]), P.kind));
  }
}
`;
}
