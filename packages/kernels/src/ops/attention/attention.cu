// Causal multi-head attention with key padding and dropout on the probabilities, forward and
// backward, FlashAttention style (src/ops/attention/reference.ts is the contract): tiles of 32
// queries and 32 keys in shared memory, an online softmax, never an [L, L] buffer in global memory,
// key tiles above the diagonal skipped. Plain FP32 CUDA-core arithmetic (bf16 storage is widened
// on load). Backward without atomics: attention_delta (delta_i = dO_i · out_i), attention_dkdv
// (one block per (b, h, key tile), looping over the query tiles at or below the diagonal) and
// attention_dq (one block per (b, h, query tile), looping over key tiles), both recomputing
// p_ij = exp(s_ij − lse_i) and the dropout multiplier dropout_mul(site, e_ij),
// e_ij = ((b·H + h)·L + i)·L + j.
//
// A block is 4 warps; warp w owns rows 8w … 8w + 7 of its tile (queries, or keys in dkdv) and a
// lane owns one column of the other side (a key, or a query) while scores are computed, then
// dh elements d = lane, lane + 32, … (NC chunks of 32, NC = ceil(dh / 32) ≤ 4, a template
// parameter: kernels <stage><32·NC>) while the tile's products are accumulated. Shared tiles are
// [32][DHP] floats with DHP = dh | 1 (odd: lane-indexed rows hit distinct banks).
#include <math_constants.h>

#include "common.cuh"

namespace {

constexpr int TILE = 32;      // queries and keys per tile
constexpr int WARPS = 4;      // warps per block
constexpr int ROWS = TILE / WARPS;  // tile rows per warp
constexpr int PS = TILE + 1;  // row stride of the [32][33] probability / dS tiles

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Rows t0 … t0 + 31 of sequence b (head h) of X [R, stride] into tile [32][dhp] as float (0 past L).
template <typename T>
__device__ __forceinline__ void load_tile(float* tile, const T* __restrict__ X, int b, int t0, int L, int h, int dh,
                                          int dhp, int stride) {
  for (int idx = threadIdx.x; idx < TILE * dh; idx += WARPS * 32) {
    const int t = idx / dh;
    const int d = idx - t * dh;
    const int i = t0 + t;
    tile[t * dhp + d] = i < L ? to_f(X[(size_t)(b * L + i) * stride + (size_t)h * dh + d]) : 0.f;
  }
}

// The block's tile: a 1-D grid of B·H·nT blocks (nT = ceil(L / 32)), the nT tiles of one (b, h)
// consecutive so that they run together and share its K / V (or Q / dO) in L2, the heaviest
// causal tile first: the last query tile (forward, dq: it visits every key tile) or the first key
// tile (dkdv: every query tile visits it).
struct Tiles {
  int bh, b, h, t0;
};
__device__ __forceinline__ Tiles tiles(int L, int H, bool lastFirst) {
  const int nT = (L + TILE - 1) / TILE;
  const int bh = blockIdx.x / nT;
  const int t = blockIdx.x - bh * nT;
  const int b = bh / H;
  return {bh, b, bh - b * H, (lastFirst ? nT - 1 - t : t) * TILE};
}

// Whether query i may attend key j (keyPad: key j is padding).
__device__ __forceinline__ bool attends(int i, int j, int L, bool keyPad) {
  return i < L && (j == i || (j < i && !keyPad));
}

// ---- forward: grid B·H·ceil(L / 32); dynamic shared 3·32·dhp + 32·33 floats ----
template <typename T, int NC>
__device__ __forceinline__ void attn_forward(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                             T* __restrict__ out, float* __restrict__ lse, const int* __restrict__ ids,
                                             int H, int L, int dh, int stride, int padId, float scale,
                                             const DropoutSite& drop) {
  extern __shared__ float smem[];
  __shared__ bool keyPad[TILE];
  const int dhp = dh | 1;
  float* Qs = smem;
  float* Ks = Qs + TILE * dhp;
  float* Vs = Ks + TILE * dhp;
  float* Ps = Vs + TILE * dhp;
  const Tiles t = tiles(L, H, true);
  const int bh = t.bh, b = t.b, h = t.h, i0 = t.t0;
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  load_tile(Qs, q, b, i0, L, h, dh, dhp, stride);

  float m[ROWS], l[ROWS], acc[ROWS][NC];
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    m[r] = -CUDART_INF_F;
    l[r] = 0.f;
#pragma unroll
    for (int c = 0; c < NC; c++) acc[r][c] = 0.f;
  }
  const int iLast = min(i0 + TILE, L) - 1;
  const size_t eRow = (size_t)bh * L + i0 + w * ROWS;  // row index (b·H + h)·L + i of this warp's first row
  for (int j0 = 0; j0 <= iLast; j0 += TILE) {
    __syncthreads();  // the previous tile's Ks / Vs are no longer read
    load_tile(Ks, k, b, j0, L, h, dh, dhp, stride);
    load_tile(Vs, v, b, j0, L, h, dh, dhp, stride);
    if (threadIdx.x < TILE) {
      const int j = j0 + threadIdx.x;
      keyPad[threadIdx.x] = j >= L || ids[b * L + j] == padId;
    }
    __syncthreads();

    float s[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) s[r] = 0.f;
    const float* kr = Ks + lane * dhp;
    const float* qr = Qs + w * ROWS * dhp;
#pragma unroll 4
    for (int d = 0; d < dh; d++) {
      const float kv = kr[d];
#pragma unroll
      for (int r = 0; r < ROWS; r++) s[r] = fmaf(qr[r * dhp + d], kv, s[r]);
    }
    const int j = j0 + lane;
    const bool kp = keyPad[lane];
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
      const int i = i0 + w * ROWS + r;
      const bool ok = attends(i, j, L, kp);
      const float sv = ok ? s[r] * scale : -CUDART_INF_F;
      const float mn = fmaxf(m[r], warp_max(sv));
      const float ms = mn == -CUDART_INF_F ? 0.f : mn;
      const float p = ok ? expf(sv - ms) : 0.f;
      const float corr = expf(m[r] - ms);  // 0 while m is still -inf
      l[r] = l[r] * corr + warp_sum(p);
      m[r] = mn;
#pragma unroll
      for (int c = 0; c < NC; c++) acc[r][c] *= corr;
      Ps[(w * ROWS + r) * PS + lane] = p != 0.f ? p * dropout_mul(drop, (uint32_t)((eRow + r) * L + j)) : 0.f;
    }
    __syncwarp();
    const int nk = min(TILE, iLast + 1 - j0);
    for (int kk = 0; kk < nk; kk++) {
#pragma unroll
      for (int c = 0; c < NC; c++) {
        const int d = lane + 32 * c;
        const float vv = d < dh ? Vs[kk * dhp + d] : 0.f;
#pragma unroll
        for (int r = 0; r < ROWS; r++) acc[r][c] = fmaf(Ps[(w * ROWS + r) * PS + kk], vv, acc[r][c]);
      }
    }
    __syncwarp();  // Ps is rewritten by the next tile
  }
  const int D = H * dh;
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    const int i = i0 + w * ROWS + r;
    if (i >= L) break;
    const float inv = 1.f / l[r];
    T* o = out + (size_t)(b * L + i) * D + (size_t)h * dh;
#pragma unroll
    for (int c = 0; c < NC; c++) {
      const int d = lane + 32 * c;
      if (d < dh) o[d] = from_f<T>(acc[r][c] * inv);
    }
    if (lane == 0) lse[eRow + r] = m[r] + logf(l[r]);
  }
}

// ---- delta_i = dO_i · out_i: a warp per (row r, head h), grid ceil(R·H / 4) ----
template <typename T>
__device__ __forceinline__ void attn_delta(const T* __restrict__ out, const T* __restrict__ dOut, float* __restrict__ delta,
                                           int B, int L, int H, int dh) {
  const size_t idx = (size_t)blockIdx.x * WARPS + (threadIdx.x >> 5);
  if (idx >= (size_t)B * L * H) return;
  const int lane = threadIdx.x & 31;
  const size_t r = idx / H;
  const int h = (int)(idx - r * H);
  const size_t b = r / L, i = r - b * L;
  const size_t o = r * H * dh + (size_t)h * dh;
  float s = 0.f;
  for (int d = lane; d < dh; d += 32) s = fmaf(to_f(dOut[o + d]), to_f(out[o + d]), s);
  s = warp_sum(s);
  if (lane == 0) delta[(b * H + h) * L + i] = s;
}

// ---- dk, dv: grid B·H·ceil(L / 32) over key tiles; dynamic shared 4·32·dhp + 2·32·33 floats ----
template <typename T, int NC>
__device__ __forceinline__ void attn_dkdv(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                          const T* __restrict__ dOut, const float* __restrict__ lse,
                                          const float* __restrict__ delta, T* __restrict__ dk, T* __restrict__ dv,
                                          const int* __restrict__ ids, int H, int L, int dh, int stride, int padId,
                                          float scale, const DropoutSite& drop) {
  extern __shared__ float smem[];
  __shared__ bool keyPad[TILE];
  __shared__ float lseS[TILE], deltaS[TILE];
  const int dhp = dh | 1;
  float* Ks = smem;
  float* Vs = Ks + TILE * dhp;
  float* Qs = Vs + TILE * dhp;
  float* Gs = Qs + TILE * dhp;  // dO tile
  float* Pm = Gs + TILE * dhp;  // [key][query] p·mul
  float* Ds = Pm + TILE * PS;   // [key][query] dS
  const Tiles t = tiles(L, H, false);
  const int bh = t.bh, b = t.b, h = t.h, j0 = t.t0;
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  load_tile(Ks, k, b, j0, L, h, dh, dhp, stride);
  load_tile(Vs, v, b, j0, L, h, dh, dhp, stride);
  bool real = false;  // a key of this tile that is not padding (else only the diagonal contributes)
  if (threadIdx.x < TILE) {
    const int j = j0 + threadIdx.x;
    keyPad[threadIdx.x] = j >= L || ids[b * L + j] == padId;
    real = !keyPad[threadIdx.x];
  }
  const int iEnd = __syncthreads_or(real) ? L : min(j0 + TILE, L);

  float accK[ROWS][NC], accV[ROWS][NC];
#pragma unroll
  for (int r = 0; r < ROWS; r++)
#pragma unroll
    for (int c = 0; c < NC; c++) accK[r][c] = accV[r][c] = 0.f;
  const size_t bhL = (size_t)bh * L;
  for (int i0 = j0; i0 < iEnd; i0 += TILE) {
    __syncthreads();  // the previous query tile is no longer read
    load_tile(Qs, q, b, i0, L, h, dh, dhp, stride);
    load_tile(Gs, dOut, b, i0, L, h, dh, dhp, H * dh);
    if (threadIdx.x < TILE) {
      const int i = i0 + threadIdx.x;
      lseS[threadIdx.x] = i < L ? lse[bhL + i] : 0.f;
      deltaS[threadIdx.x] = i < L ? delta[bhL + i] : 0.f;
    }
    __syncthreads();

    float s[ROWS], g[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) s[r] = g[r] = 0.f;
    const float* qr = Qs + lane * dhp;
    const float* gr = Gs + lane * dhp;
    const float* kr = Ks + w * ROWS * dhp;
    const float* vr = Vs + w * ROWS * dhp;
#pragma unroll 4
    for (int d = 0; d < dh; d++) {
      const float qv = qr[d], gv = gr[d];
#pragma unroll
      for (int r = 0; r < ROWS; r++) {
        s[r] = fmaf(qv, kr[r * dhp + d], s[r]);
        g[r] = fmaf(gv, vr[r * dhp + d], g[r]);
      }
    }
    const int i = i0 + lane;
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
      const int jl = w * ROWS + r;
      const int j = j0 + jl;
      float pm = 0.f, ds = 0.f;
      if (attends(i, j, L, keyPad[jl])) {
        const float p = expf(s[r] * scale - lseS[lane]);
        const float mul = dropout_mul(drop, (uint32_t)((bhL + i) * L + j));
        pm = p * mul;
        ds = p * (mul * g[r] - deltaS[lane]);
      }
      Pm[jl * PS + lane] = pm;
      Ds[jl * PS + lane] = ds;
    }
    __syncwarp();
    const int nq = min(TILE, L - i0);
    for (int qq = 0; qq < nq; qq++) {
#pragma unroll
      for (int c = 0; c < NC; c++) {
        const int d = lane + 32 * c;
        const float qv = d < dh ? Qs[qq * dhp + d] : 0.f;
        const float gv = d < dh ? Gs[qq * dhp + d] : 0.f;
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
          const int jl = w * ROWS + r;
          accV[r][c] = fmaf(Pm[jl * PS + qq], gv, accV[r][c]);
          accK[r][c] = fmaf(Ds[jl * PS + qq], qv, accK[r][c]);
        }
      }
    }
    __syncwarp();
  }
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    const int j = j0 + w * ROWS + r;
    if (j >= L) break;
    const size_t o = (size_t)(b * L + j) * stride + (size_t)h * dh;
#pragma unroll
    for (int c = 0; c < NC; c++) {
      const int d = lane + 32 * c;
      if (d < dh) {
        dk[o + d] = from_f<T>(accK[r][c] * scale);
        dv[o + d] = from_f<T>(accV[r][c]);
      }
    }
  }
}

// ---- dq: grid B·H·ceil(L / 32) over query tiles; dynamic shared 4·32·dhp + 32·33 floats ----
template <typename T, int NC>
__device__ __forceinline__ void attn_dq(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                        const T* __restrict__ dOut, const float* __restrict__ lse,
                                        const float* __restrict__ delta, T* __restrict__ dq, const int* __restrict__ ids,
                                        int H, int L, int dh, int stride, int padId, float scale,
                                        const DropoutSite& drop) {
  extern __shared__ float smem[];
  __shared__ bool keyPad[TILE];
  const int dhp = dh | 1;
  float* Qs = smem;
  float* Gs = Qs + TILE * dhp;
  float* Ks = Gs + TILE * dhp;
  float* Vs = Ks + TILE * dhp;
  float* Ds = Vs + TILE * dhp;  // [query][key] dS
  const Tiles t = tiles(L, H, true);
  const int bh = t.bh, b = t.b, h = t.h, i0 = t.t0;
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  load_tile(Qs, q, b, i0, L, h, dh, dhp, stride);
  load_tile(Gs, dOut, b, i0, L, h, dh, dhp, H * dh);
  const size_t bhL = (size_t)bh * L;
  float lseR[ROWS], deltaR[ROWS], acc[ROWS][NC];
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    const int i = i0 + w * ROWS + r;
    lseR[r] = i < L ? lse[bhL + i] : 0.f;
    deltaR[r] = i < L ? delta[bhL + i] : 0.f;
#pragma unroll
    for (int c = 0; c < NC; c++) acc[r][c] = 0.f;
  }
  const int iLast = min(i0 + TILE, L) - 1;
  for (int j0 = 0; j0 <= iLast; j0 += TILE) {
    __syncthreads();
    load_tile(Ks, k, b, j0, L, h, dh, dhp, stride);
    load_tile(Vs, v, b, j0, L, h, dh, dhp, stride);
    if (threadIdx.x < TILE) {
      const int j = j0 + threadIdx.x;
      keyPad[threadIdx.x] = j >= L || ids[b * L + j] == padId;
    }
    __syncthreads();

    float s[ROWS], g[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) s[r] = g[r] = 0.f;
    const float* kr = Ks + lane * dhp;
    const float* vr = Vs + lane * dhp;
    const float* qr = Qs + w * ROWS * dhp;
    const float* gr = Gs + w * ROWS * dhp;
#pragma unroll 4
    for (int d = 0; d < dh; d++) {
      const float kv = kr[d], vv = vr[d];
#pragma unroll
      for (int r = 0; r < ROWS; r++) {
        s[r] = fmaf(qr[r * dhp + d], kv, s[r]);
        g[r] = fmaf(gr[r * dhp + d], vv, g[r]);
      }
    }
    const int j = j0 + lane;
    const bool kp = keyPad[lane];
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
      const int i = i0 + w * ROWS + r;
      float ds = 0.f;
      if (attends(i, j, L, kp)) {
        const float p = expf(s[r] * scale - lseR[r]);
        const float mul = dropout_mul(drop, (uint32_t)((bhL + i) * L + j));
        ds = p * (mul * g[r] - deltaR[r]);
      }
      Ds[(w * ROWS + r) * PS + lane] = ds;
    }
    __syncwarp();
    const int nk = min(TILE, iLast + 1 - j0);
    for (int kk = 0; kk < nk; kk++) {
#pragma unroll
      for (int c = 0; c < NC; c++) {
        const int d = lane + 32 * c;
        const float kv = d < dh ? Ks[kk * dhp + d] : 0.f;
#pragma unroll
        for (int r = 0; r < ROWS; r++) acc[r][c] = fmaf(Ds[(w * ROWS + r) * PS + kk], kv, acc[r][c]);
      }
    }
    __syncwarp();
  }
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    const int i = i0 + w * ROWS + r;
    if (i >= L) break;
    T* o = dq + (size_t)(b * L + i) * stride + (size_t)h * dh;
#pragma unroll
    for (int c = 0; c < NC; c++) {
      const int d = lane + 32 * c;
      if (d < dh) o[d] = from_f<T>(acc[r][c] * scale);
    }
  }
}

}  // namespace

#define ATTN_KERNELS(NAME, T, NC, DMAX)                                                                            \
  extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                         \
      attention_forward##DMAX##_##NAME(const T* q, const T* k, const T* v, T* out, float* lse, const int* ids,    \
                                       int H, int L, int dh, int stride, int padId, float scale,                   \
                                       const DropoutSite drop) {                                                   \
    attn_forward<T, NC>(q, k, v, out, lse, ids, H, L, dh, stride, padId, scale, drop);                             \
  }                                                                                                                \
  extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                         \
      attention_dkdv##DMAX##_##NAME(const T* q, const T* k, const T* v, const T* dOut, const float* lse,           \
                                    const float* delta, T* dk, T* dv, const int* ids, int H, int L, int dh,        \
                                    int stride, int padId, float scale, const DropoutSite drop) {                  \
    attn_dkdv<T, NC>(q, k, v, dOut, lse, delta, dk, dv, ids, H, L, dh, stride, padId, scale, drop);                \
  }                                                                                                                \
  extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                         \
      attention_dq##DMAX##_##NAME(const T* q, const T* k, const T* v, const T* dOut, const float* lse,             \
                                  const float* delta, T* dq, const int* ids, int H, int L, int dh, int stride,     \
                                  int padId, float scale, const DropoutSite drop) {                                \
    attn_dq<T, NC>(q, k, v, dOut, lse, delta, dq, ids, H, L, dh, stride, padId, scale, drop);                      \
  }

#define ATTN_DTYPE(NAME, T)                                                                                   \
  ATTN_KERNELS(NAME, T, 1, 32)                                                                                \
  ATTN_KERNELS(NAME, T, 2, 64)                                                                                \
  ATTN_KERNELS(NAME, T, 3, 96)                                                                                \
  ATTN_KERNELS(NAME, T, 4, 128)                                                                               \
  extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                    \
      attention_delta_##NAME(const T* out, const T* dOut, float* delta, int B, int L, int H, int dh) {        \
    attn_delta<T>(out, dOut, delta, B, L, H, dh);                                                             \
  }

ATTN_DTYPE(f32, float)
ATTN_DTYPE(bf16, __nv_bfloat16)
