/**
 * WGSL of the cast op float32 → act (@cutrec/tensor's packF16 is the oracle; cast.cu is the CUDA
 * bf16 twin): an invocation per 4 consecutive elements. For act 'f16' each f32 is rounded to the
 * nearest f16, ties to even, overflow to ±∞, NaN kept quiet — in integer arithmetic on its bits,
 * exactly @cutrec/tensor's f32ToF16Bits, so the result is the same bits on every adapter (WGSL
 * leaves the rounding of a float conversion to the implementation). For act 'f32' it is a plain
 * copy of the bits. src binds as u32 (the f32's bits); dst is the kernel's `act_t`.
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
