// Shared pieces of cutrec's CCE- CUDA kernels: the argument block, element loads of f32/f16/bf16,
// the negative draw (the sampler's cutrec_draw from @cutrec/sampler) and vector float atomics.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "sampler.cuh"  // from @cutrec/sampler (packages/sampler/cuda), found at build time

#define CCE_NEG_INF (-__int_as_float(0x7f800000))
#define CCE_FLAG_LOGQ 1
#define CCE_FLAG_REMOVE_HITS 2

// Modes: the share modes of the sampler plus full-catalog cross-entropy.
#define CCE_MODE_ROW 0
#define CCE_MODE_BLOCK 1
#define CCE_MODE_BATCH 2
#define CCE_MODE_ALL 3

// Every kernel takes this block by value. The TypeScript side (src/cuda/args.ts) packs the same
// layout; the static_asserts below pin it.
struct CceArgs {
  const void* H;       // [N, D] hidden, element type of the kernel
  const void* W;       // [C, D] items
  const int* Y;        // [N] targets
  const uint32_t* sa;  // sampler table a (popularity prob / in-batch items)
  const uint32_t* sb;  // sampler table b (popularity alias)
  const float* slq;    // sampler log q (per item / per in-batch position)
  float* loss;         // [N] forward output
  float* lse;          // [N] forward output, backward input
  const float* dLoss;  // [N] backward input (0 for ignored rows)
  float* dH;           // [N, D] backward output (written)
  float* dW;           // [C, D] backward output (accumulated; zeroed by the caller)
  int N, C, D, K;      // K = C for mode ALL
  int mode, blockRows;
  uint32_t k0, k1, stream;
  uint32_t skind;
  uint32_t sn;  // sampler n (numItems, or numValid for in-batch)
  int flags;
  int ignoreIndex;
  float logK;
  int tilesPerGroup;  // tile kernels: row tiles per negative group; row backward: first item of this pass
  int itemHi;         // row backward: end of this pass's item range (0: no range)
  const uint32_t* streamPtr;  // when set, the stream is read here (a graph replays with the step in device memory)
};
static_assert(sizeof(CceArgs) == 160, "CceArgs layout changed: update src/cuda/args.ts");
static_assert(offsetof(CceArgs, N) == 88 && offsetof(CceArgs, k0) == 112 && offsetof(CceArgs, logK) == 140 &&
                  offsetof(CceArgs, streamPtr) == 152,
              "CceArgs layout changed: update src/cuda/args.ts");

__device__ __forceinline__ uint32_t cce_group(const CceArgs& a, int row) {
  return cutrec_group((uint32_t)row, (uint32_t)a.mode, (uint32_t)a.blockRows);
}

// Negative j of group g: its item (or -1 for none) and the additive term of its logit
// (−log(K·q) with logQ, 0 without; −inf for a slot past K).
__device__ __forceinline__ int cce_negative(const CceArgs& a, uint32_t g, int j, float* adj) {
  if (j >= a.K) {
    *adj = CCE_NEG_INF;
    return -1;
  }
  if (a.mode == CCE_MODE_ALL) {
    *adj = 0.f;
    return j;
  }
  cutrec_sampler s{a.skind, a.sn, a.k0, a.k1, a.sa, a.sb, a.slq};
  cutrec_draw_t d = cutrec_draw(s, g, (uint32_t)j, a.streamPtr ? *a.streamPtr : a.stream);
  if (d.item == 0xffffffffu) {
    *adj = CCE_NEG_INF;
    return -1;
  }
  *adj = (a.flags & CCE_FLAG_LOGQ) ? -(a.logK + d.log_q) : 0.f;
  return (int)d.item;
}

// ---- element loads: VEC consecutive elements as floats ----
template <typename T>
struct Elem;
template <>
struct Elem<float> {
  static constexpr int kVec = 4;  // 16-byte loads
  __device__ static float to_f(float x) { return x; }
};
template <>
struct Elem<__half> {
  static constexpr int kVec = 8;
  __device__ static float to_f(__half x) { return __half2float(x); }
};
template <>
struct Elem<__nv_bfloat16> {
  static constexpr int kVec = 8;
  __device__ static float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
};

template <typename T, int VEC>
__device__ __forceinline__ void load_vec(const T* __restrict__ p, float* out) {
  if constexpr (VEC == Elem<T>::kVec) {
    const uint4 raw = __ldg(reinterpret_cast<const uint4*>(p));
    if constexpr (sizeof(T) == 4) {
      out[0] = __uint_as_float(raw.x);
      out[1] = __uint_as_float(raw.y);
      out[2] = __uint_as_float(raw.z);
      out[3] = __uint_as_float(raw.w);
    } else {
      const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int q = 0; q < 8; ++q) out[q] = Elem<T>::to_f(e[q]);
    }
  } else {
#pragma unroll
    for (int q = 0; q < VEC; ++q) out[q] = Elem<T>::to_f(p[q]);
  }
}

// dst[0..VEC) += v[0..VEC) atomically; 16-byte vector atomics on sm_90 when aligned.
template <int VEC>
__device__ __forceinline__ void atomic_add_vec(float* dst, const float* v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if constexpr (VEC % 4 == 0) {
#pragma unroll
    for (int q = 0; q < VEC; q += 4) atomicAdd(reinterpret_cast<float4*>(dst + q), make_float4(v[q], v[q + 1], v[q + 2], v[q + 3]));
    return;
  }
#endif
#pragma unroll
  for (int q = 0; q < VEC; ++q) atomicAdd(dst + q, v[q]);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Merges two (max, sum-of-exp) pairs of an online log-sum-exp.
__device__ __forceinline__ void lse_merge(float& m, float& l, float m2, float l2) {
  if (m2 == CCE_NEG_INF) return;
  if (m == CCE_NEG_INF) {
    m = m2;
    l = l2;
    return;
  }
  if (m2 > m) {
    l = l * __expf(m - m2) + l2;
    m = m2;
  } else {
    l += l2 * __expf(m2 - m);
  }
}
