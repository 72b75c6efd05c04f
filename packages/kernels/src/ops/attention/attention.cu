// Causal multi-head attention with key padding and dropout on the probabilities, forward and
// backward, FlashAttention style (src/ops/attention/reference.ts is the contract): tiles of 32
// queries and 32 keys in shared memory, an online softmax, never an [L, L] buffer in global memory,
// key tiles above the diagonal skipped, and in the forward and dq the key tiles of a sequence's
// leading padding (first_key_tile). Plain FP32 CUDA-core arithmetic (bf16 storage is widened on
// load). Backward without atomics: attention_delta (delta_i = dO_i · out_i), attention_dkdv
// (one block per (b, h, key tile), looping over the query tiles at or below the diagonal) and
// attention_dq (one block per (b, h, query tile), looping over key tiles), both recomputing
// p_ij = exp(s_ij − lse_i) and the dropout multiplier dropout_mul(site, e_ij),
// e_ij = ((b·H + h)·L + i)·L + j.
//
// A block is 4 warps; warp w owns rows 8w … 8w + 7 of its tile (queries, or keys in dkdv) and a
// lane owns one column of the other side (a key, or a query) while scores are computed, then
// dh elements d = lane, lane + 32, … (NC chunks of 32, NC = ceil(dh / 32) ≤ 4, a template
// parameter: kernels <stage><32·NC>[v]) while the tile's products are accumulated. Shared tiles are
// [32][dhp] floats (tile_stride); the 'v' kernels (dh % 4 == 0) read them with float4 accesses.
// No tensor cores yet (a WMMA bf16 path is the next step for dh ≥ 64, L ≥ 256).
#include <math_constants.h>

#include "common.cuh"

namespace {

constexpr int TILE = 32;      // queries and keys per tile
constexpr int WARPS = 4;      // warps per block
constexpr int ROWS = TILE / WARPS;  // tile rows per warp
constexpr int PS = TILE + 4;  // row stride of the [32][36] probability / dS tiles (16-byte rows)

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
template <int ROWS = TILE>
__device__ __forceinline__ Tiles tiles(int L, int H, bool lastFirst) {
  const int nT = (L + ROWS - 1) / ROWS;
  const int bh = blockIdx.x / nT;
  const int t = blockIdx.x - bh * nT;
  const int b = bh / H;
  return {bh, b, bh - b * H, (lastFirst ? nT - 1 - t : t) * ROWS};
}

// Row stride of the [32][dh] tiles: odd (scalar path, lane-indexed rows on distinct banks) or, for
// float4 accesses (VEC, dh % 4 == 0), a multiple of 4 whose float4 count is odd (conflict-free
// 128-bit accesses by 8 consecutive lanes). cuda.ts computes the same for the shared-memory size.
template <bool VEC>
__device__ __forceinline__ int tile_stride(int dh) {
  return VEC ? (((dh >> 2) & 1) ? dh : dh + 4) : (dh | 1);
}

// s[r] += Σ_d a[r·dhp + d] · x[d] for the warp's ROWS rows a (broadcast) and the lane's row x, and
// likewise t[r] with rows b and lane row y when TWO (the order of d is ascending in both paths).
template <bool VEC, bool TWO>
__device__ __forceinline__ void dots(float (&s)[ROWS], float (&t)[ROWS], const float* a, const float* x,
                                     const float* b, const float* y, int dh, int dhp) {
  if constexpr (VEC) {
#pragma unroll 2
    for (int d = 0; d < dh; d += 4) {
      const float4 xv = *reinterpret_cast<const float4*>(x + d);
      float4 yv;
      if constexpr (TWO) yv = *reinterpret_cast<const float4*>(y + d);
#pragma unroll
      for (int r = 0; r < ROWS; r++) {
        const float4 av = *reinterpret_cast<const float4*>(a + r * dhp + d);
        s[r] = fmaf(av.w, xv.w, fmaf(av.z, xv.z, fmaf(av.y, xv.y, fmaf(av.x, xv.x, s[r]))));
        if constexpr (TWO) {
          const float4 bv = *reinterpret_cast<const float4*>(b + r * dhp + d);
          t[r] = fmaf(bv.w, yv.w, fmaf(bv.z, yv.z, fmaf(bv.y, yv.y, fmaf(bv.x, yv.x, t[r]))));
        }
      }
    }
  } else {
#pragma unroll 4
    for (int d = 0; d < dh; d++) {
      const float xv = x[d];
      float yv = 0.f;
      if constexpr (TWO) yv = y[d];
#pragma unroll
      for (int r = 0; r < ROWS; r++) {
        s[r] = fmaf(a[r * dhp + d], xv, s[r]);
        if constexpr (TWO) t[r] = fmaf(b[r * dhp + d], yv, t[r]);
      }
    }
  }
}

// acc[r][c] += Σ_kk P[r·PS + kk] · X[kk·dhp + lane + 32c] over kk < n (rows P of the warp, broadcast;
// X a tile); VEC reads P four entries at a time (entries n … ⌈n/4⌉·4 − 1 must be 0, X rows finite).
template <bool VEC, int NC>
__device__ __forceinline__ void accumulate(float (&acc)[ROWS][NC], const float* P, const float* X, int n, int dh,
                                           int dhp, int lane) {
  if constexpr (VEC) {
    for (int kk = 0; kk < n; kk += 4) {
      float4 p[ROWS];
#pragma unroll
      for (int r = 0; r < ROWS; r++) p[r] = *reinterpret_cast<const float4*>(P + r * PS + kk);
#pragma unroll
      for (int c = 0; c < NC; c++) {
        const int d = lane + 32 * c;
        const bool in = d < dh;
        const float x0 = in ? X[kk * dhp + d] : 0.f;
        const float x1 = in ? X[(kk + 1) * dhp + d] : 0.f;
        const float x2 = in ? X[(kk + 2) * dhp + d] : 0.f;
        const float x3 = in ? X[(kk + 3) * dhp + d] : 0.f;
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
          acc[r][c] = fmaf(p[r].w, x3, fmaf(p[r].z, x2, fmaf(p[r].y, x1, fmaf(p[r].x, x0, acc[r][c]))));
        }
      }
    }
  } else {
    for (int kk = 0; kk < n; kk++) {
#pragma unroll
      for (int c = 0; c < NC; c++) {
        const int d = lane + 32 * c;
        const float xv = d < dh ? X[kk * dhp + d] : 0.f;
#pragma unroll
        for (int r = 0; r < ROWS; r++) acc[r][c] = fmaf(P[r * PS + kk], xv, acc[r][c]);
      }
    }
  }
}

// Whether query i may attend key j (keyPad: key j is padding).
__device__ __forceinline__ bool attends(int i, int j, int L, bool keyPad) {
  return i < L && (j == i || (j < i && !keyPad));
}

// The first key tile (a multiple of BK) that a block of queries t0 … (t0 a multiple of BK) must
// visit. Keys before both t0 and the sequence's first real (non-padding) key are padding that no
// query of the block attends (each is before every query, so none is a query's own diagonal):
// their tiles would add exact zeros (every score masked: the online softmax's m, l and the
// accumulators stay as they are, p = dS = 0), so a loop may start here and give the same numbers.
// SASRec's batches are left-padded, so this skips most of a short sequence's work. Every thread of
// the block must call it (barriers).
template <int BK>
__device__ __forceinline__ int first_key_tile(const int* __restrict__ ids, int b, int L, int padId, int t0) {
  __shared__ int firstReal;
  if (threadIdx.x == 0) firstReal = t0;
  __syncthreads();
  for (int j = threadIdx.x; j < t0; j += blockDim.x) {
    if (ids[b * L + j] != padId) {
      atomicMin(&firstReal, j);  // a thread's first hit is its smallest j
      break;
    }
  }
  __syncthreads();
  return firstReal / BK * BK;
}

// ---- forward: grid B·H·ceil(L / 32); dynamic shared 3·32·dhp + 32·36 floats ----
template <typename T, int NC, bool VEC>
__device__ __forceinline__ void attn_forward(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                             T* __restrict__ out, float* __restrict__ lse, const int* __restrict__ ids,
                                             int H, int L, int dh, int stride, int padId, float scale,
                                             const DropoutSite& drop) {
  extern __shared__ __align__(16) float smem[];
  __shared__ bool keyPad[TILE];
  const int dhp = tile_stride<VEC>(dh);
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
  for (int j0 = first_key_tile<TILE>(ids, b, L, padId, i0); j0 <= iLast; j0 += TILE) {
    __syncthreads();  // the previous tile's Ks / Vs are no longer read
    load_tile(Ks, k, b, j0, L, h, dh, dhp, stride);
    load_tile(Vs, v, b, j0, L, h, dh, dhp, stride);
    if (threadIdx.x < TILE) {
      const int j = j0 + threadIdx.x;
      keyPad[threadIdx.x] = j >= L || ids[b * L + j] == padId;
    }
    __syncthreads();

    float s[ROWS], unused[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) s[r] = 0.f;
    dots<VEC, false>(s, unused, Qs + w * ROWS * dhp, Ks + lane * dhp, nullptr, nullptr, dh, dhp);
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
    accumulate<VEC, NC>(acc, Ps + w * ROWS * PS, Vs, min(TILE, iLast + 1 - j0), dh, dhp, lane);
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

// ---- dk, dv: grid B·H·ceil(L / 32) over key tiles; dynamic shared 4·32·dhp + 2·32·36 floats ----
template <typename T, int NC, bool VEC>
__device__ __forceinline__ void attn_dkdv(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                          const T* __restrict__ dOut, const float* __restrict__ lse,
                                          const float* __restrict__ delta, T* __restrict__ dk, T* __restrict__ dv,
                                          const int* __restrict__ ids, int H, int L, int dh, int stride, int padId,
                                          float scale, const DropoutSite& drop) {
  extern __shared__ __align__(16) float smem[];
  __shared__ bool keyPad[TILE];
  __shared__ float lseS[TILE], deltaS[TILE];
  const int dhp = tile_stride<VEC>(dh);
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
    dots<VEC, true>(s, g, Ks + w * ROWS * dhp, Qs + lane * dhp, Vs + w * ROWS * dhp, Gs + lane * dhp, dh, dhp);
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

// ---- dq: grid B·H·ceil(L / 32) over query tiles; dynamic shared 4·32·dhp + 32·36 floats ----
template <typename T, int NC, bool VEC>
__device__ __forceinline__ void attn_dq(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                        const T* __restrict__ dOut, const float* __restrict__ lse,
                                        const float* __restrict__ delta, T* __restrict__ dq, const int* __restrict__ ids,
                                        int H, int L, int dh, int stride, int padId, float scale,
                                        const DropoutSite& drop) {
  extern __shared__ __align__(16) float smem[];
  __shared__ bool keyPad[TILE];
  const int dhp = tile_stride<VEC>(dh);
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
  for (int j0 = first_key_tile<TILE>(ids, b, L, padId, i0); j0 <= iLast; j0 += TILE) {
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
    dots<VEC, true>(s, g, Qs + w * ROWS * dhp, Ks + lane * dhp, Gs + w * ROWS * dhp, Vs + lane * dhp, dh, dhp);
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
    accumulate<VEC, NC>(acc, Ds + w * ROWS * PS, Ks, min(TILE, iLast + 1 - j0), dh, dhp, lane);
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

#define ATTN_KERNELS(NAME, T, NC, DMAX, VEC, V)                                                                            \
  extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                         \
      attention_forward##DMAX##V##_##NAME(const T* q, const T* k, const T* v, T* out, float* lse, const int* ids,    \
                                       int H, int L, int dh, int stride, int padId, float scale,                   \
                                       const DropoutSite drop) {                                                   \
    attn_forward<T, NC, VEC>(q, k, v, out, lse, ids, H, L, dh, stride, padId, scale, drop);                             \
  }                                                                                                                \
  extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                         \
      attention_dkdv##DMAX##V##_##NAME(const T* q, const T* k, const T* v, const T* dOut, const float* lse,           \
                                    const float* delta, T* dk, T* dv, const int* ids, int H, int L, int dh,        \
                                    int stride, int padId, float scale, const DropoutSite drop) {                  \
    attn_dkdv<T, NC, VEC>(q, k, v, dOut, lse, delta, dk, dv, ids, H, L, dh, stride, padId, scale, drop);                \
  }                                                                                                                \
  extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                         \
      attention_dq##DMAX##V##_##NAME(const T* q, const T* k, const T* v, const T* dOut, const float* lse,             \
                                  const float* delta, T* dq, const int* ids, int H, int L, int dh, int stride,     \
                                  int padId, float scale, const DropoutSite drop) {                                \
    attn_dq<T, NC, VEC>(q, k, v, dOut, lse, delta, dq, ids, H, L, dh, stride, padId, scale, drop);                      \
  }

#define ATTN_DTYPE(NAME, T)                                                                                   \
  ATTN_KERNELS(NAME, T, 1, 32, false, )                                                                     \
  ATTN_KERNELS(NAME, T, 1, 32, true, v)                                                                                \
  ATTN_KERNELS(NAME, T, 2, 64, false, )                                                                     \
  ATTN_KERNELS(NAME, T, 2, 64, true, v)                                                                                \
  ATTN_KERNELS(NAME, T, 3, 96, false, )                                                                     \
  ATTN_KERNELS(NAME, T, 3, 96, true, v)                                                                                \
  ATTN_KERNELS(NAME, T, 4, 128, false, )                                                                     \
  ATTN_KERNELS(NAME, T, 4, 128, true, v)                                                                               \
  extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                    \
      attention_delta_##NAME(const T* out, const T* dOut, float* delta, int B, int L, int H, int dh) {        \
    attn_delta<T>(out, dOut, delta, B, L, H, dh);                                                             \
  }

ATTN_DTYPE(f32, float)
ATTN_DTYPE(bf16, __nv_bfloat16)

// The dropout keep mask the tensor-core kernels read (attention_mma.cuh, "dropout from a keep
// mask"): word t = (bh·L + i)·W + w (W = ⌈L / 32⌉) holds, in bit b, whether element (i, 32w + b) is
// kept — the same draws and threshold as dropout_mul. Only keys j ≤ i are ever read: the other bits
// (and words past the diagonal) are 0. One thread per word, a grid-stride loop.
extern "C" __global__ void attention_keep_bits(uint32_t* __restrict__ keep, int BH, int L, const DropoutSite drop) {
  const int W = (L + 31) >> 5;
  const size_t n = (size_t)BH * L * W;
  for (size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += (size_t)gridDim.x * blockDim.x) {
    const size_t row = t / W;  // bh·L + i
    const int wi = (int)(t - row * W), i = (int)(row % L), j0 = 32 * wi;
    uint32_t bits = 0;
    if (j0 <= i) {
      const uint32_t e0 = (uint32_t)(row * L + j0), e1 = e0 + (uint32_t)min(32, i + 1 - j0);  // [e0, e1)
      for (uint32_t g = e0 >> 2; 4 * g < e1; g++) {
        const cutrec_u32x4 w = cutrec_philox4x32_10(cutrec_u32x4{g, drop.site, *drop.step, CUTREC_DROPOUT_TAG},
                                                    drop.k0, drop.k1);
        const uint32_t words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int c = 0; c < 4; c++) {
          const uint32_t e = 4 * g + c;
          if (e >= e0 && e < e1 && words[c] < drop.threshold) bits |= 1u << (e - e0);
        }
      }
    }
    keep[t] = bits;
  }
}

// The bf16 tensor-core kernels (same contract, masks and tile order helpers).
#include "attention_mma.cuh"
