/**
 * WGSL of the dropout-mask kernel: element e of a mask of n elements is 1/(1 − rate) when word
 * (e mod 4) of Philox4x32-10(counter = [floor(e / 4), site, stream, DROPOUT_TAG], key = seed key)
 * is below keepThreshold = floor((1 − rate) · 2^32), else 0. One invocation writes 4 elements.
 */
import { DROPOUT_TAG } from '@cutrec/kernels';
import { philoxWGSL } from '@cutrec/sampler';

/** Invocations per workgroup. */
export const DROPOUT_WORKGROUP_SIZE = 64;

/** The WGSL source of the dropout-mask kernel. */
export function dropoutMaskWGSL(): string {
  return /* wgsl */ `
${philoxWGSL}

struct Params {
  n: u32,
  site: u32,
  stream: u32,
  keepThreshold: u32,
  key0: u32,
  key1: u32,
  scale: f32,
  pad: u32,
};

@group(0) @binding(0) var<storage, read_write> mask: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(${DROPOUT_WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.y * nwg.x + wid.x) * ${DROPOUT_WORKGROUP_SIZE}u + lid;
  let first = g * 4u;
  if (first >= params.n) { return; }
  let w = philox4x32_10(vec4<u32>(g, params.site, params.stream, ${DROPOUT_TAG}u), vec2<u32>(params.key0, params.key1));
  for (var j = 0u; j < 4u; j = j + 1u) {
    let e = first + j;
    if (e < params.n) {
      mask[e] = select(0.0, params.scale, w[j] < params.keepThreshold);
    }
  }
}
`;
}
