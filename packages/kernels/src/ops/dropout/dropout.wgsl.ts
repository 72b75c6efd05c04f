/**
 * WGSL of the dropout-mask kernel: element e of a mask of n elements is 1/(1 − rate) when word
 * (e mod 4) of Philox4x32-10(counter = [floor(e / 4), site, stream, DROPOUT_TAG], key = seed key)
 * is below keepThreshold = floor((1 − rate) · 2^32), else 0 (mask.ts). One invocation writes 4
 * elements; the stream comes from the params (the tfjs path passes the step per call).
 */
import type { ParamField } from '../../wgsl/program.js';
import { paramsStructWGSL } from '../../wgsl/program.js';
import { dropoutCoreWGSL, dropoutFields, dropoutSiteWGSL, unitWGSL } from '../common.wgsl.js';

/** Invocations per workgroup. */
export const DROPOUT_WORKGROUP_SIZE = 64;

/** Params: n elements, the stream, and the site `d`. */
export const DROPOUT_MASK_FIELDS: readonly ParamField[] = [
  ['n', 'u32'],
  ['stream', 'u32'],
  ...dropoutFields('d'),
];

/** The WGSL source of the dropout-mask kernel (bindings: params, mask rw f32 [n]). */
export function dropoutMaskWGSL(): string {
  return /* wgsl */ `
${paramsStructWGSL(DROPOUT_MASK_FIELDS)}
@group(0) @binding(1) var<storage, read_write> mask: array<f32>;
${dropoutCoreWGSL}
${dropoutSiteWGSL('d', 'P.stream')}
${unitWGSL}
@compute @workgroup_size(${DROPOUT_WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = unit_of(wid, nwg) * ${DROPOUT_WORKGROUP_SIZE}u + lid;
  if (g >= (P.n + 3u) / 4u) { return; }
  let m = d_mul4(g);
  for (var j = 0u; j < 4u; j = j + 1u) {
    let e = g * 4u + j;
    if (e < P.n) { mask[e] = m[j]; }
  }
}
`;
}
