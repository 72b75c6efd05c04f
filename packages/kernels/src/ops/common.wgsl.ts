/**
 * WGSL shared by the layer ops' WebGPU kernels (src/ops/<op>/<op>.wgsl.ts), the counterpart of
 * common.cuh: the dropout site (Philox mask, bit-identical to `dropoutMaskHost`), the step
 * counter binding and the work-unit index of a 2-D dispatch.
 *
 * A dropout site is six fields of the kernel's Params (`<p>_k0 <p>_k1 <p>_site <p>_thr <p>_scale
 * <p>_on`, see {@link dropoutFields}); its stream is the training step, read at run time from the
 * `step_ctr` storage binding (a u32: updates completed, as CUDA's `DropoutSite.step`), so a
 * recorded step draws fresh masks each replay without rewriting any params.
 */
import { philoxWGSL, seedKey } from '@cutrec/sampler';
import type { ParamField, ParamValues } from '../wgsl/program.js';
import { DROPOUT_TAG, keepThreshold } from './dropout/mask.js';

/** A dropout site of a WGSL op: rate 0 (or none) is the identity; the stream is the step counter. */
export interface WgslDropout {
  seed: number;
  site: number;
  rate: number;
}

/** The Params fields of dropout site `p`. */
export function dropoutFields(p: string): ParamField[] {
  return [
    [`${p}_k0`, 'u32'],
    [`${p}_k1`, 'u32'],
    [`${p}_site`, 'u32'],
    [`${p}_thr`, 'u32'],
    [`${p}_scale`, 'f32'],
    [`${p}_on`, 'u32'],
  ];
}

/** The values of dropout site `p`'s fields for `d` (undefined or rate 0: disabled). */
export function dropoutParams(p: string, d: WgslDropout | undefined): ParamValues {
  if (!d || d.rate === 0) return { [`${p}_on`]: 0 };
  if (!(d.rate > 0 && d.rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${d.rate}`);
  const [k0, k1] = seedKey(d.seed);
  return {
    [`${p}_k0`]: k0,
    [`${p}_k1`]: k1,
    [`${p}_site`]: d.site >>> 0,
    [`${p}_thr`]: keepThreshold(d.rate),
    [`${p}_scale`]: 1 / (1 - d.rate),
    [`${p}_on`]: 1,
  };
}

/** Philox and `philox_drop4(k0, k1, site, stream, thr, scale, g)`: the multipliers of elements 4g … 4g+3. */
export const dropoutCoreWGSL = /* wgsl */ `
${philoxWGSL}
fn philox_drop4(k0: u32, k1: u32, site: u32, stream: u32, thr: u32, scale: f32, g: u32) -> vec4<f32> {
  let w = philox4x32_10(vec4<u32>(g, site, stream, ${DROPOUT_TAG}u), vec2<u32>(k0, k1));
  return select(vec4<f32>(0.0), vec4<f32>(scale), w < vec4<u32>(thr));
}
`;

/**
 * `fn <p>_mul(e: u32) -> f32` and `fn <p>_mul4(g: u32) -> vec4<f32>` of site `p`, with the
 * stream read from `stream` (a WGSL expression; default the `step_ctr` storage binding's element
 * at `P.step_ctr_o`, as wgsl-view.ts binds it). 1 when disabled.
 */
export function dropoutSiteWGSL(p: string, stream = 'step_ctr[P.step_ctr_o]'): string {
  return /* wgsl */ `
fn ${p}_mul4(g: u32) -> vec4<f32> {
  if (P.${p}_on == 0u) { return vec4<f32>(1.0); }
  return philox_drop4(P.${p}_k0, P.${p}_k1, P.${p}_site, ${stream}, P.${p}_thr, P.${p}_scale, g);
}
fn ${p}_mul(e: u32) -> f32 {
  if (P.${p}_on == 0u) { return 1.0; }
  return ${p}_mul4(e >> 2u)[e & 3u];
}
`;
}

/** `fn unit_of(wid, nwg) -> u32`: the work unit (workgroup) of a dispatch laid out over x then y. */
export const unitWGSL = /* wgsl */ `
fn unit_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}
`;

/**
 * Column sums over chunks of rows (the bias gradient, layer norm's dGamma and dBeta): a workgroup
 * of COLSUM_COLS columns × COLSUM_LANES lanes, each lane summing every COLSUM_LANES-th row of the
 * chunk; the lanes meet in workgroup memory and lane 0 CAS-adds the column's sums. At most
 * COLSUM_CHUNKS chunks add into one address (many more serialise on it: 2,048 chunks took 8 ms per
 * call at R 131,072 on an H200); the lanes keep the GPU full with that few (a single invocation per
 * column and chunk left the H200 at an eighth of its occupancy: 0.47 ms per 128 MiB).
 */
export const COLSUM_COLS = 32;
export const COLSUM_LANES = 8;
export const COLSUM_WORKGROUP = COLSUM_COLS * COLSUM_LANES;
export const COLSUM_CHUNKS = 128;
/** Rows per chunk for R rows: at least `minRows`, and at most COLSUM_CHUNKS chunks. */
export function colSumRows(R: number, minRows = 64): number {
  return Math.max(minRows, Math.ceil(R / COLSUM_CHUNKS));
}

/**
 * `fn col_lanes_meet(lid, v) -> array<f32, n>`: every invocation passes its lane's n sums (call it
 * from uniform control flow: it has a barrier); lane 0 gets its column's totals over all lanes.
 */
export function colLanesMeetWGSL(n: number): string {
  return /* wgsl */ `
var<workgroup> col_lanes: array<f32, ${n * COLSUM_WORKGROUP}>;
fn col_lanes_meet(lid: u32, v: array<f32, ${n}>) -> array<f32, ${n}> {
  for (var i = 0u; i < ${n}u; i++) { col_lanes[i * ${COLSUM_WORKGROUP}u + lid] = v[i]; }
  workgroupBarrier();
  var t: array<f32, ${n}>;
  let col = lid % ${COLSUM_COLS}u;
  for (var i = 0u; i < ${n}u; i++) {
    for (var l = 0u; l < ${COLSUM_LANES}u; l++) { t[i] += col_lanes[i * ${COLSUM_WORKGROUP}u + l * ${COLSUM_COLS}u + col]; }
  }
  return t;
}
`;
}
