/**
 * Philox4x32-10 in WGSL. WGSL has no 64-bit integers, so the high word of a 32×32 product is built
 * from 16-bit halves, exactly as in `philox.ts`. Include this source in a shader, then call
 * `philox4x32_10(counter, key)`.
 */
export const philoxWGSL = /* wgsl */ `
// High 32 bits of a * b for u32 a, b (exact, from 16-bit halves).
fn cutrec_mulhi32(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let lolo = a_lo * b_lo;
  let hilo = a_hi * b_lo;
  let lohi = a_lo * b_hi;
  let hihi = a_hi * b_hi;
  let cross = (lolo >> 16u) + (hilo & 0xffffu) + (lohi & 0xffffu);
  return hihi + (hilo >> 16u) + (lohi >> 16u) + (cross >> 16u);
}

// Philox4x32-10 (Random123): counter ctr, key key.
fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var x = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r = r + 1u) {
    if (r > 0u) {
      k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
    }
    let hi0 = cutrec_mulhi32(0xd2511f53u, x.x);
    let lo0 = 0xd2511f53u * x.x;
    let hi1 = cutrec_mulhi32(0xcd9e8d57u, x.z);
    let lo1 = 0xcd9e8d57u * x.z;
    x = vec4<u32>(hi1 ^ x.y ^ k.x, lo1, hi0 ^ x.w ^ k.y, lo0);
  }
  return x;
}
`;
