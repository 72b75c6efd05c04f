// float32 → bfloat16 copies, round to nearest even (src/ops/cast/reference.ts is the contract).
// Each thread converts the group 4g … 4g+3: as one float4 load and one 8-byte store when the
// group is full and the pointers are aligned (vec = 1, checked by the launcher).
#include "common.cuh"

extern "C" __global__ void cast_forward_bf16(const float* __restrict__ src, __nv_bfloat16* __restrict__ dst, int n,
                                             int vec) {
  const size_t e0 = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 4;
  if (e0 >= (size_t)n) return;
  if (vec && e0 + 4 <= (size_t)n) {
    const float4 v = *reinterpret_cast<const float4*>(src + e0);
    __nv_bfloat162 a = __floats2bfloat162_rn(v.x, v.y);
    __nv_bfloat162 b = __floats2bfloat162_rn(v.z, v.w);
    uint2 u;
    u.x = *reinterpret_cast<uint32_t*>(&a);
    u.y = *reinterpret_cast<uint32_t*>(&b);
    *reinterpret_cast<uint2*>(dst + e0) = u;
    return;
  }
  for (int j = 0; j < 4 && e0 + j < (size_t)n; j++) dst[e0 + j] = __float2bfloat16_rn(src[e0 + j]);
}
