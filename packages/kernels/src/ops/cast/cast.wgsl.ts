/**
 * WGSL of the cast op float32 → act (@cutrec/tensor's packF16 is the oracle; cast.cu is the CUDA
 * bf16 twin): an invocation per 4 consecutive elements. For act 'f16' each f32 is rounded to the
 * nearest f16, ties to even, overflow to ±∞, NaN kept quiet — in integer arithmetic on its bits,
 * exactly @cutrec/tensor's f32ToF16Bits, so the result is the same bits on every adapter (WGSL
 * leaves the rounding of a float conversion to the implementation). For act 'f32' it is a plain
 * copy of the bits. src binds as u32 (the f32's bits); dst is the kernel's `act_t`.
 *
 * One buffer (src and dst disjoint ranges of the same buffer, as the post-norm step's dHid and
 * dOut in qkvGrad; WebGPU forbids binding one buffer read-only and writable in a dispatch): the
 * buffer binds once as read_write u32 words and an invocation writes whole words of dst, two f16
 * each, keeping the half of a boundary word that lies outside dst.
 */
import { type ParamField, paramsStructWGSL } from '../../wgsl/program.js';
import { unitWGSL } from '../common.wgsl.js';
import { actHeaderWGSL, type Decl, offsetFields, storageWGSL, type WgslAct } from '../wgsl-view.js';

export const CAST_WORKGROUP = 256;
/** Elements per invocation. */
export const CAST_PER_THREAD = 4;

export const CAST_BUFFERS: readonly Decl[] = [
  ['src', 'u32', 'read'],
  ['dst', 'act_t', 'rw'],
];
export const CAST_FIELDS: readonly ParamField[] = [['n', 'u32'], ...offsetFields(CAST_BUFFERS)];
/**
 * The one-buffer variant (f16 only): the buffer's words from word `buf_o` of the binding on; src at
 * word `src_o` and dst at f16 element `dst_o`, both counted from there.
 */
export const CAST_ONE_BUFFERS: readonly Decl[] = [['buf', 'u32', 'rw']];
export const CAST_ONE_FIELDS: readonly ParamField[] = [
  ['n', 'u32'],
  ['buf_o', 'u32'],
  ['src_o', 'u32'],
  ['dst_o', 'u32'],
];

/** f32 bits → f16 bits (ties to even), as f32ToF16Bits in @cutrec/tensor's half.ts. */
const F16_BITS = /* wgsl */ `
fn f16_bits(bits: u32) -> u32 {
  let sign = (bits >> 16u) & 0x8000u;
  let ex = i32((bits >> 23u) & 0xffu);
  let mant = bits & 0x7fffffu;
  if (ex == 0xff) {
    if (mant != 0u) { return sign | 0x7c00u | 0x200u | (mant >> 13u); }
    return sign | 0x7c00u;
  }
  let e = ex - 127 + 15;
  if (e >= 0x1f) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    let m = mant | 0x800000u;
    let shift = u32(14 - e);
    let q = m >> shift;
    let rem = m & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    let up = rem > half || (rem == half && (q & 1u) == 1u);
    return sign | (q + select(0u, 1u, up));
  }
  var h = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) { h += 1u; }
  return sign | h;
}
`;

export function castWGSL(act: WgslAct = 'f32'): string {
  const store =
    act === 'f16'
      ? 'dst[P.dst_o + e] = bitcast<vec2<f16>>(f16_bits(src[P.src_o + e])).x;'
      : 'dst[P.dst_o + e] = bitcast<f32>(src[P.src_o + e]);';
  return /* wgsl */ `${actHeaderWGSL(act)}
${paramsStructWGSL(CAST_FIELDS)}
${storageWGSL(CAST_BUFFERS)}
${unitWGSL}
${act === 'f16' ? F16_BITS : ''}
@compute @workgroup_size(${CAST_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = unit_of(wid, nwg) * ${CAST_WORKGROUP}u + lid;
  for (var j = 0u; j < ${CAST_PER_THREAD}u; j++) {
    let e = g * ${CAST_PER_THREAD}u + j;
    if (e >= P.n) { break; }
    ${store}
  }
}
`;
}

/**
 * The one-buffer cast (f16): an invocation per word of dst's range (f16 elements [dst_o, dst_o + n)
 * of the binding, two per word); each half inside the range is the rounded src element, a half
 * outside it (the first or last word) is kept.
 */
export function castOneBufferWGSL(): string {
  return /* wgsl */ `${paramsStructWGSL(CAST_ONE_FIELDS)}
${storageWGSL(CAST_ONE_BUFFERS)}
${unitWGSL}
${F16_BITS}
@compute @workgroup_size(${CAST_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let first = P.dst_o / 2u;
  let w = first + unit_of(wid, nwg) * ${CAST_WORKGROUP}u + lid;
  if (w > (P.dst_o + P.n - 1u) / 2u) { return; }
  var word = buf[P.buf_o + w];
  for (var h = 0u; h < 2u; h++) {
    let e = 2u * w + h; // f16 element of the binding
    if (e < P.dst_o || e >= P.dst_o + P.n) { continue; }
    let bits = f16_bits(buf[P.buf_o + P.src_o + (e - P.dst_o)]);
    word = (word & ~(0xffffu << (16u * h))) | (bits << (16u * h));
  }
  buf[P.buf_o + w] = word;
}
`;
}
