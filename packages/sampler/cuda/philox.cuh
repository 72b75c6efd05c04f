// Philox4x32-10 (Random123) for CUDA C++, identical to @cutrec/sampler's TypeScript and WGSL.
// counter = [group, j, stream, 0], key = [seed mod 2^32, seed / 2^32] (see DESIGN.md).
#pragma once
#ifdef __CUDACC_RTC__
// NVRTC: no system headers; these are the fixed-width types the header needs.
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
#else
#include <stdint.h>
#endif

#ifndef CUTREC_HD
#define CUTREC_HD __host__ __device__ __forceinline__
#endif

struct cutrec_u32x4 {
  uint32_t x, y, z, w;
};

CUTREC_HD uint32_t cutrec_mulhi32(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
  return __umulhi(a, b);
#else
  return (uint32_t)(((uint64_t)a * (uint64_t)b) >> 32);
#endif
}

CUTREC_HD cutrec_u32x4 cutrec_philox4x32_10(cutrec_u32x4 ctr, uint32_t k0, uint32_t k1) {
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9e3779b9u;
      k1 += 0xbb67ae85u;
    }
    const uint32_t hi0 = cutrec_mulhi32(0xd2511f53u, ctr.x);
    const uint32_t lo0 = 0xd2511f53u * ctr.x;
    const uint32_t hi1 = cutrec_mulhi32(0xcd9e8d57u, ctr.z);
    const uint32_t lo1 = 0xcd9e8d57u * ctr.z;
    ctr = cutrec_u32x4{hi1 ^ ctr.y ^ k0, lo1, hi0 ^ ctr.w ^ k1, lo0};
  }
  return ctr;
}

// An item of [0, C) from a uniform word: the high 32 bits of w * C.
CUTREC_HD uint32_t cutrec_uniform_item(uint32_t w0, uint32_t num_items) { return cutrec_mulhi32(w0, num_items); }
