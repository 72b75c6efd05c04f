// Shared pieces of cutrec's layer-op CUDA kernels (src/ops/<op>/<op>.cu): storage types, the
// dropout mask (Philox, bit-identical to @cutrec/models' dropoutMaskHost) and the step counter
// read from device memory (so a captured CUDA graph draws fresh masks every replay).
#pragma once
#include <cuda_bf16.h>
#include <stddef.h>
#include <stdint.h>

#include "philox.cuh"  // from @cutrec/sampler (packages/sampler/cuda), found at build time

// Counter word 3 of dropout draws (models/src/dropout/dropout-mask.wgsl.ts DROPOUT_TAG).
#define CUTREC_DROPOUT_TAG 0xd20f0003u

// A dropout site, passed by value. Element e of a tensor of n elements keeps (×scale) when
// word (e & 3) of Philox4x32-10(counter [e >> 2, site, *step, TAG], key [k0, k1]) < threshold,
// else is 0. enabled = 0 means identity (rate 0 or not training): no mask at all.
struct DropoutSite {
  uint32_t k0, k1;
  uint32_t site;
  uint32_t threshold;  // floor((1 - rate) * 2^32), clamped to 2^32 - 1
  float scale;         // 1 / (1 - rate)
  int enabled;
  const uint32_t* step;  // device pointer to the step counter (the mask's stream)
};

// The multiplier of element e (0, scale, or 1 when disabled).
__device__ __forceinline__ float dropout_mul(const DropoutSite& d, uint32_t e) {
  if (!d.enabled) return 1.f;
  cutrec_u32x4 w = cutrec_philox4x32_10(cutrec_u32x4{e >> 2, d.site, *d.step, CUTREC_DROPOUT_TAG}, d.k0, d.k1);
  uint32_t x = (e & 3u) == 0 ? w.x : (e & 3u) == 1 ? w.y : (e & 3u) == 2 ? w.z : w.w;
  return x < d.threshold ? d.scale : 0.f;
}

// The multipliers of elements 4g … 4g+3 (one Philox call).
__device__ __forceinline__ float4 dropout_mul4(const DropoutSite& d, uint32_t g) {
  if (!d.enabled) return make_float4(1.f, 1.f, 1.f, 1.f);
  cutrec_u32x4 w = cutrec_philox4x32_10(cutrec_u32x4{g, d.site, *d.step, CUTREC_DROPOUT_TAG}, d.k0, d.k1);
  return make_float4(w.x < d.threshold ? d.scale : 0.f, w.y < d.threshold ? d.scale : 0.f,
                     w.z < d.threshold ? d.scale : 0.f, w.w < d.threshold ? d.scale : 0.f);
}

// The multipliers of elements e and e + 1 (one Philox call, two when e + 1 starts the next group).
__device__ __forceinline__ float2 dropout_mul2(const DropoutSite& d, uint32_t e) {
  if (!d.enabled) return make_float2(1.f, 1.f);
  const uint32_t r = e & 3u;
  cutrec_u32x4 w = cutrec_philox4x32_10(cutrec_u32x4{e >> 2, d.site, *d.step, CUTREC_DROPOUT_TAG}, d.k0, d.k1);
  const uint32_t a = r == 0 ? w.x : r == 1 ? w.y : r == 2 ? w.z : w.w;
  uint32_t b = r == 0 ? w.y : r == 1 ? w.z : w.w;
  if (r == 3) b = cutrec_philox4x32_10(cutrec_u32x4{(e >> 2) + 1, d.site, *d.step, CUTREC_DROPOUT_TAG}, d.k0, d.k1).x;
  return make_float2(a < d.threshold ? d.scale : 0.f, b < d.threshold ? d.scale : 0.f);
}

// Storage types: activations are float or bf16; arithmetic is always float.
__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T>
__device__ __forceinline__ T from_f(float x);
template <>
__device__ __forceinline__ float from_f<float>(float x) { return x; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

static_assert(sizeof(DropoutSite) == 32 && offsetof(DropoutSite, scale) == 16 && offsetof(DropoutSite, step) == 24,
              "DropoutSite layout changed: update src/ops/dropout/site.ts");
