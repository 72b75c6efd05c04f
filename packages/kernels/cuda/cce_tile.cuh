// share 'block' / 'batch' and negatives 'all': dense tiles on tensor cores (WMMA).
// A CTA (8 warps) owns a tile of BM = 64 rows of one negative group and walks that group's K
// negatives BN at a time: draw BN items, load their rows into shared memory, S = H·Wᵀ on tensor
// cores (bf16/f16 operands, or tf32 — 3×tf32 split for f32 accuracy — with f32 accumulation),
// then the epilogue adds −log(K·q), masks hits and folds S into per-row online (max, sum).
// Backward recomputes S, forms dS = dLoss·exp(S − lse) and runs two more products per tile:
// dH += dS·Wn (accumulated in shared memory) and dWn = dSᵀ·H (added to dItems with atomics).
#pragma once
#include <mma.h>

#include "cce_common.cuh"

namespace cce {
using namespace nvcuda;

template <typename T>
struct Tc;  // tensor-core operand type, k-step and smem padding per input type
template <>
struct Tc<__half> {
  using S = __half;  // shared-memory element
  using Op = __half;
  static constexpr int KK = 16, PAD = 8, BN = 64;
};
template <>
struct Tc<__nv_bfloat16> {
  using S = __nv_bfloat16;
  using Op = __nv_bfloat16;
  static constexpr int KK = 16, PAD = 8, BN = 64;
};
template <>
struct Tc<float> {
  using S = float;
  using Op = wmma::precision::tf32;
  static constexpr int KK = 8, PAD = 4, BN = 32;
};

constexpr int BM = 64;
constexpr int THREADS = 256;

template <typename T, typename L>
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, Tc<T>::KK, typename Tc<T>::Op, L>;
template <typename T, typename L>
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, Tc<T>::KK, typename Tc<T>::Op, L>;
using Acc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
using AccTf = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;
template <typename T>
using AccT = typename std::conditional<sizeof(T) == 4, AccTf, Acc>::type;

// c += a·b; for f32 the operands are split into tf32 hi + lo parts (X3) or rounded once.
template <typename T, bool X3, typename FA, typename FB, typename FC>
__device__ __forceinline__ void mma(FC& c, FA& a, FB& b) {
  if constexpr (sizeof(T) == 4) {
    if constexpr (X3) {
      FA al;
      FB bl;
#pragma unroll
      for (int e = 0; e < a.num_elements; ++e) {
        const float hi = wmma::__float_to_tf32(a.x[e]);
        al.x[e] = wmma::__float_to_tf32(a.x[e] - hi);
        a.x[e] = hi;
      }
#pragma unroll
      for (int e = 0; e < b.num_elements; ++e) {
        const float hi = wmma::__float_to_tf32(b.x[e]);
        bl.x[e] = wmma::__float_to_tf32(b.x[e] - hi);
        b.x[e] = hi;
      }
      wmma::mma_sync(c, al, b, c);
      wmma::mma_sync(c, a, bl, c);
    } else {
#pragma unroll
      for (int e = 0; e < a.num_elements; ++e) a.x[e] = wmma::__float_to_tf32(a.x[e]);
#pragma unroll
      for (int e = 0; e < b.num_elements; ++e) b.x[e] = wmma::__float_to_tf32(b.x[e]);
    }
  }
  wmma::mma_sync(c, a, b, c);
}

template <typename T>
__device__ __forceinline__ typename Tc<T>::S to_s(float x) {
  if constexpr (sizeof(T) == 4) return x;
  else if constexpr (std::is_same<T, __half>::value) return __float2half_rn(x);
  else return __float2bfloat16_rn(x);
}

// Copies rows of a [*, D] global matrix into a [rows, DP] shared tile (zero-padded): row r comes
// from global row src(r) (negative for a zero row). 16-byte chunks when D allows, else elements.
template <typename T, typename SrcRow>
__device__ __forceinline__ void load_tile(typename Tc<T>::S* dst, int ld, int rows, int D, int DP, const T* g,
                                          SrcRow src) {
  using S = typename Tc<T>::S;
  constexpr int EPC = 16 / sizeof(T);  // elements per 16-byte chunk
  if (D % EPC == 0) {
    const int cpr = DP / EPC;  // DP is a multiple of 16 ≥ EPC
    for (int idx = threadIdx.x; idx < rows * cpr; idx += THREADS) {
      const int r = idx / cpr, c = (idx - r * cpr) * EPC;
      const int gr = src(r);
      uint4 v = make_uint4(0, 0, 0, 0);
      if (gr >= 0 && c < D) v = __ldg(reinterpret_cast<const uint4*>(g + (size_t)gr * D + c));
      *reinterpret_cast<uint4*>(dst + r * ld + c) = v;  // S == T here (f32 stays f32)
    }
  } else {
    for (int idx = threadIdx.x; idx < rows * DP; idx += THREADS) {
      const int r = idx / DP, c = idx - r * DP;
      const int gr = src(r);
      float v = 0.f;
      if (gr >= 0 && c < D) v = Elem<T>::to_f(g[(size_t)gr * D + c]);
      dst[r * ld + c] = to_s<T>(v);
    }
  }
}

struct TileRows {
  int r0, rows;
  uint32_t g;
};

__device__ __forceinline__ TileRows tile_rows(const CceArgs& a) {
  TileRows t;
  if (a.mode == CCE_MODE_BLOCK) {
    const int grp = blockIdx.x / a.tilesPerGroup, sub = blockIdx.x - grp * a.tilesPerGroup;
    t.r0 = grp * a.blockRows + sub * BM;
    const int end = min(min(grp * a.blockRows + a.blockRows, a.N), t.r0 + BM);
    t.rows = max(0, end - t.r0);
    t.g = (uint32_t)grp;
  } else {
    t.r0 = blockIdx.x * BM;
    t.rows = max(0, min(a.N - t.r0, BM));
    t.g = 0;
  }
  return t;
}

// Positive logits h_i · w_{y_i} in f32 from global memory, a warp per row (sPos; sY = −1: none).
template <typename T>
__device__ __forceinline__ void positive_logits(const CceArgs& a, const TileRows& tr, const int* sY, float* sPos,
                                                const T* __restrict__ H, const T* __restrict__ W) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, D = a.D;
  for (int r = warp; r < BM; r += THREADS / 32) {
    const int y = sY[r];
    float p = 0.f;
    if (y >= 0) {
      for (int d = lane; d < D; d += 32) p = fmaf(Elem<T>::to_f(W[(size_t)y * D + d]), Elem<T>::to_f(H[(size_t)(tr.r0 + r) * D + d]), p);
    }
    p = warp_sum(p);
    if (lane == 0) sPos[r] = p;
  }
}

// Row i's loss and lse from the (max, sum) of its negatives' logits and its positive logit.
__device__ __forceinline__ void write_forward(const CceArgs& a, int i, int y, float pos, float m, float l) {
  if (y < 0) {
    a.loss[i] = 0.f;
    a.lse[i] = 0.f;
    return;
  }
  if (a.mode != CCE_MODE_ALL) lse_merge(m, l, pos, 1.f);
  const float out = m + logf(l);
  a.lse[i] = out;
  a.loss[i] = out - pos;
}

// dH = sAcc + gpos·w_y (written), dW[y] += gpos·h (atomics), a warp per row; sAcc [BM][lda] f32.
template <typename T>
__device__ __forceinline__ void finish_backward(const CceArgs& a, const TileRows& tr, const int* sY,
                                                const float* sPos, const float* sLse, const float* sG,
                                                const float* sAcc, int lda, const T* __restrict__ H,
                                                const T* __restrict__ W) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, D = a.D;
  const bool all = a.mode == CCE_MODE_ALL;
  for (int r = warp; r < tr.rows; r += THREADS / 32) {
    const int y = sY[r], i = tr.r0 + r;
    const float g = sG[r];
    const float gpos = y < 0 ? 0.f : (all ? -g : g * (__expf(sPos[r] - sLse[r]) - 1.f));
    for (int d = lane; d < D; d += 32) {
      float v = sAcc[r * lda + d];
      if (y >= 0) {
        v = fmaf(gpos, Elem<T>::to_f(W[(size_t)y * D + d]), v);
        if (gpos != 0.f) atomicAdd(a.dW + (size_t)y * D + d, gpos * Elem<T>::to_f(H[(size_t)i * D + d]));
      }
      a.dH[(size_t)i * D + d] = v;
    }
  }
}

// Shared-memory bytes a tile kernel needs for D (the host computes the same: src/cuda/plan.ts).
template <typename T, bool BWD>
__host__ __device__ constexpr int tile_smem_bytes(int D) {
  using S = typename Tc<T>::S;
  const int DP = (D + 15) / 16 * 16, LD = DP + Tc<T>::PAD, BN = Tc<T>::BN;
  int b = (BM + BN) * LD * (int)sizeof(S);        // sH, sW
  b += BM * (BN + 4) * 4;                         // sS
  b += BN * 8 + BM * 16;                          // sItem, sAdj, sY, sPos, sLse, sG
  if (BWD) {
    if (sizeof(S) != 4) b += BM * (BN + 8) * (int)sizeof(S);  // sP (dS in 16 bits)
    b += BM * (DP + 4) * 4;                                   // sAcc (dH)
    b += (THREADS / 32) * 256 * 4;                            // per-warp dW scratch
  }
  return b;
}

template <typename T, bool BWD, bool X3>
__device__ __forceinline__ void tile_body(const CceArgs& a) {
  using S = typename Tc<T>::S;
  constexpr int BN = Tc<T>::BN, KK = Tc<T>::KK;
  const int D = a.D, DP = (D + 15) / 16 * 16, LD = DP + Tc<T>::PAD;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const TileRows tr = tile_rows(a);
  if (tr.rows <= 0) return;
  const T* __restrict__ H = static_cast<const T*>(a.H);
  const T* __restrict__ W = static_cast<const T*>(a.W);
  const bool all = a.mode == CCE_MODE_ALL;
  const bool removeHits = !all && (a.flags & CCE_FLAG_REMOVE_HITS);

  extern __shared__ __align__(128) unsigned char smem[];
  S* sH = reinterpret_cast<S*>(smem);
  S* sW = sH + BM * LD;
  float* sS = reinterpret_cast<float*>(sW + BN * LD);
  int* sItem = reinterpret_cast<int*>(sS + BM * (BN + 4));
  float* sAdj = reinterpret_cast<float*>(sItem + BN);
  int* sY = reinterpret_cast<int*>(sAdj + BN);
  float* sPos = reinterpret_cast<float*>(sY + BM);
  float* sLse = sPos + BM;
  float* sG = sLse + BM;
  S* sP = reinterpret_cast<S*>(sG + BM);  // BWD, 16-bit only
  float* sAcc = reinterpret_cast<float*>(sP + (sizeof(S) == 4 ? 0 : BM * (BN + 8)));
  float* sScr = sAcc + BM * (DP + 4);
  constexpr int LDS = BN + 4;
  constexpr int LDP = sizeof(S) == 4 ? LDS : BN + 8;

  // rows: hidden tile, targets, dLoss / lse
  load_tile<T>(sH, LD, BM, D, DP, H, [&](int r) { return r < tr.rows ? tr.r0 + r : -1; });
  for (int r = tid; r < BM; r += THREADS) {
    const int y = r < tr.rows ? a.Y[tr.r0 + r] : a.ignoreIndex;
    const bool valid = y != a.ignoreIndex;
    sY[r] = valid ? y : -1;
    if constexpr (BWD) {
      sLse[r] = valid ? a.lse[tr.r0 + r] : 0.f;
      sG[r] = valid ? a.dLoss[tr.r0 + r] : 0.f;
    }
  }
  if constexpr (BWD) {
    for (int idx = tid; idx < BM * (DP + 4); idx += THREADS) sAcc[idx] = 0.f;
  }
  __syncthreads();
  positive_logits<T>(a, tr, sY, sPos, H, W);  // f32, from global memory

  // epilogue mapping: 4 threads per row, columns c = part + 4q
  const int er = tid >> 2, ep = tid & 3;
  float m = CCE_NEG_INF, l = 0.f;

  for (int j0 = 0; j0 < a.K; j0 += BN) {
    for (int c = tid; c < BN; c += THREADS) {
      float adj;
      sItem[c] = cce_negative(a, tr.g, j0 + c, &adj);
      sAdj[c] = adj;
    }
    __syncthreads();
    load_tile<T>(sW, LD, BN, D, DP, W, [&](int r) { return sItem[r]; });
    __syncthreads();
    // S = H·Wᵀ: (BM/16)×(BN/16) fragments over 8 warps
    constexpr int NF = (BM / 16) * (BN / 16);
    for (int f = warp; f < NF; f += THREADS / 32) {
      const int fm = (f / (BN / 16)) * 16, fn = (f % (BN / 16)) * 16;
      AccT<T> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int k = 0; k < DP; k += KK) {
        FragA<T, wmma::row_major> fa;
        FragB<T, wmma::col_major> fb;
        wmma::load_matrix_sync(fa, sH + fm * LD + k, LD);
        wmma::load_matrix_sync(fb, sW + fn * LD + k, LD);
        mma<T, X3>(acc, fa, fb);
      }
      wmma::store_matrix_sync(sS + fm * LDS + fn, acc, LDS, wmma::mem_row_major);
    }
    __syncthreads();
    // epilogue
    const int yr = sY[er];
    if constexpr (!BWD) {
      if (yr >= 0) {
#pragma unroll 4
        for (int c = ep; c < BN; c += 4) {
          float s = sS[er * LDS + c] + sAdj[c];
          if (removeHits && sItem[c] == yr) s = CCE_NEG_INF;
          if (s != CCE_NEG_INF) {
            if (s > m) {
              l = l * __expf(m - s) + 1.f;
              m = s;
            } else {
              l += __expf(s - m);
            }
          }
        }
      }
      __syncthreads();
    } else {
      const float lse = sLse[er], g = sG[er];
#pragma unroll 4
      for (int c = ep; c < BN; c += 4) {
        float s = sS[er * LDS + c] + sAdj[c];
        if (removeHits && sItem[c] == yr) s = CCE_NEG_INF;
        const float p = (yr < 0 || g == 0.f || s == CCE_NEG_INF) ? 0.f : __expf(s - lse) * g;
        if constexpr (sizeof(S) == 4) sS[er * LDS + c] = p;
        else sP[er * LDP + c] = to_s<T>(p);
      }
      __syncthreads();
      S* dS = sizeof(S) == 4 ? reinterpret_cast<S*>(sS) : sP;
      // dH[BM×DP] += dS[BM×BN] · Wn[BN×DP]
      const int nfd = (BM / 16) * (DP / 16);
      for (int f = warp; f < nfd; f += THREADS / 32) {
        const int fm = (f / (DP / 16)) * 16, fn = (f % (DP / 16)) * 16;
        AccT<T> acc;
        wmma::load_matrix_sync(acc, sAcc + fm * (DP + 4) + fn, DP + 4, wmma::mem_row_major);
#pragma unroll
        for (int k = 0; k < BN; k += KK) {
          FragA<T, wmma::row_major> fa;
          FragB<T, wmma::row_major> fb;
          wmma::load_matrix_sync(fa, dS + fm * LDP + k, LDP);
          wmma::load_matrix_sync(fb, sW + k * LD + fn, LD);
          mma<T, X3>(acc, fa, fb);
        }
        wmma::store_matrix_sync(sAcc + fm * (DP + 4) + fn, acc, DP + 4, wmma::mem_row_major);
      }
      // dWn[BN×DP] = dSᵀ[BN×BM] · H[BM×DP], added to dItems
      float* scr = sScr + warp * 256;
      const int nfw = (BN / 16) * (DP / 16);
      for (int f = warp; f < nfw; f += THREADS / 32) {
        const int fm = (f / (DP / 16)) * 16, fn = (f % (DP / 16)) * 16;
        AccT<T> acc;
        wmma::fill_fragment(acc, 0.f);
#pragma unroll
        for (int k = 0; k < BM; k += KK) {
          FragA<T, wmma::col_major> fa;
          FragB<T, wmma::row_major> fb;
          wmma::load_matrix_sync(fa, dS + k * LDP + fm, LDP);
          wmma::load_matrix_sync(fb, sH + k * LD + fn, LD);
          mma<T, X3>(acc, fa, fb);
        }
        wmma::store_matrix_sync(scr, acc, 16, wmma::mem_row_major);
        __syncwarp();
        const int rr = lane >> 1, cc = (lane & 1) * 8;
        const int item = sItem[fm + rr];
        const int d0 = fn + cc;
        if (item >= 0 && d0 < D) {
          float* dst = a.dW + (size_t)item * D + d0;
          if ((D & 3) == 0 && d0 + 8 <= D) {
            atomic_add_vec<8>(dst, scr + rr * 16 + cc);
          } else {
            for (int q = 0; q < 8 && d0 + q < D; ++q) atomicAdd(dst + q, scr[rr * 16 + cc + q]);
          }
        }
        __syncwarp();
      }
      __syncthreads();
    }
  }

  if constexpr (!BWD) {
#pragma unroll
    for (int o = 1; o <= 2; o <<= 1) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m, o);
      const float l2 = __shfl_xor_sync(0xffffffffu, l, o);
      lse_merge(m, l, m2, l2);
    }
    if (ep == 0 && er < tr.rows) write_forward(a, tr.r0 + er, sY[er], sPos[er], m, l);
  } else {
    finish_backward<T>(a, tr, sY, sPos, sLse, sG, sAcc, DP + 4, H, W);
  }
}
}  // namespace cce
