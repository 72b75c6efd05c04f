// share 'block' / 'batch' and negatives 'all' in bf16 on tensor cores through mma.sync (sm_80+):
// the same tiles and the same arithmetic as cce_tile.cuh (S = H·Wᵀ with fp32 accumulation, dS
// rounded to bf16 for the two backward products), with the fragments in registers instead of
// WMMA's shared-memory round trips. Taken for bf16 when D is a multiple of 32 and at most 256
// (the launcher checks; src/cuda/plan.ts).
//
// A CTA (8 warps) owns BM = 64 rows of one negative group and walks the group's K negatives BN = 64
// at a time. The next tile's negatives are drawn and their rows copied (cp.async) while the current
// tile is multiplied. Warp w = (wm = w % 4, wh = w / 4):
//   S:  rows 16·wm … +15, negatives 32·wh … +31 (4 n-tiles of 8), online (max, sum) per row;
//   dH: rows 16·wm … +15, columns wh·D/2 … +D/2, accumulated in registers over every tile;
//   dW: negatives 16·wm … +15, columns wh·D/2 … +D/2 (32 at a time), added to dItems with 16-byte
//       atomics (lane pairs swap halves so each lane owns four adjacent columns of one row).
#pragma once
#include "cce_tile.cuh"
#include "mma.cuh"

namespace cce {
namespace mma16 {

constexpr int BN = 64;
constexpr int LDP = BN + 8;  // row stride of the dS tile (bf16)
using bf16 = __nv_bfloat16;

// Shared-memory bytes for D (the host computes the same: src/cuda/plan.ts tileMmaSmemBytes).
__host__ __device__ constexpr int smem_bytes(int D, bool bwd) {
  const int LD = D + 8;
  int b = (BM + 2 * BN) * LD * 2;  // sH, sW[2]
  if (bwd) b += BM * LDP * 2;      // sP
  b += 2 * BN * 8;                 // sItem[2], sAdj[2]
  b += 4 * BM * 4;                 // sY, sPos, sLse, sG
  if (!bwd) b += 4 * BM * 4;       // sRed: (max, sum) of the two column halves
  return b;
}

struct Smem {
  bf16 *sH, *sW, *sP;
  int* sItem;
  float* sAdj;
  int* sY;
  float *sPos, *sLse, *sG, *sRed;
};

__device__ __forceinline__ Smem carve(unsigned char* smem, int D, bool bwd) {
  const int LD = D + 8;
  Smem s;
  s.sH = reinterpret_cast<bf16*>(smem);
  s.sW = s.sH + BM * LD;
  s.sP = s.sW + 2 * BN * LD;
  s.sItem = reinterpret_cast<int*>(s.sP + (bwd ? BM * LDP : 0));
  s.sAdj = reinterpret_cast<float*>(s.sItem + 2 * BN);
  s.sY = reinterpret_cast<int*>(s.sAdj + 2 * BN);
  s.sPos = reinterpret_cast<float*>(s.sY + BM);
  s.sLse = s.sPos + BM;
  s.sG = s.sLse + BM;
  s.sRed = s.sG + BM;
  return s;
}

// Negatives t·BN … t·BN + BN − 1 of the group into buffer buf.
__device__ __forceinline__ void draw(const CceArgs& a, const Smem& s, uint32_t g, int t, int buf) {
  for (int c = threadIdx.x; c < BN; c += THREADS) {
    float adj;
    s.sItem[buf * BN + c] = cce_negative(a, g, t * BN + c, &adj);
    s.sAdj[buf * BN + c] = adj;
  }
}

// `rows` rows of X (row src(r), negative: a zero row) into a [rows][D + 8] tile via cp.async.
template <typename SrcRow>
__device__ __forceinline__ void copy_rows(bf16* tile, const bf16* __restrict__ X, int rows, int D, SrcRow src) {
  const int V = D / 8, LD = D + 8;
  for (int idx = threadIdx.x; idx < rows * V; idx += THREADS) {
    const int r = idx / V, c = (idx - r * V) * 8;
    const int gr = src(r);
    cp_async16(tile + r * LD + c, gr >= 0 ? X + (size_t)gr * D + c : X, gr >= 0);
  }
}

// S for this warp's 16 rows × 32 negatives of tile buffer w: c[nt] = columns 8·nt … of the half.
__device__ __forceinline__ void scores(float (&c)[4][4], const Smem& s, const bf16* w, int D, int wm, int lane) {
  const int LD = D + 8;
#pragma unroll
  for (int nt = 0; nt < 4; ++nt) c[nt][0] = c[nt][1] = c[nt][2] = c[nt][3] = 0.f;
  for (int k0 = 0; k0 < D; k0 += 16) {
    uint32_t fa[4];
    load_a(fa, s.sH, LD, 16 * wm, k0, lane);
    mma_abt<4>(c, fa, w, LD, k0, lane);
  }
}

// The logit of score v at negative n (buffer buf) for a row whose target is y (−1: none).
__device__ __forceinline__ float logit(const CceArgs& a, const Smem& s, int buf, int n, float v, int y) {
  const float z = v + s.sAdj[buf * BN + n];
  const bool hit = (a.flags & CCE_FLAG_REMOVE_HITS) && a.mode != CCE_MODE_ALL && s.sItem[buf * BN + n] == y;
  return hit ? CCE_NEG_INF : z;
}

// dItems[item] += v at 4 adjacent columns from d, for the two rows of a C fragment (lo: row g,
// hi: row g + 8): lanes q and q ^ 1 swap a pair so each sends one 16-byte atomic.
__device__ __forceinline__ void add_rows(float* dW, int D, int itemLo, int itemHi, int d, const float (&c)[4],
                                         int q) {
  const bool odd = q & 1;
  const float r0 = __shfl_xor_sync(0xffffffffu, odd ? c[0] : c[2], 1);
  const float r1 = __shfl_xor_sync(0xffffffffu, odd ? c[1] : c[3], 1);
  const float v[4] = {odd ? r0 : c[0], odd ? r1 : c[1], odd ? c[2] : r0, odd ? c[3] : r1};
  const int item = odd ? itemHi : itemLo;
  if (item >= 0) atomic_add_vec<4>(dW + (size_t)item * D + (odd ? d - 2 : d), v);
}

// Online (max, sum of exp) of one row over the eight logits z[0..7] of a tile.
__device__ __forceinline__ void online(float& m, float& l, const float (&z)[8]) {
  float t = CCE_NEG_INF;
#pragma unroll
  for (int i = 0; i < 8; ++i) t = fmaxf(t, z[i]);
  if (t == CCE_NEG_INF) return;
  const float mn = fmaxf(m, t);
  float acc = m == CCE_NEG_INF ? 0.f : l * __expf(m - mn);
#pragma unroll
  for (int i = 0; i < 8; ++i) acc += __expf(z[i] - mn);  // exp(−inf) = 0
  m = mn;
  l = acc;
}

}  // namespace mma16

template <int DMAX, bool BWD>
__device__ __forceinline__ void tile_mma_body(const CceArgs& a) {
  using namespace mma16;
  constexpr int NTD = DMAX / 16;  // n-tiles of 8 in a warp's D/2 columns
  const int D = a.D, LD = D + 8, Dh = D / 2;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int wm = warp & 3, wh = warp >> 2, g = lane >> 2, q = lane & 3;
  const TileRows tr = tile_rows(a);
  if (tr.rows <= 0) return;
  const bf16* __restrict__ H = static_cast<const bf16*>(a.H);
  const bf16* __restrict__ W = static_cast<const bf16*>(a.W);
  extern __shared__ __align__(128) unsigned char smem[];
  const Smem s = carve(smem, D, BWD);

  copy_rows(s.sH, H, BM, D, [&](int r) { return r < tr.rows ? tr.r0 + r : -1; });
  for (int r = tid; r < BM; r += THREADS) {
    const int y = r < tr.rows ? a.Y[tr.r0 + r] : a.ignoreIndex;
    const bool valid = y != a.ignoreIndex;
    s.sY[r] = valid ? y : -1;
    s.sLse[r] = BWD && valid ? a.lse[tr.r0 + r] : 0.f;
    s.sG[r] = BWD && valid ? a.dLoss[tr.r0 + r] : 0.f;
  }
  draw(a, s, tr.g, 0, 0);
  __syncthreads();
  copy_rows(s.sW, W, BN, D, [&](int r) { return s.sItem[r]; });
  cp_async_commit();
  positive_logits<bf16>(a, tr, s.sY, s.sPos, H, W);

  const int rLo = 16 * wm + g, rHi = rLo + 8;
  const int yLo = s.sY[rLo], yHi = s.sY[rHi];
  float mLo = CCE_NEG_INF, lLo = 0.f, mHi = CCE_NEG_INF, lHi = 0.f;  // forward
  float dh[NTD][4];                                                  // backward
#pragma unroll
  for (int nt = 0; nt < NTD; ++nt) dh[nt][0] = dh[nt][1] = dh[nt][2] = dh[nt][3] = 0.f;

  const int tiles = (a.K + BN - 1) / BN;
  for (int t = 0; t < tiles; ++t) {
    const int cur = t & 1;
    if (t + 1 < tiles) draw(a, s, tr.g, t + 1, cur ^ 1);
    __syncthreads();  // the next tile's negatives are drawn
    if (t + 1 < tiles) {
      copy_rows(s.sW + (cur ^ 1) * BN * LD, W, BN, D, [&](int r) { return s.sItem[(cur ^ 1) * BN + r]; });
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();  // this tile's rows (and, at t = 0, the hidden tile) have landed
    const bf16* w = s.sW + cur * BN * LD;
    float c[4][4];
    scores(c, s, w + 32 * wh * LD, D, wm, lane);
    if constexpr (!BWD) {
      float zLo[8], zHi[8];
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int n = 32 * wh + 8 * nt + 2 * q + e;
          zLo[2 * nt + e] = logit(a, s, cur, n, c[nt][e], yLo);
          zHi[2 * nt + e] = logit(a, s, cur, n, c[nt][2 + e], yHi);
        }
      }
      online(mLo, lLo, zLo);
      online(mHi, lHi, zHi);
    } else {
      // dS = dLoss · softmax, to bf16 in sP [row][negative]
      const float lseLo = s.sLse[rLo], gLo = s.sG[rLo], lseHi = s.sLse[rHi], gHi = s.sG[rHi];
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        const int n = 32 * wh + 8 * nt + 2 * q;
        float p[4];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float zl = logit(a, s, cur, n + e, c[nt][e], yLo);
          const float zh = logit(a, s, cur, n + e, c[nt][2 + e], yHi);
          p[e] = (yLo < 0 || gLo == 0.f || zl == CCE_NEG_INF) ? 0.f : __expf(zl - lseLo) * gLo;
          p[2 + e] = (yHi < 0 || gHi == 0.f || zh == CCE_NEG_INF) ? 0.f : __expf(zh - lseHi) * gHi;
        }
        *reinterpret_cast<uint32_t*>(s.sP + rLo * LDP + n) = pack_bf16(p[0], p[1]);
        *reinterpret_cast<uint32_t*>(s.sP + rHi * LDP + n) = pack_bf16(p[2], p[3]);
      }
      __syncthreads();
      // dH[16·wm…, wh·Dh…] += dS[16·wm…, 0…BN) · Wn[0…BN, wh·Dh…]
#pragma unroll
      for (int ks = 0; ks < BN / 16; ++ks) {
        uint32_t fa[4];
        load_a(fa, s.sP, LDP, 16 * wm, 16 * ks, lane);
#pragma unroll
        for (int p = 0; p < NTD / 2; ++p) {
          if (16 * p >= Dh) break;
          uint32_t fb[4];
          load_b2(fb, w, LD, wh * Dh + 16 * p, 16 * ks, lane);
          mma_bf16(dh[2 * p], fa, fb[0], fb[1]);
          mma_bf16(dh[2 * p + 1], fa, fb[2], fb[3]);
        }
      }
      // dWn[16·wm…, wh·Dh…] = dSᵀ · H, 32 columns at a time, into dItems
      const int itemLo = s.sItem[cur * BN + rLo], itemHi = s.sItem[cur * BN + rHi];
      for (int dc = 0; dc < Dh; dc += 32) {
        float cw[4][4];
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) cw[nt][0] = cw[nt][1] = cw[nt][2] = cw[nt][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < BM / 16; ++ks) {
          uint32_t fa[4];
          load_at(fa, s.sP, LDP, 16 * wm, 16 * ks, lane);
#pragma unroll
          for (int p = 0; p < 2; ++p) {
            if (dc + 16 * p >= Dh) break;
            uint32_t fb[4];
            load_b2(fb, s.sH, LD, wh * Dh + dc + 16 * p, 16 * ks, lane);
            mma_bf16(cw[2 * p], fa, fb[0], fb[1]);
            mma_bf16(cw[2 * p + 1], fa, fb[2], fb[3]);
          }
        }
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
          if (dc + 8 * nt >= Dh) break;
          add_rows(a.dW, D, itemLo, itemHi, wh * Dh + dc + 8 * nt + 2 * q, cw[nt], q);
        }
      }
    }
    __syncthreads();  // done with this tile's buffers before the next draw overwrites them
  }

  if constexpr (!BWD) {
    // (max, sum) over the quad, then over the two column halves
#pragma unroll
    for (int o = 1; o <= 2; o <<= 1) {
      lse_merge(mLo, lLo, __shfl_xor_sync(0xffffffffu, mLo, o), __shfl_xor_sync(0xffffffffu, lLo, o));
      lse_merge(mHi, lHi, __shfl_xor_sync(0xffffffffu, mHi, o), __shfl_xor_sync(0xffffffffu, lHi, o));
    }
    if (q == 0) {
      s.sRed[(2 * wh) * BM + rLo] = mLo;
      s.sRed[(2 * wh + 1) * BM + rLo] = lLo;
      s.sRed[(2 * wh) * BM + rHi] = mHi;
      s.sRed[(2 * wh + 1) * BM + rHi] = lHi;
    }
    __syncthreads();
    for (int r = tid; r < tr.rows; r += THREADS) {
      float m = s.sRed[r], l = s.sRed[BM + r];
      lse_merge(m, l, s.sRed[2 * BM + r], s.sRed[3 * BM + r]);
      write_forward(a, tr.r0 + r, s.sY[r], s.sPos[r], m, l);
    }
  } else {
    // dH to shared memory (over the W buffers, no longer read), then the positive term
    float* sAcc = reinterpret_cast<float*>(s.sW);
    const int lda = D + 4;
#pragma unroll
    for (int nt = 0; nt < NTD; ++nt) {
      const int d = wh * Dh + 8 * nt + 2 * q;
      if (8 * nt >= Dh) break;
      sAcc[rLo * lda + d] = dh[nt][0];
      sAcc[rLo * lda + d + 1] = dh[nt][1];
      sAcc[rHi * lda + d] = dh[nt][2];
      sAcc[rHi * lda + d + 1] = dh[nt][3];
    }
    __syncthreads();
    finish_backward<bf16>(a, tr, s.sY, s.sPos, s.sLse, s.sG, sAcc, lda, H, W);
  }
}
}  // namespace cce
