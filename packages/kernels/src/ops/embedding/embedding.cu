// Embedding lookup with scale, learned positions, dropout and the padding mask, and its
// scatter-add backward (src/ops/embedding/reference.ts is the contract).
//
// Each thread owns one group of 4 consecutive flat elements e = 4g … 4g+3 of the [R, D] output,
// so one Philox call (dropout_mul4(g)) gives all 4 multipliers. vec = 1 (D % 4 == 0 and every
// pointer aligned, checked by the launcher) loads and stores the group as one vector; otherwise
// the group's elements are handled one by one (they may straddle rows).
#include "common.cuh"

namespace {

// 4 consecutive values of an activation array (16-byte float4 / 8-byte bf16x4; aligned).
__device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load4(const __nv_bfloat16* p) {
  uint2 u = *reinterpret_cast<const uint2*>(p);
  float2 a = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&u.x));
  float2 b = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&u.y));
  return make_float4(a.x, a.y, b.x, b.y);
}
__device__ __forceinline__ void store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ void store4(__nv_bfloat16* p, float4 v) {
  __nv_bfloat162 a = __floats2bfloat162_rn(v.x, v.y);
  __nv_bfloat162 b = __floats2bfloat162_rn(v.z, v.w);
  uint2 u;
  u.x = *reinterpret_cast<uint32_t*>(&a);
  u.y = *reinterpret_cast<uint32_t*>(&b);
  *reinterpret_cast<uint2*>(p) = u;
}
__device__ __forceinline__ float lane4(float4 v, int j) { return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w; }

// out[r, d] = (table[ids[r], d] · scale + pos[r mod L, d]) · mul(r·D + d) · [ids[r] ≠ padId]
template <typename T>
__device__ __forceinline__ void embedding_forward(const int* __restrict__ ids, const float* __restrict__ table,
                                                  const float* __restrict__ pos, T* __restrict__ out, int R,
                                                  int L, int D, float scale, int padId, const DropoutSite& drop,
                                                  int vec) {
  const size_t n = (size_t)R * D;
  const size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  const size_t e0 = g * 4;
  if (e0 >= n) return;
  const float4 m = dropout_mul4(drop, (uint32_t)g);
  if (vec) {  // D % 4 == 0: the group lies in one row
    const int r = (int)(e0 / D);
    const int d = (int)(e0 - (size_t)r * D);
    const int id = ids[r];
    float4 o = make_float4(0.f, 0.f, 0.f, 0.f);
    if (id != padId) {
      const float4 w = *reinterpret_cast<const float4*>(table + (size_t)id * D + d);
      const float4 p = *reinterpret_cast<const float4*>(pos + (size_t)(r % L) * D + d);
      o = make_float4((w.x * scale + p.x) * m.x, (w.y * scale + p.y) * m.y, (w.z * scale + p.z) * m.z,
                      (w.w * scale + p.w) * m.w);
    }
    store4(out + e0, o);
    return;
  }
  for (int j = 0; j < 4 && e0 + j < n; j++) {
    const size_t e = e0 + j;
    const int r = (int)(e / D);
    const int d = (int)(e - (size_t)r * D);
    const int id = ids[r];
    float o = 0.f;
    if (id != padId) o = (table[(size_t)id * D + d] * scale + pos[(size_t)(r % L) * D + d]) * lane4(m, j);
    out[e] = from_f<T>(o);
  }
}

// g = dOut · mul · [id ≠ pad]; dTable[id] += scale · g; dPos[r mod L] += g (float atomics).
template <typename T>
__device__ __forceinline__ void embedding_backward(const int* __restrict__ ids, const T* __restrict__ dOut,
                                                   float* dTable, float* dPos, int R, int L, int D, float scale,
                                                   int padId, const DropoutSite& drop, int vec) {
  const size_t n = (size_t)R * D;
  const size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  const size_t e0 = g * 4;
  if (e0 >= n) return;
  if (vec) {
    const int r = (int)(e0 / D);
    const int id = ids[r];
    if (id == padId) return;
    const int d = (int)(e0 - (size_t)r * D);
    const float4 m = dropout_mul4(drop, (uint32_t)g);
    const float4 go = load4(dOut + e0);
    float* tr = dTable + (size_t)id * D + d;
    float* pr = dPos + (size_t)(r % L) * D + d;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const float v = lane4(go, j) * lane4(m, j);
      if (lane4(m, j) != 0.f) {
        atomicAdd(tr + j, scale * v);
        atomicAdd(pr + j, v);
      }
    }
    return;
  }
  const float4 m = dropout_mul4(drop, (uint32_t)g);
  for (int j = 0; j < 4 && e0 + j < n; j++) {
    const size_t e = e0 + j;
    const int r = (int)(e / D);
    const int id = ids[r];
    const float mj = lane4(m, j);
    if (id == padId || mj == 0.f) continue;
    const int d = (int)(e - (size_t)r * D);
    const float v = to_f(dOut[e]) * mj;
    atomicAdd(dTable + (size_t)id * D + d, scale * v);
    atomicAdd(dPos + (size_t)(r % L) * D + d, v);
  }
}

}  // namespace

#define CUTREC_EMBEDDING(SUFFIX, T)                                                                          \
  extern "C" __global__ void embedding_forward_##SUFFIX(const int* ids, const float* table, const float* pos, \
                                                        T* out, int R, int L, int D, float scale, int padId,  \
                                                        DropoutSite drop, int vec) {                          \
    embedding_forward<T>(ids, table, pos, out, R, L, D, scale, padId, drop, vec);                            \
  }                                                                                                          \
  extern "C" __global__ void embedding_backward_##SUFFIX(const int* ids, const T* dOut, float* dTable,        \
                                                         float* dPos, int R, int L, int D, float scale,       \
                                                         int padId, DropoutSite drop, int vec) {              \
    embedding_backward<T>(ids, dOut, dTable, dPos, R, L, D, scale, padId, drop, vec);                        \
  }

CUTREC_EMBEDDING(f32, float)
CUTREC_EMBEDDING(bf16, __nv_bfloat16)
