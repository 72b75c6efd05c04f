// @cutrec/sampler for CUDA C++: the draws of DESIGN.md's sampling contract, identical bit for bit
// to negatives() in TypeScript and cutrec_draw in WGSL (src/sampler.wgsl.ts).
//
//   words  = Philox4x32-10(counter [group, j, stream, 0], key [seed mod 2^32, seed / 2^32])
//   uniform:    item = high32(w0 * n),                     n = numItems, log_q = -log(n)
//   popularity: col  = high32(w0 * n); item = w1 < prob[col] ? col : alias[col],
//               n = numItems, log_q = log_q[item]           (tables from samplerBuffers())
//   inBatch:    p    = high32(w0 * n); item = items[p],     n = numValid, log_q = log_q[p]
//               (n = 0: item 0xffffffff, nothing read)
#pragma once
#include "philox.cuh"
#ifndef __CUDACC_RTC__
#include <math.h>
#endif

// Sampler kinds, as in cutrec_sampler::kind.
#define CUTREC_SAMPLER_UNIFORM 0u
#define CUTREC_SAMPLER_POPULARITY 1u
#define CUTREC_SAMPLER_IN_BATCH 2u

// Share modes, as cutrec_group's share_mode (WGSL's shareMode()).
#define CUTREC_SHARE_ROW 0u
#define CUTREC_SHARE_BLOCK 1u
#define CUTREC_SHARE_BATCH 2u

struct cutrec_draw_t {
  uint32_t item;
  float log_q;
};

// The group a row draws under: share_mode 0 row, 1 row / block_rows, 2 zero.
CUTREC_HD uint32_t cutrec_group(uint32_t row, uint32_t share_mode, uint32_t block_rows) {
  if (share_mode == CUTREC_SHARE_ROW) return row;
  if (share_mode == CUTREC_SHARE_BLOCK) return row / block_rows;
  return 0u;
}

// The four Philox words of draw (grp, j, stream) under key (k0, k1).
CUTREC_HD cutrec_u32x4 cutrec_words(uint32_t k0, uint32_t k1, uint32_t grp, uint32_t j, uint32_t stream) {
  return cutrec_philox4x32_10(cutrec_u32x4{grp, j, stream, 0u}, k0, k1);
}

// Uniform over [0, n): n = numItems.
CUTREC_HD cutrec_draw_t cutrec_draw_uniform(uint32_t k0, uint32_t k1, uint32_t grp, uint32_t j, uint32_t stream,
                                            uint32_t n) {
  const cutrec_u32x4 w = cutrec_words(k0, k1, grp, j, stream);
  return cutrec_draw_t{cutrec_mulhi32(w.x, n), -logf((float)n)};
}

// Popularity through the alias table: n = numItems; prob, alias, log_q have n entries.
CUTREC_HD cutrec_draw_t cutrec_draw_popularity(uint32_t k0, uint32_t k1, uint32_t grp, uint32_t j, uint32_t stream,
                                               uint32_t n, const uint32_t* __restrict__ prob,
                                               const uint32_t* __restrict__ alias,
                                               const float* __restrict__ log_q) {
  const cutrec_u32x4 w = cutrec_words(k0, k1, grp, j, stream);
  const uint32_t col = cutrec_mulhi32(w.x, n);
  const uint32_t item = w.y < prob[col] ? col : alias[col];
  return cutrec_draw_t{item, log_q[item]};
}

// In-batch: n = numValid; items and log_q (per position) have n entries.
CUTREC_HD cutrec_draw_t cutrec_draw_in_batch(uint32_t k0, uint32_t k1, uint32_t grp, uint32_t j, uint32_t stream,
                                             uint32_t n, const uint32_t* __restrict__ items,
                                             const float* __restrict__ log_q) {
  if (n == 0u) return cutrec_draw_t{0xffffffffu, 0.0f};
  const cutrec_u32x4 w = cutrec_words(k0, k1, grp, j, stream);
  const uint32_t p = cutrec_mulhi32(w.x, n);
  return cutrec_draw_t{items[p], log_q[p]};
}

// A sampler as a kernel argument: kind, n, and samplerBuffers()'s arrays in order
// (popularity: a = prob, b = alias, log_q; inBatch: a = items, log_q; uniform: none).
struct cutrec_sampler {
  uint32_t kind;
  uint32_t n;
  uint32_t k0, k1;
  const uint32_t* a;
  const uint32_t* b;
  const float* log_q;
};

// One draw of sampler s at (grp, j, stream).
CUTREC_HD cutrec_draw_t cutrec_draw(const cutrec_sampler& s, uint32_t grp, uint32_t j, uint32_t stream) {
  if (s.kind == CUTREC_SAMPLER_POPULARITY) return cutrec_draw_popularity(s.k0, s.k1, grp, j, stream, s.n, s.a, s.b, s.log_q);
  if (s.kind == CUTREC_SAMPLER_IN_BATCH) return cutrec_draw_in_batch(s.k0, s.k1, grp, j, stream, s.n, s.a, s.log_q);
  return cutrec_draw_uniform(s.k0, s.k1, grp, j, stream, s.n);
}
