// SASRec's BCE / gBCE over uniform sampled negatives (src/ops/bce/reference.ts is the oracle).
// One warp per row: the row's K negatives are drawn into shared memory (DESIGN.md's sampling
// contract, share 'row': group = row, stream = *step), its K + 1 scores are warp dot products,
// then the forward writes loss_i = β·softplus(−pos) + Σ keep·softplus(s_j) and the backward
// writes dHidden_i and scatters dItems with atomicAdd. Hidden and items are float or bf16.
#include "common.cuh"
#include "sampler.cuh"

#define BCE_WARPS 4
#define BCE_MASKED 0xffffffffu  // an accidental hit (never an item: items are < C ≤ 2^32 − 1)

struct BceArgs {
  uint32_t N, C, D, K;
  uint32_t k0, k1;
  int32_t ignore_index;
  int32_t remove_hits;
  float beta;
  const uint32_t* step;
};

__device__ __forceinline__ float bce_softplus(float x) { return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x))); }
__device__ __forceinline__ float bce_sigmoid(float x) {
  const float e = expf(-fabsf(x));
  return x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
}

__device__ __forceinline__ float bce_warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

template <typename T>
__device__ __forceinline__ float bce_dot(const T* __restrict__ a, const T* __restrict__ b, uint32_t D, int lane) {
  float s = 0.f;
  for (uint32_t d = lane; d < D; d += 32) s = fmaf(to_f(a[d]), to_f(b[d]), s);
  return bce_warp_sum(s);
}

// Draws row i's negatives into idx[0, K) (BCE_MASKED for removed accidental hits), the scores
// into sc[0, K) (0 where masked); returns pos. Every lane returns the same value.
template <typename T>
__device__ __forceinline__ float bce_row_scores(const BceArgs& a, const T* __restrict__ h, const T* __restrict__ items,
                                                uint32_t i, uint32_t y, uint32_t* idx, float* sc, int lane) {
  const uint32_t stream = *a.step;
  for (uint32_t j = lane; j < a.K; j += 32) {
    const uint32_t n = cutrec_draw_uniform(a.k0, a.k1, i, j, stream, a.C).item;
    idx[j] = a.remove_hits && n == y ? BCE_MASKED : n;
  }
  __syncwarp();
  const float pos = bce_dot(h, items + (size_t)y * a.D, a.D, lane);
  for (uint32_t j = 0; j < a.K; ++j) {
    const uint32_t n = idx[j];
    const float s = n == BCE_MASKED ? 0.f : bce_dot(h, items + (size_t)n * a.D, a.D, lane);
    if (lane == 0) sc[j] = s;
  }
  __syncwarp();
  return pos;
}

// rowLoss [N] written (0 for ignored rows). Dynamic shared: BCE_WARPS · K · 8 bytes.
template <typename T>
__device__ void bce_fwd(const T* __restrict__ hidden, const T* __restrict__ items, const int32_t* __restrict__ targets,
                        float* __restrict__ row_loss, const BceArgs& a) {
  extern __shared__ uint32_t bce_smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const uint32_t i = blockIdx.x * BCE_WARPS + warp;
  if (i >= a.N) return;
  const int32_t t = targets[i];
  if (t == a.ignore_index) {
    if (lane == 0) row_loss[i] = 0.f;
    return;
  }
  uint32_t* idx = bce_smem + (size_t)warp * a.K * 2;
  float* sc = reinterpret_cast<float*>(idx + a.K);
  const uint32_t y = (uint32_t)t;
  const T* h = hidden + (size_t)i * a.D;
  const float pos = bce_row_scores(a, h, items, i, y, idx, sc, lane);
  float s = 0.f;
  for (uint32_t j = lane; j < a.K; j += 32)
    if (idx[j] != BCE_MASKED) s += bce_softplus(sc[j]);
  s = bce_warp_sum(s);
  if (lane == 0) row_loss[i] = a.beta * bce_softplus(-pos) + s;
}

// dHidden [N, D] written (0 on ignored rows); dItems [C, D] accumulated with atomicAdd.
template <typename T>
__device__ void bce_bwd(const T* __restrict__ hidden, const T* __restrict__ items, const int32_t* __restrict__ targets,
                        const float* __restrict__ d_row, float* __restrict__ d_hidden, float* __restrict__ d_items,
                        const BceArgs& a) {
  extern __shared__ uint32_t bce_smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const uint32_t i = blockIdx.x * BCE_WARPS + warp;
  if (i >= a.N) return;
  const int32_t t = targets[i];
  float* dh = d_hidden + (size_t)i * a.D;
  const float g = t == a.ignore_index ? 0.f : d_row[i];
  if (g == 0.f) {
    for (uint32_t d = lane; d < a.D; d += 32) dh[d] = 0.f;
    return;
  }
  uint32_t* idx = bce_smem + (size_t)warp * a.K * 2;
  float* sc = reinterpret_cast<float*>(idx + a.K);
  const uint32_t y = (uint32_t)t;
  const T* h = hidden + (size_t)i * a.D;
  const float pos = bce_row_scores(a, h, items, i, y, idx, sc, lane);
  // Coefficients: d loss_i / d pos = −β·σ(−pos); d loss_i / d s_j = keep·σ(s_j); times dRow_i.
  for (uint32_t j = lane; j < a.K; j += 32) sc[j] = idx[j] == BCE_MASKED ? 0.f : g * bce_sigmoid(sc[j]);
  __syncwarp();
  const float c_pos = -g * a.beta * bce_sigmoid(-pos);
  const T* wy = items + (size_t)y * a.D;
  float* dwy = d_items + (size_t)y * a.D;
  for (uint32_t d = lane; d < a.D; d += 32) {
    const float hd = to_f(h[d]);
    float acc = c_pos * to_f(wy[d]);
    atomicAdd(dwy + d, c_pos * hd);
    for (uint32_t j = 0; j < a.K; ++j) {
      const float c = sc[j];
      if (c == 0.f) continue;
      const size_t off = (size_t)idx[j] * a.D + d;
      acc = fmaf(c, to_f(items[off]), acc);
      atomicAdd(d_items + off, c * hd);
    }
    dh[d] = acc;
  }
}

extern "C" __global__ void __launch_bounds__(BCE_WARPS * 32)
    bce_fwd_f32(const float* hidden, const float* items, const int32_t* targets, float* row_loss, BceArgs a) {
  bce_fwd<float>(hidden, items, targets, row_loss, a);
}
extern "C" __global__ void __launch_bounds__(BCE_WARPS * 32)
    bce_fwd_bf16(const __nv_bfloat16* hidden, const __nv_bfloat16* items, const int32_t* targets, float* row_loss,
                 BceArgs a) {
  bce_fwd<__nv_bfloat16>(hidden, items, targets, row_loss, a);
}
extern "C" __global__ void __launch_bounds__(BCE_WARPS * 32)
    bce_bwd_f32(const float* hidden, const float* items, const int32_t* targets, const float* d_row,
                float* d_hidden, float* d_items, BceArgs a) {
  bce_bwd<float>(hidden, items, targets, d_row, d_hidden, d_items, a);
}
extern "C" __global__ void __launch_bounds__(BCE_WARPS * 32)
    bce_bwd_bf16(const __nv_bfloat16* hidden, const __nv_bfloat16* items, const int32_t* targets,
                 const float* d_row, float* d_hidden, float* d_items, BceArgs a) {
  bce_bwd<__nv_bfloat16>(hidden, items, targets, d_row, d_hidden, d_items, a);
}

static_assert(sizeof(BceArgs) == 48 && offsetof(BceArgs, beta) == 32 && offsetof(BceArgs, step) == 40,
              "BceArgs layout changed: update src/ops/bce/cuda.ts");
