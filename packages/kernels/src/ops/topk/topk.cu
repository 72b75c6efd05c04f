// Full-catalog top-k on CUDA, streamed over the catalog in chunks so that no users × C score
// matrix exists: per chunk of n items the launcher (src/ops/topk/cuda.ts) queues a float32 GEMM
// of the users' vectors against the chunk's items into a [U, n] scratch, then topk_merge, which
// folds the chunk into each user's running top-k list (ids and scores [U, k], the outputs).
// src/ops/topk/reference.ts (topKReference) is the oracle. Order: higher score first, ties to the
// lower item id; items scoring −∞ or NaN never enter, nor the user's seen items (a sorted CSR list);
// slots without an item hold id −1 and score −∞.
//   topk_gather_<t>   rows [U, D] float32 ← hidden[offset + u·row_stride + d] (the last positions)
//   topk_merge        one block per user: candidates of the chunk that beat the list's k-th entry
//                     go to shared memory; a bitonic sort of list + candidates keeps the best k
//                     (before the buffer could overflow, and at the chunk's end).
#include "common.cuh"

#define TOPK_THREADS 256
#define TOPK_PER_THREAD 4                              // scores a thread reads per round
#define TOPK_ROUND (TOPK_THREADS * TOPK_PER_THREAD)    // scores per round
#define TOPK_CAP 4096                                  // list + candidates in shared memory
#define TOPK_MAX_K 1024                                // ≤ TOPK_CAP − TOPK_ROUND (cuda.ts TOPK_CUDA_MAX_K)

template <typename T>
__device__ void topk_gather(const T* __restrict__ hidden, uint64_t row_stride, uint64_t offset, int U, int D,
                            float* __restrict__ rows) {
  const uint64_t n = (uint64_t)U * D;
  for (uint64_t e = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (uint64_t)gridDim.x * blockDim.x) {
    const uint64_t u = e / D, d = e % D;
    rows[e] = to_f(hidden[offset + u * row_stride + d]);
  }
}

extern "C" __global__ void topk_gather_f32(const float* hidden, uint64_t row_stride, uint64_t offset, int U, int D,
                                           float* rows) {
  topk_gather(hidden, row_stride, offset, U, D, rows);
}
extern "C" __global__ void topk_gather_bf16(const __nv_bfloat16* hidden, uint64_t row_stride, uint64_t offset, int U,
                                            int D, float* rows) {
  topk_gather(hidden, row_stride, offset, U, D, rows);
}

// a before b: a higher score, or the same score and a lower id (ids are unique per user, so this
// is a strict order; the padding entries (−∞, INT_MAX) come after everything).
__device__ __forceinline__ bool topk_better(float sa, int ia, float sb, int ib) {
  return sa > sb || (sa == sb && ia < ib);
}

__device__ __forceinline__ bool topk_seen(const int32_t* __restrict__ items, int lo, int hi, int c) {
  while (lo < hi) {
    const int mid = (lo + hi) >> 1;
    const int v = items[mid];
    if (v == c) return true;
    if (v < c) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

// Sorts s/id[0, P) best first (P a power of two ≤ TOPK_CAP), all threads of the block.
__device__ void topk_bitonic(float* s, int* id, int P) {
  for (int size = 2; size <= P; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < (P >> 1); i += blockDim.x) {
        const int lo = 2 * stride * (i / stride) + (i % stride), hi = lo + stride;
        const bool bestFirst = (lo & size) == 0;
        const float sl = s[lo], sh = s[hi];
        const int il = id[lo], ih = id[hi];
        if (bestFirst ? topk_better(sh, ih, sl, il) : topk_better(sl, il, sh, ih)) {
          s[lo] = sh;
          s[hi] = sl;
          id[lo] = ih;
          id[hi] = il;
        }
      }
      __syncthreads();
    }
  }
}

// One block per user (blockIdx.x < U): folds scores[u, 0 … n) of items c0 … c0 + n − 1 into the
// user's list out_ids/out_scores [u, 0 … k) (read unless first; first starts from an empty list).
extern "C" __global__ void __launch_bounds__(TOPK_THREADS)
    topk_merge(const float* __restrict__ scores, int n, int c0, int U, int k, const int32_t* __restrict__ seen_offsets,
               const int32_t* __restrict__ seen_items, int has_seen, int first, int32_t* __restrict__ out_ids,
               float* __restrict__ out_scores) {
  __shared__ float s[TOPK_CAP];
  __shared__ int id[TOPK_CAP];
  __shared__ int count;  // candidates in [k, k + count)
  const int u = blockIdx.x;
  if (u >= U) return;
  const float NEG_INF = __int_as_float(0xff800000);
  for (int j = threadIdx.x; j < k; j += blockDim.x) {
    s[j] = first ? NEG_INF : out_scores[(size_t)u * k + j];
    id[j] = first ? -1 : out_ids[(size_t)u * k + j];
  }
  if (threadIdx.x == 0) count = 0;
  const int lo = has_seen ? seen_offsets[u] : 0, hi = has_seen ? seen_offsets[u + 1] : 0;
  __syncthreads();
  float kthS = s[k - 1];
  int kthI = id[k - 1];
  const float* row = scores + (size_t)u * n;
  // Sorts list + candidates, keeps the best k, and reads the new k-th entry.
  auto merge = [&]() {
    const int total = k + count;
    int P = 1;
    while (P < total) P <<= 1;
    for (int j = total + threadIdx.x; j < P; j += blockDim.x) {
      s[j] = NEG_INF;
      id[j] = 0x7fffffff;
    }
    __syncthreads();
    topk_bitonic(s, id, P);
    if (threadIdx.x == 0) count = 0;
    kthS = s[k - 1];
    kthI = id[k - 1];
    __syncthreads();
  };
  for (int base = 0; base < n; base += TOPK_ROUND) {
#pragma unroll
    for (int r = 0; r < TOPK_PER_THREAD; r++) {
      const int j = base + r * TOPK_THREADS + threadIdx.x;
      if (j >= n) break;
      const float v = row[j];
      const int c = c0 + j;
      // NaN fails both comparisons; −∞ never beats the k-th entry's −∞ with a lower id than −1.
      if (v == NEG_INF || !topk_better(v, c, kthS, kthI)) continue;
      if (has_seen && topk_seen(seen_items, lo, hi, c)) continue;
      const int slot = atomicAdd(&count, 1);
      s[k + slot] = v;
      id[k + slot] = c;
    }
    __syncthreads();
    const int pending = count;
    __syncthreads();  // every thread has read count before the next round adds to it
    if (pending > TOPK_CAP - k - TOPK_ROUND) merge();  // the next round could overflow
  }
  if (count > 0) merge();
  for (int j = threadIdx.x; j < k; j += blockDim.x) {
    out_scores[(size_t)u * k + j] = s[j];
    out_ids[(size_t)u * k + j] = id[j];
  }
}
