// Point-wise activation (ReLU or tanh-GELU) followed by dropout, and its backward
// (src/ops/activation/reference.ts is the contract). Each thread owns the group of elements
// 4g … 4g+3 (one Philox call for the 4 dropout multipliers); a full group at aligned pointers
// (vec = 1, checked by the launcher) is moved as one vector, a ragged tail element by element.
#include "common.cuh"

namespace {

__device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load4(const __nv_bfloat16* p) {
  uint2 u = *reinterpret_cast<const uint2*>(p);
  const float2 a = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&u.x));
  const float2 b = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&u.y));
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

constexpr float kGeluC = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluA = 0.044715f;

// kind 0: ReLU, 1: GELU (tanh form, models/src/layers.ts).
__device__ __forceinline__ float act(float x, int kind) {
  if (kind == 0) return x > 0.f ? x : 0.f;
  return 0.5f * x * (1.f + tanhf(kGeluC * (x + kGeluA * x * x * x)));
}
__device__ __forceinline__ float act_grad(float x, int kind) {
  if (kind == 0) return x > 0.f ? 1.f : 0.f;
  const float t = tanhf(kGeluC * (x + kGeluA * x * x * x));
  return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kGeluC * (1.f + 3.f * kGeluA * x * x);
}

template <typename T>
__device__ __forceinline__ void activation_forward(const T* pre, T* out, int n, int kind, const DropoutSite& drop,
                                                   int vec) {
  const uint32_t g = blockIdx.x * blockDim.x + threadIdx.x;
  const size_t e0 = (size_t)g * 4;
  if (e0 >= (size_t)n) return;
  const float4 m = dropout_mul4(drop, g);
  if (vec && e0 + 4 <= (size_t)n) {
    const float4 p = load4(pre + e0);
    store4(out + e0, make_float4(act(p.x, kind) * m.x, act(p.y, kind) * m.y, act(p.z, kind) * m.z,
                                 act(p.w, kind) * m.w));
    return;
  }
  for (int j = 0; j < 4 && e0 + j < (size_t)n; j++) out[e0 + j] = from_f<T>(act(to_f(pre[e0 + j]), kind) * lane4(m, j));
}

template <typename T>
__device__ __forceinline__ void activation_backward(const T* pre, const T* dOut, T* dPre, int n, int kind,
                                                    const DropoutSite& drop, int vec) {
  const uint32_t g = blockIdx.x * blockDim.x + threadIdx.x;
  const size_t e0 = (size_t)g * 4;
  if (e0 >= (size_t)n) return;
  const float4 m = dropout_mul4(drop, g);
  if (vec && e0 + 4 <= (size_t)n) {
    const float4 p = load4(pre + e0);
    const float4 d = load4(dOut + e0);
    store4(dPre + e0, make_float4(d.x * m.x * act_grad(p.x, kind), d.y * m.y * act_grad(p.y, kind),
                                  d.z * m.z * act_grad(p.z, kind), d.w * m.w * act_grad(p.w, kind)));
    return;
  }
  for (int j = 0; j < 4 && e0 + j < (size_t)n; j++) {
    const size_t e = e0 + j;
    dPre[e] = from_f<T>(to_f(dOut[e]) * lane4(m, j) * act_grad(to_f(pre[e]), kind));
  }
}

}  // namespace

#define CUTREC_ACTIVATION(SUFFIX, T)                                                                           \
  extern "C" __global__ void activation_forward_##SUFFIX(const T* pre, T* out, int n, int kind,                \
                                                         DropoutSite drop, int vec) {                          \
    activation_forward<T>(pre, out, n, kind, drop, vec);                                                       \
  }                                                                                                            \
  extern "C" __global__ void activation_backward_##SUFFIX(const T* pre, const T* dOut, T* dPre, int n, int kind, \
                                                          DropoutSite drop, int vec) {                         \
    activation_backward<T>(pre, dOut, dPre, n, kind, drop, vec);                                               \
  }

CUTREC_ACTIVATION(f32, float)
CUTREC_ACTIVATION(bf16, __nv_bfloat16)
