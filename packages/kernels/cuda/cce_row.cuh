// share 'row' (and the generic fallback for every mode): a gather kernel, one warp per row.
// Each lane holds NCH×VEC elements of h_i in registers. Negatives go 32 at a time: lane l draws
// negative j0+l, then the warp fetches the 32 item rows (one coalesced row per fetch, 32 fetches
// in flight), each lane forms partial dots for all 32, and a transposing butterfly (31 shuffles)
// leaves lane l with the full logit of its own negative. Forward keeps an online (max, sum) per
// lane and merges them once; backward recomputes the logits, then adds p·w into dh (registers)
// and p·h into dW (vector atomics on sm_90). The backward may run in passes over item ranges
// [lo, hi) (host: src/cuda/cce.ts) so that the dItems rows the atomics hit stay in L2; the first
// pass writes dH, later ones add to it, and the positive term goes with the pass owning y.
#pragma once
#include "cce_common.cuh"

// One step of the transposing reduction: lanes with bit OFF set keep the upper half of part[0..2·OFF).
template <int OFF>
__device__ __forceinline__ void butterfly(float* part, int lane) {
  const bool upper = (lane & OFF) != 0;
#pragma unroll
  for (int q = 0; q < OFF; ++q) {
    const float send = upper ? part[q] : part[q + OFF];
    const float keep = upper ? part[q + OFF] : part[q];
    part[q] = keep + __shfl_xor_sync(0xffffffffu, send, OFF);
  }
}

template <typename T, int VEC, int NCH, bool BWD>
__device__ __forceinline__ void cce_row_kernel(const CceArgs a) {
  const int lane = threadIdx.x & 31;
  const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  if (warp >= a.N) return;
  const int i = (int)warp;
  const int D = a.D;
  const int y = a.Y[i];
  const int lo = BWD ? a.tilesPerGroup : 0;
  const int hi = (BWD && a.itemHi > 0) ? a.itemHi : 0x7fffffff;
  const bool firstPass = lo == 0;
  if (y == a.ignoreIndex) {
    if constexpr (BWD) {
      if (!firstPass) return;
      for (int d = lane; d < D; d += 32) a.dH[(size_t)i * D + d] = 0.f;
    } else if (lane == 0) {
      a.loss[i] = 0.f;
      a.lse[i] = 0.f;
    }
    return;
  }
  const T* __restrict__ H = static_cast<const T*>(a.H);
  const T* __restrict__ W = static_cast<const T*>(a.W);
  float hv[NCH][VEC];
#pragma unroll
  for (int c = 0; c < NCH; ++c) {
    const int idx = (c * 32 + lane) * VEC;
    if (idx < D) {
      load_vec<T, VEC>(H + (size_t)i * D + idx, hv[c]);
    } else {
#pragma unroll
      for (int q = 0; q < VEC; ++q) hv[c][q] = 0.f;
    }
  }
  // the positive logit
  float pos = 0.f;
#pragma unroll
  for (int c = 0; c < NCH; ++c) {
    const int idx = (c * 32 + lane) * VEC;
    if (idx < D) {
      float w[VEC];
      load_vec<T, VEC>(W + (size_t)y * D + idx, w);
#pragma unroll
      for (int q = 0; q < VEC; ++q) pos = fmaf(hv[c][q], w[q], pos);
    }
  }
  pos = warp_sum(pos);

  const bool all = a.mode == CCE_MODE_ALL;
  const bool removeHits = !all && (a.flags & CCE_FLAG_REMOVE_HITS);
  const uint32_t g = cce_group(a, i);
  float m = CCE_NEG_INF, l = 0.f;  // this lane's online log-sum-exp
  float lse = 0.f, gsc = 0.f;
  float dh[NCH][VEC];
  if constexpr (BWD) {
    lse = a.lse[i];
    gsc = a.dLoss[i];
#pragma unroll
    for (int c = 0; c < NCH; ++c)
#pragma unroll
      for (int q = 0; q < VEC; ++q) dh[c][q] = 0.f;
  }
  for (int j0 = 0; j0 < a.K; j0 += 32) {
    float adj;
    int item = cce_negative(a, g, j0 + lane, &adj);
    if (BWD && (item < lo || item >= hi)) item = -1;
    if (__ballot_sync(0xffffffffu, item >= 0) == 0) continue;
    float part[32];
#pragma unroll
    for (int t = 0; t < 32; ++t) {
      const int it = __shfl_sync(0xffffffffu, item, t);
      part[t] = 0.f;
      if (it >= 0) {
#pragma unroll
        for (int c = 0; c < NCH; ++c) {
          const int idx = (c * 32 + lane) * VEC;
          if (idx < D) {
            float w[VEC];
            load_vec<T, VEC>(W + (size_t)it * D + idx, w);
#pragma unroll
            for (int q = 0; q < VEC; ++q) part[t] = fmaf(hv[c][q], w[q], part[t]);
          }
        }
      }
    }
    // transposing butterfly: afterwards part[0] of lane l is the dot of negative j0 + l
    butterfly<16>(part, lane);
    butterfly<8>(part, lane);
    butterfly<4>(part, lane);
    butterfly<2>(part, lane);
    butterfly<1>(part, lane);
    float s = (item >= 0 && adj != CCE_NEG_INF) ? part[0] + adj : CCE_NEG_INF;
    if (removeHits && item == y) s = CCE_NEG_INF;
    if constexpr (!BWD) {
      if (s != CCE_NEG_INF) {
        if (s > m) {
          l = l * __expf(m - s) + 1.f;
          m = s;
        } else {
          l += __expf(s - m);
        }
      }
    } else {
      const float p = (s == CCE_NEG_INF || gsc == 0.f) ? 0.f : __expf(s - lse) * gsc;
#pragma unroll 4
      for (int t = 0; t < 32; ++t) {
        const float pt = __shfl_sync(0xffffffffu, p, t);
        const int it = __shfl_sync(0xffffffffu, item, t);
        if (pt != 0.f) {
#pragma unroll
          for (int c = 0; c < NCH; ++c) {
            const int idx = (c * 32 + lane) * VEC;
            if (idx < D) {
              float w[VEC], add[VEC];
              load_vec<T, VEC>(W + (size_t)it * D + idx, w);
#pragma unroll
              for (int q = 0; q < VEC; ++q) {
                dh[c][q] = fmaf(pt, w[q], dh[c][q]);
                add[q] = pt * hv[c][q];
              }
              atomic_add_vec<VEC>(a.dW + (size_t)it * D + idx, add);
            }
          }
        }
      }
    }
  }
  if constexpr (!BWD) {
    // merge the lanes, then the positive (sampled mode; in 'all' it is one of the items)
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m, o);
      const float l2 = __shfl_xor_sync(0xffffffffu, l, o);
      lse_merge(m, l, m2, l2);
    }
    if (!all) lse_merge(m, l, pos, 1.f);
    if (lane == 0) {
      const float out = m + logf(l);
      a.lse[i] = out;
      a.loss[i] = out - pos;
    }
  } else {
    const bool ownsPos = y >= lo && y < hi;
    const float gpos = !ownsPos ? 0.f : all ? -gsc : gsc * (__expf(pos - lse) - 1.f);
#pragma unroll
    for (int c = 0; c < NCH; ++c) {
      const int idx = (c * 32 + lane) * VEC;
      if (idx < D) {
        float w[VEC], add[VEC];
        load_vec<T, VEC>(W + (size_t)y * D + idx, w);
#pragma unroll
        for (int q = 0; q < VEC; ++q) {
          float* out = a.dH + (size_t)i * D + idx + q;
          const float v = fmaf(gpos, w[q], dh[c][q]);
          *out = firstPass ? v : *out + v;
          add[q] = gpos * hv[c][q];
        }
        if (gpos != 0.f) atomic_add_vec<VEC>(a.dW + (size_t)y * D + idx, add);
      }
    }
  }
}
