// The rank of each user's target among all C items (full-catalog evaluation) without a users × C
// score matrix: ranks[u] = #{ c != y_u : c not in seen_u, s_c > s_y or (s_c == s_y and c < y_u) },
// s_c = h_u . w_c, h_u = hidden[offset + u * row_stride + d] (float or bf16), items float [C, D].
// src/ops/rank/reference.ts is the oracle; src/ops/rank/cuda.ts queues, in order on one stream:
//   rank_zero_i32          ranks = 0
//   rank_target_<t>        (1) s_y per user, one warp per user          → target_scores[u]
//   rank_count_<t>         (2) tiled (128 users × 128 items) counts of items beating s_y,
//                              atomicAdd of per-block counts into ranks[u]
//   rank_seen_<t>          (3) per user, subtracts the seen items (≠ y) that beat s_y
// (1) runs only when the caller gives a target_scores buffer (the launcher never allocates);
// with target_scores = null, kernels 2 and 3 compute s_y themselves with the same chain.
// Every score, in all three kernels, is the same float32 chain acc = fmaf(h[d], w[d], acc) for
// d = 0, 1, …, D − 1 from acc = 0 (kernel 2 pads d up to a multiple of RANK_K with h = w = 0, which
// leaves acc unchanged): the target's score and every seen item's score are bitwise the ones
// kernel 2 compared, so the target never beats itself and the subtraction in (3) is exact.
#include "common.cuh"

#define RANK_TU 128      // users per block tile (kernel 2)
#define RANK_TC 128      // items per item tile (kernel 2)
#define RANK_K 8         // d per shared-memory step (kernel 2)
#define RANK_PAD 4       // row padding of the shared tiles (conflict-free transposed stores, float4 reads)
#define RANK_THREADS 256 // kernel 2: 16 × 16 threads, each 8 users × 8 items
#define RANK_WARPS 4     // kernels 1 and 3: warps (users) per block

// One step of every score's chain: the only arithmetic the kernels use on scores.
__device__ __forceinline__ float rank_step(float acc, float h, float w) { return fmaf(h, w, acc); }

// The score chain over d = 0 … D − 1 (kernels 1 and 3, and the targets' scores in kernel 2 when
// target_scores is null; kernel 2 runs the same chain tile by tile). to_f is exact, so h may be
// the stored vector or its float copy in shared memory.
template <typename H>
__device__ __forceinline__ float rank_dot(const H* h, const float* __restrict__ w, int D) {
  float acc = 0.f;
  for (int d = 0; d < D; ++d) acc = rank_step(acc, to_f(h[d]), w[d]);
  return acc;
}

// Whether item c (≠ y) with score s beats the target y with score sy (the top-k order).
__device__ __forceinline__ bool rank_beats(float s, int c, float sy, int y) {
  return c != y && (s > sy || (s == sy && c < y));
}

// Copies user u's hidden vector into shared memory as float (one warp).
template <typename T>
__device__ __forceinline__ void rank_stage_user(float* dst, const T* __restrict__ hidden, uint64_t row_stride,
                                                uint64_t offset, int u, int D, int lane) {
  const T* src = hidden + offset + (uint64_t)u * row_stride;
  for (int d = lane; d < D; d += 32) dst[d] = to_f(src[d]);
  __syncwarp();
}

extern "C" __global__ void rank_zero_i32(int32_t* __restrict__ ranks, int U) {
  for (int u = blockIdx.x * blockDim.x + threadIdx.x; u < U; u += gridDim.x * blockDim.x) ranks[u] = 0;
}

// (1) target_scores[u] = s_{y_u}: one warp per user stages h_u, lane 0 runs the chain.
template <typename T>
__device__ void rank_target(const T* __restrict__ hidden, uint64_t row_stride, uint64_t offset,
                            const float* __restrict__ items, const int32_t* __restrict__ targets, int U, int D,
                            float* __restrict__ target_scores) {
  extern __shared__ float s_h[];  // [RANK_WARPS][D]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int u = blockIdx.x * RANK_WARPS + warp;
  if (u >= U) return;
  float* h = s_h + (size_t)warp * D;
  rank_stage_user(h, hidden, row_stride, offset, u, D, lane);
  if (lane == 0) target_scores[u] = rank_dot(h, items + (size_t)targets[u] * D, D);
}

// (2) One block: users [u0, u0 + 128) × item tiles [tile0, tile0 + tiles_per_chunk) of 128 items.
// Thread (tx, ty) owns users ty·4 + {0..3} and 64 + ty·4 + {0..3}, items tx·4 + {0..3} and
// 64 + tx·4 + {0..3} of each tile; its 64 chains run over d in order, RANK_K at a time.
template <typename T>
__device__ void rank_count(const T* __restrict__ hidden, uint64_t row_stride, uint64_t offset,
                           const float* __restrict__ items, const int32_t* __restrict__ targets,
                           const float* target_scores, int U, int C, int D, int tiles_per_chunk,
                           int32_t* __restrict__ ranks) {
  __shared__ __align__(16) float s_h[RANK_K][RANK_TU + RANK_PAD];
  __shared__ __align__(16) float s_w[RANK_K][RANK_TC + RANK_PAD];
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  __shared__ float s_sy[RANK_TU];
  const int u0 = blockIdx.x * RANK_TU;
  if (tid < RANK_TU) {
    const int u = u0 + tid;
    float sy = 0.f;
    if (u < U) {
      sy = target_scores != nullptr
               ? target_scores[u]
               : rank_dot(hidden + offset + (uint64_t)u * row_stride, items + (size_t)targets[u] * D, D);
    }
    s_sy[tid] = sy;
  }
  __syncthreads();
  int uy[8];
  float usy[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int r = (i >> 2) * 64 + ty * 4 + (i & 3);
    const int u = u0 + r;
    uy[i] = u < U ? targets[u] : -1;
    usy[i] = s_sy[r];
  }
  int cnt[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) cnt[i] = 0;
  // Loader mapping: element e = tid + 256·r of a [128 rows][8 d] slab: row e >> 3, d e & 7.
  const int lk = tid & 7, lrow = tid >> 3;  // rows lrow + 32·r, r = 0..3
  const int tile0 = blockIdx.y * tiles_per_chunk;
  for (int t = 0; t < tiles_per_chunk; ++t) {
    const int c0 = (tile0 + t) * RANK_TC;
    if (c0 >= C) break;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
    for (int k0 = 0; k0 < D; k0 += RANK_K) {
      const int d = k0 + lk;
      __syncthreads();
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int row = lrow + 32 * r;
        const int u = u0 + row, c = c0 + row;
        s_h[lk][row] = (u < U && d < D) ? to_f(hidden[offset + (uint64_t)u * row_stride + d]) : 0.f;
        s_w[lk][row] = (c < C && d < D) ? items[(size_t)c * D + d] : 0.f;
      }
      __syncthreads();
#pragma unroll
      for (int k = 0; k < RANK_K; ++k) {
        const float4 a0 = *reinterpret_cast<const float4*>(&s_h[k][ty * 4]);
        const float4 a1 = *reinterpret_cast<const float4*>(&s_h[k][64 + ty * 4]);
        const float4 b0 = *reinterpret_cast<const float4*>(&s_w[k][tx * 4]);
        const float4 b1 = *reinterpret_cast<const float4*>(&s_w[k][64 + tx * 4]);
        const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] = rank_step(acc[i][j], a[i], b[j]);
      }
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int c = c0 + (j >> 2) * 64 + tx * 4 + (j & 3);
      if (c < C) {
#pragma unroll
        for (int i = 0; i < 8; ++i) cnt[i] += rank_beats(acc[i][j], c, usy[i], uy[i]) ? 1 : 0;
      }
    }
  }
  // The 16 threads of a user row (one half-warp) sum their counts; one atomic per user and block.
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    int v = cnt[i];
    for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int u = u0 + (i >> 2) * 64 + ty * 4 + (i & 3);
    if (tx == 0 && u < U && v > 0) atomicAdd(ranks + u, v);
  }
}

// (3) One warp per user: its lanes walk the seen list, score each seen item ≠ y with the same
// chain and subtract those that beat the target (kernel 2 counted exactly those).
template <typename T>
__device__ void rank_seen(const T* __restrict__ hidden, uint64_t row_stride, uint64_t offset,
                          const float* __restrict__ items, const int32_t* __restrict__ targets,
                          const float* target_scores, const int32_t* __restrict__ seen_offsets,
                          const int32_t* __restrict__ seen_items, int U, int C, int D,
                          int32_t* __restrict__ ranks) {
  extern __shared__ float s_h[];  // [RANK_WARPS][D]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int u = blockIdx.x * RANK_WARPS + warp;
  if (u >= U) return;
  const int lo = seen_offsets[u], hi = seen_offsets[u + 1];
  if (hi <= lo) return;
  float* h = s_h + (size_t)warp * D;
  rank_stage_user(h, hidden, row_stride, offset, u, D, lane);
  const int y = targets[u];
  float sy = 0.f;
  if (lane == 0) sy = target_scores != nullptr ? target_scores[u] : rank_dot(h, items + (size_t)y * D, D);
  sy = __shfl_sync(0xffffffffu, sy, 0);
  int n = 0;
  for (int i = lo + lane; i < hi; i += 32) {
    const int c = seen_items[i];
    if (c < 0 || c >= C || c == y) continue;
    n += rank_beats(rank_dot(h, items + (size_t)c * D, D), c, sy, y) ? 1 : 0;
  }
  for (int o = 16; o > 0; o >>= 1) n += __shfl_xor_sync(0xffffffffu, n, o);
  if (lane == 0 && n > 0) ranks[u] -= n;
}

#define RANK_KERNELS(SUFFIX, T)                                                                                  \
  extern "C" __global__ void __launch_bounds__(RANK_WARPS * 32)                                                  \
      rank_target_##SUFFIX(const T* hidden, uint64_t row_stride, uint64_t offset, const float* items,           \
                           const int32_t* targets, int U, int D, float* target_scores) {                        \
    rank_target<T>(hidden, row_stride, offset, items, targets, U, D, target_scores);                            \
  }                                                                                                              \
  extern "C" __global__ void __launch_bounds__(RANK_THREADS)                                                     \
      rank_count_##SUFFIX(const T* hidden, uint64_t row_stride, uint64_t offset, const float* items,            \
                          const int32_t* targets, const float* target_scores, int U, int C, int D,              \
                          int tiles_per_chunk, int32_t* ranks) {                                                 \
    rank_count<T>(hidden, row_stride, offset, items, targets, target_scores, U, C, D, tiles_per_chunk, ranks);  \
  }                                                                                                              \
  extern "C" __global__ void __launch_bounds__(RANK_WARPS * 32)                                                  \
      rank_seen_##SUFFIX(const T* hidden, uint64_t row_stride, uint64_t offset, const float* items,             \
                         const int32_t* targets, const float* target_scores, const int32_t* seen_offsets,       \
                         const int32_t* seen_items, int U, int C, int D, int32_t* ranks) {                       \
    rank_seen<T>(hidden, row_stride, offset, items, targets, target_scores, seen_offsets, seen_items, U, C, D,  \
                 ranks);                                                                                         \
  }

RANK_KERNELS(f32, float)
RANK_KERNELS(bf16, __nv_bfloat16)
