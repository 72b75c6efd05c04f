// The bf16 tensor-core attention kernels (sm_80+; included by attention.cu, whose contract and
// masks they share): the same three stages as the CUDA-core kernels above — forward (out, lse),
// dk/dv per key tile, dq per query tile, no atomics, p_ij recomputed from lse and the dropout
// multiplier from e_ij = ((b·H + h)·L + i)·L + j — with every product on mma.sync.m16n8k16 (bf16
// inputs, fp32 accumulation, mma.cuh) and the softmax in registers: a warp owns 16 rows of its
// tile (queries, or keys in dkdv), the score fragments become the next product's A fragments.
// Probabilities and dS enter their products rounded to bf16 (as FlashAttention does); lse, the
// online-softmax state and every accumulation are fp32. Scores are kept in base 2 (scaled by
// log2 e) so each exponential is one ex2.approx; lse is stored in base e. Dropout comes either from
// the draws (dropout_rows / dropout_cols) or, given a keep mask (cuda.ts `keep`), from its bits. For head sizes DH = 16 · n ≤ 128, bf16
// storage with 16-byte aligned rows and heads (cuda.ts decides; else the kernels above run).
//
//   forward  grid B·H·⌈L/64⌉, 64 queries per block (4 warps × 16), key tiles of 64 (K, V) in
//            shared memory; Q fragments in registers.
//   dkdv     grid B·H·⌈L/64⌉, 64 keys per block (4 warps × 16; K, V in shared memory), query
//            tiles of 32 (Q, dO).
//   dq       grid B·H·⌈L/64⌉, 64 queries per block, key tiles of 32 (K, V); Q and dO fragments
//            in registers.
// Tiles are row-major [rows][DH + 8] (conflict-free ldmatrix rows); an operand needed the other
// way round is read with ldmatrix .trans. The looped-over tiles are double-buffered: the next one
// loads through cp.async while the current one is computed.
#include "mma.cuh"

namespace {

using bf16 = __nv_bfloat16;
constexpr int MMA_WARPS = 4;
constexpr int MMA_ROWS = 64;  // queries (forward, dq) or keys (dkdv) per block
constexpr int NEG_INF_BITS = 0xff800000;
constexpr float LOG2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;

// 2^x on the special-function unit (one instruction; 2^−inf = 0). The kernels keep scores in
// base 2 (scaled by log2 e), so every exponential of the softmax is one of these.
__device__ __forceinline__ float exp2_fast(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// The last row of the block's tile that warp w owns (rows first … first + 15), or −1 for none.
__device__ __forceinline__ int warp_last(int first, int L) { return first < L ? min(first + 15, L - 1) : -1; }

// A fragments of rows r0 (rows g) and r0 + 8 (rows g + 8) of one head of X [R, stride] in global
// memory, columns 16·kk …; rows past L are zero.
template <int DH>
__device__ __forceinline__ void load_a_global(uint32_t (&a)[DH / 16][4], const bf16* __restrict__ X, int b, int r0,
                                              int L, int h, int stride, int q) {
  const size_t base0 = (size_t)(b * L + r0) * stride + (size_t)h * DH + 2 * q;
  const size_t base1 = base0 + (size_t)8 * stride;
#pragma unroll
  for (int kk = 0; kk < DH / 16; kk++) {
    a[kk][0] = r0 < L ? ldg_word(X, base0 + 16 * kk) : 0u;
    a[kk][1] = r0 + 8 < L ? ldg_word(X, base1 + 16 * kk) : 0u;
    a[kk][2] = r0 < L ? ldg_word(X, base0 + 16 * kk + 8) : 0u;
    a[kk][3] = r0 + 8 < L ? ldg_word(X, base1 + 16 * kk + 8) : 0u;
  }
}

// Rows r (c = 0, 1) and r + 8 (c = 2, 3) of accumulator fragments acc[DH/8] (times mul) to one
// head of Y [R, stride] as bf16; rows past L are skipped.
template <int DH>
__device__ __forceinline__ void store_rows(bf16* __restrict__ Y, const float (&acc)[DH / 8][4], float mul0,
                                           float mul1, int b, int r, int L, int h, int stride, int q) {
#pragma unroll
  for (int half = 0; half < 2; half++) {
    const int row = r + 8 * half;
    if (row >= L) continue;
    const float m = half ? mul1 : mul0;
    bf16* y = Y + (size_t)(b * L + row) * stride + (size_t)h * DH + 2 * q;
#pragma unroll
    for (int dt = 0; dt < DH / 8; dt++) {
      *reinterpret_cast<uint32_t*>(y + 8 * dt) = pack_bf16(acc[dt][2 * half] * m, acc[dt][2 * half + 1] * m);
    }
  }
}

template <int N>
__device__ __forceinline__ void zero(float (&c)[N][4]) {
#pragma unroll
  for (int n = 0; n < N; n++) c[n][0] = c[n][1] = c[n][2] = c[n][3] = 0.f;
}

// Stage `buf` of the forward's and dq's key pipeline ← key tile j0: K and V (two [BK][DH + 8]
// tiles per stage) through cp.async, and the key-padding flags.
template <int BK, int DH>
__device__ __forceinline__ void stage_keys(bf16* kv, bool (*keyPads)[BK], int buf, int j0, const bf16* k,
                                           const bf16* v, const int* __restrict__ ids, const Tiles& t, int L,
                                           int stride, int padId) {
  constexpr int KS = DH + 8;
  load_rows_async<BK, DH>(kv + 2 * buf * BK * KS, k, t.b, j0, L, t.h, stride, KS);
  load_rows_async<BK, DH>(kv + (2 * buf + 1) * BK * KS, v, t.b, j0, L, t.h, stride, KS);
  cp_async_commit();
  if (threadIdx.x < BK) {
    const int j = j0 + threadIdx.x;
    keyPads[buf][threadIdx.x] = j >= L || ids[t.b * L + j] == padId;
  }
}

// One step of a two-stage pipeline, before a tile is computed: the other stage (read by the
// previous tile) is free, so `stageNext` starts loading the next tile into it when there is one
// (`more`); then this tile's loads are awaited and made visible to the block.
template <typename StageNext>
__device__ __forceinline__ void pipeline_step(bool more, StageNext&& stageNext) {
  __syncthreads();
  if (more) {
    stageNext();
    cp_async_wait<1>();
  } else {
    cp_async_wait<0>();
  }
  __syncthreads();
}

// ---- dropout multipliers of a lane's accumulator fragments ----
// A mask's element e keeps where word e & 3 of the Philox draw at counter e >> 2 is below the
// threshold (common.cuh). Where L % 4 == 0 every row of [L, L] starts at a multiple of 4, so a
// group of four elements lies inside one row and lines up with the m16n8 fragments: the lanes
// that hold parts of the same groups make one draw each and trade words with shuffles (one draw
// per four elements, not one per two or per element). Every lane of the warp must call these
// (shuffles); elements outside [L, L] get multipliers that the callers' masks ignore.

__device__ __forceinline__ float keep_mul(const DropoutSite& d, uint32_t word) {
  return word < d.threshold ? d.scale : 0.f;
}

__device__ __forceinline__ uint32_t pick4(const cutrec_u32x4& w, int i) {
  return i == 0 ? w.x : i == 1 ? w.y : i == 2 ? w.z : w.w;
}

// Rows are queries (forward, dq): this lane's elements are e0c, e0c + 1 (row r0) and e1c, e1c + 1
// (row r1), e·c = the row's first element + a column that is 2·qd plus a multiple of 8. Lanes qd
// and qd ^ 1 hold the two halves of the same two groups: the even lane draws row r0's group, the
// odd lane row r1's, and each passes the other the half it needs. Returns (r0, r0 + 1, r1, r1 + 1).
__device__ __forceinline__ float4 dropout_rows(const DropoutSite& d, uint32_t e0c, uint32_t e1c, int qd, bool aligned) {
  if (!d.enabled) return make_float4(1.f, 1.f, 1.f, 1.f);
  if (!aligned) {
    const float2 a = dropout_mul2(d, e0c), b = dropout_mul2(d, e1c);
    return make_float4(a.x, a.y, b.x, b.y);
  }
  const bool odd = qd & 1;
  const cutrec_u32x4 w =
      cutrec_philox4x32_10(cutrec_u32x4{(odd ? e1c : e0c) >> 2, d.site, *d.step, CUTREC_DROPOUT_TAG}, d.k0, d.k1);
  const uint32_t got0 = __shfl_xor_sync(0xffffffffu, odd ? w.x : w.z, 1);
  const uint32_t got1 = __shfl_xor_sync(0xffffffffu, odd ? w.y : w.w, 1);
  return odd ? make_float4(keep_mul(d, got0), keep_mul(d, got1), keep_mul(d, w.z), keep_mul(d, w.w))
             : make_float4(keep_mul(d, w.x), keep_mul(d, w.y), keep_mul(d, got0), keep_mul(d, got1));
}

// Rows are keys (dkdv): this lane's elements c = 0 … 3 are keys j and j + 8 (c >> 1) of queries
// i and i + 1 (c & 1), at e = (bh·L + query)·L + key, where j = jq + (g & 3) and jq (a multiple
// of 4) is the first key of the lane's quad. The four lanes of one qd whose g share g >> 2 hold
// word r = g & 3 of the same four groups: lane r draws group c = r and, in three rounds of
// shuffles, gets word r of every other lane's group.
__device__ __forceinline__ float4 dropout_cols(const DropoutSite& d, size_t rowE /* (bh·L + i)·L */, int L,
                                               int jq, int r, bool aligned) {
  if (!d.enabled) return make_float4(1.f, 1.f, 1.f, 1.f);
  const uint32_t e00 = (uint32_t)(rowE + jq + r);
  if (!aligned) {
    return make_float4(dropout_mul(d, e00), dropout_mul(d, e00 + (uint32_t)L), dropout_mul(d, e00 + 8u),
                       dropout_mul(d, e00 + (uint32_t)L + 8u));
  }
  const uint32_t mine = (uint32_t)(rowE + (size_t)(r & 1) * L + jq + 8 * (r >> 1));
  const cutrec_u32x4 w = cutrec_philox4x32_10(cutrec_u32x4{mine >> 2, d.site, *d.step, CUTREC_DROPOUT_TAG}, d.k0, d.k1);
  uint32_t got[4];  // got[t]: word r of the group of lane r ^ t, i.e. element c = r ^ t
  got[0] = pick4(w, r);
#pragma unroll
  for (int t = 1; t < 4; t++) got[t] = __shfl_xor_sync(0xffffffffu, pick4(w, r ^ t), 4 * t);
  // element c is got[r ^ c]
  return make_float4(keep_mul(d, r == 0 ? got[0] : r == 1 ? got[1] : r == 2 ? got[2] : got[3]),
                     keep_mul(d, r == 0 ? got[1] : r == 1 ? got[0] : r == 2 ? got[3] : got[2]),
                     keep_mul(d, r == 0 ? got[2] : r == 1 ? got[3] : r == 2 ? got[0] : got[1]),
                     keep_mul(d, r == 0 ? got[3] : r == 1 ? got[2] : r == 2 ? got[1] : got[0]));
}

// ---- dropout from a keep mask made once per call ----
// With a mask (`keep`, not null), the kernels read the dropout decisions instead of drawing them:
// bit j % 32 of word (bh·L + i)·W + j / 32 (W = ⌈L / 32⌉ words per query row) is 1 where element
// (i, j) is kept. attention_keep_bits writes it from the same draws as dropout_mul, so the
// multipliers are the same bit for bit; the three kernels then each save their draws (the
// forward's and dq's per two elements, dkdv's per element: about a third of their time).

// Multipliers of bits `shift`, `shift` + 1 of words w0 (row r0) and w1 (row r1).
__device__ __forceinline__ float4 keep_rows(const DropoutSite& d, uint32_t w0, uint32_t w1, int shift) {
  if (!d.enabled) return make_float4(1.f, 1.f, 1.f, 1.f);
  const uint32_t a = w0 >> shift, b = w1 >> shift;
  return make_float4(a & 1u ? d.scale : 0.f, a & 2u ? d.scale : 0.f, b & 1u ? d.scale : 0.f, b & 2u ? d.scale : 0.f);
}

// Words j0 / 32 … j0 / 32 + N − 1 of query row r's mask (0 past the row or past L).
template <int N>
__device__ __forceinline__ void keep_words(uint32_t (&w)[N], const uint32_t* __restrict__ keep, size_t bhL, int r,
                                           int L, int W, int j0) {
#pragma unroll
  for (int h = 0; h < N; h++) {
    const int wi = (j0 >> 5) + h;
    w[h] = r < L && wi < W ? __ldg(keep + (bhL + r) * W + wi) : 0u;
  }
}

// ---- forward ----
template <int DH>
__device__ __forceinline__ void attn_forward_mma(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                                 const bf16* __restrict__ v, bf16* __restrict__ out,
                                                 float* __restrict__ lse, const int* __restrict__ ids, int H, int L,
                                                 int stride, int padId, float scale, const DropoutSite& drop,
                                                 const uint32_t* __restrict__ keep) {
  constexpr int BK = 64, KS = DH + 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* const kv = reinterpret_cast<bf16*>(smem_raw);  // two stages of K [BK][KS], V [BK][KS]
  __shared__ bool keyPads[2][BK];
  const Tiles t = tiles<MMA_ROWS>(L, H, true);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, g = lane >> 2, qd = lane & 3;
  const int r0 = t.t0 + 16 * w + g, r1 = r0 + 8;  // this lane's two rows
  const int wLast = warp_last(t.t0 + 16 * w, L);
  auto stage = [&](int buf, int j0) { stage_keys<BK, DH>(kv, keyPads, buf, j0, k, v, ids, t, L, stride, padId); };
  const int jFirst = first_key_tile<BK>(ids, t.b, L, padId, t.t0);  // key tiles of padding before it skipped
  stage(0, jFirst);
  uint32_t qf[DH / 16][4];
  load_a_global<DH>(qf, q, t.b, r0, L, t.h, stride, qd);

  float o[DH / 8][4];
  zero(o);
  float m0 = __int_as_float(NEG_INF_BITS), m1 = m0, l0 = 0.f, l1 = 0.f;
  const size_t e0 = ((size_t)t.bh * L + r0) * L, e1 = e0 + (size_t)8 * L;
  const bool aligned = (L & 3) == 0;  // the dropout draws' groups line up with the fragments
  const int W = (L + 31) >> 5;        // mask words per query row
  const int iLast = min(t.t0 + MMA_ROWS, L) - 1;
  const float scale2 = scale * LOG2E;  // scores and the running max m are in base 2
  for (int j0 = jFirst, buf = 0; j0 <= iLast; j0 += BK, buf ^= 1) {
    pipeline_step(j0 + BK <= iLast, [&] { stage(buf ^ 1, j0 + BK); });
    if (j0 > wLast) continue;  // every key of the tile follows every row of this warp (warp-uniform)
    const bf16* Ks = kv + 2 * buf * BK * KS;
    const bf16* Vs = Ks + BK * KS;
    const bool* keyPad = keyPads[buf];
    uint32_t kw0[BK / 32], kw1[BK / 32];  // this tile's mask words of rows r0, r1 (issued before the products)
    if (keep) {
      keep_words<BK / 32>(kw0, keep, (size_t)t.bh * L, r0, L, W, j0);
      keep_words<BK / 32>(kw1, keep, (size_t)t.bh * L, r1, L, W, j0);
    }

    float s[BK / 8][4];
    zero(s);
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) mma_abt(s, qf[kk], Ks, KS, 16 * kk, lane);
    float mx0 = __int_as_float(NEG_INF_BITS), mx1 = mx0;
#pragma unroll
    for (int nt = 0; nt < BK / 8; nt++) {
#pragma unroll
      for (int c = 0; c < 4; c++) {
        const int jj = 8 * nt + 2 * qd + (c & 1);
        const bool ok = attends(c < 2 ? r0 : r1, j0 + jj, L, keyPad[jj]);
        s[nt][c] = ok ? s[nt][c] * scale2 : __int_as_float(NEG_INF_BITS);
        if (c < 2) mx0 = fmaxf(mx0, s[nt][c]);
        else mx1 = fmaxf(mx1, s[nt][c]);
      }
    }
    const float n0 = fmaxf(m0, quad_max(mx0)), n1 = fmaxf(m1, quad_max(mx1));
    const float s0 = isinf(n0) ? 0.f : n0, s1 = isinf(n1) ? 0.f : n1;
    const float c0 = exp2_fast(m0 - s0), c1 = exp2_fast(m1 - s1);  // 0 while m is still −inf
    m0 = n0;
    m1 = n1;
    l0 *= c0;
    l1 *= c1;
#pragma unroll
    for (int dt = 0; dt < DH / 8; dt++) {
      o[dt][0] *= c0;
      o[dt][1] *= c0;
      o[dt][2] *= c1;
      o[dt][3] *= c1;
    }
#pragma unroll
    for (int nt = 0; nt < BK / 8; nt++) {
      const float p0 = exp2_fast(s[nt][0] - s0), p1 = exp2_fast(s[nt][1] - s0);
      const float p2 = exp2_fast(s[nt][2] - s1), p3 = exp2_fast(s[nt][3] - s1);
      l0 += p0 + p1;
      l1 += p2 + p3;
      const uint32_t col = (uint32_t)(j0 + 8 * nt + 2 * qd);
      const float4 dm = keep ? keep_rows(drop, kw0[nt >> 2], kw1[nt >> 2], 8 * (nt & 3) + 2 * qd)
                             : dropout_rows(drop, (uint32_t)e0 + col, (uint32_t)e1 + col, qd, aligned);
      s[nt][0] = r0 < L ? p0 * dm.x : 0.f;
      s[nt][1] = r0 < L ? p1 * dm.y : 0.f;
      s[nt][2] = r1 < L ? p2 * dm.z : 0.f;
      s[nt][3] = r1 < L ? p3 * dm.w : 0.f;
    }
#pragma unroll
    for (int ks = 0; ks < BK / 16; ks++) {
      uint32_t pa[4];
      c_to_a(pa, s, ks);
      mma_ab(o, pa, Vs, KS, 16 * ks, lane);
    }
  }
  l0 = quad_sum(l0);
  l1 = quad_sum(l1);
  store_rows<DH>(out, o, 1.f / l0, 1.f / l1, t.b, r0, L, t.h, H * DH, qd);
  if (qd == 0) {
    if (r0 < L) lse[(size_t)t.bh * L + r0] = m0 * LN2 + logf(l0);
    if (r1 < L) lse[(size_t)t.bh * L + r1] = m1 * LN2 + logf(l1);
  }
}

// ---- dk, dv ----
template <int DH>
__device__ __forceinline__ void attn_dkdv_mma(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                              const bf16* __restrict__ v, const bf16* __restrict__ dOut,
                                              const float* __restrict__ lse, const float* __restrict__ delta,
                                              bf16* __restrict__ dk, bf16* __restrict__ dv,
                                              const int* __restrict__ ids, int H, int L, int stride, int padId,
                                              float scale, const DropoutSite& drop,
                                              const uint32_t* __restrict__ keep) {
  constexpr int BK = MMA_ROWS, BQ = 32, KS = DH + 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* Ks = reinterpret_cast<bf16*>(smem_raw);  // [BK][KS]
  bf16* Vs = Ks + BK * KS;                        // [BK][KS]
  bf16* const qTiles = Vs + BK * KS;              // two stages of Q [BQ][KS], dO [BQ][KS]
  __shared__ bool keyPad[BK];
  __shared__ float lses[2][BQ], deltas[2][BQ];
  __shared__ uint32_t keepS[2][BQ][BK / 32];  // the mask words of the query tile over this block's keys
  const Tiles t = tiles<MMA_ROWS>(L, H, false);
  const int j0 = t.t0;
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, g = lane >> 2, qd = lane & 3;
  const size_t bhL = (size_t)t.bh * L;
  const int W = (L + 31) >> 5;  // mask words per query row
  // Stage `buf` ← query tile i0 (Q, dO through cp.async; lse, delta and the mask words).
  auto stage = [&](int buf, int i0) {
    load_rows_async<BQ, DH>(qTiles + 2 * buf * BQ * KS, q, t.b, i0, L, t.h, stride, KS);
    load_rows_async<BQ, DH>(qTiles + (2 * buf + 1) * BQ * KS, dOut, t.b, i0, L, t.h, H * DH, KS);
    cp_async_commit();
    if (threadIdx.x < BQ) {
      const int i = i0 + threadIdx.x;
      lses[buf][threadIdx.x] = i < L ? lse[bhL + i] * LOG2E : 0.f;  // base 2, as the scores
      deltas[buf][threadIdx.x] = i < L ? delta[bhL + i] : 0.f;
    }
    if (keep && threadIdx.x < BQ * (BK / 32)) {
      const int r = threadIdx.x / (BK / 32), h = threadIdx.x % (BK / 32);
      const int i = i0 + r, wi = (j0 >> 5) + h;
      keepS[buf][r][h] = i < L && wi < W ? __ldg(keep + (bhL + i) * W + wi) : 0u;
    }
  };
  load_rows_async<BK, DH>(Ks, k, t.b, j0, L, t.h, stride, KS);
  load_rows_async<BK, DH>(Vs, v, t.b, j0, L, t.h, stride, KS);
  stage(0, j0);  // one group with K and V
  bool real = false;  // a key of this tile that is not padding (else only the diagonal contributes)
  if (threadIdx.x < BK) {
    const int j = j0 + threadIdx.x;
    keyPad[threadIdx.x] = j >= L || ids[t.b * L + j] == padId;
    real = !keyPad[threadIdx.x];
  }
  const int iEnd = __syncthreads_or(real) ? L : min(j0 + BK, L);

  float dK[DH / 8][4], dV[DH / 8][4];
  zero(dK);
  zero(dV);
  const int wj = j0 + 16 * w;  // this warp's first key
  const float scale2 = scale * LOG2E;
  const bool aligned = (L & 3) == 0;  // the dropout draws' groups line up with the fragments
  for (int i0 = j0, buf = 0; i0 < iEnd; i0 += BQ, buf ^= 1) {
    pipeline_step(i0 + BQ < iEnd, [&] { stage(buf ^ 1, i0 + BQ); });
    if (wj >= L || i0 + BQ - 1 < wj) continue;  // no keys, or every query precedes every key
    const bf16* Qs = qTiles + 2 * buf * BQ * KS;
    const bf16* Gs = Qs + BQ * KS;
    const float* lseS = lses[buf];
    const float* deltaS = deltas[buf];

    float st[BQ / 8][4], dp[BQ / 8][4];  // Sᵀ and dPᵀ: [key][query]
    zero(st);
    zero(dp);
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) {
      uint32_t ka[4], va[4];
      load_a(ka, Ks, KS, 16 * w, 16 * kk, lane);
      load_a(va, Vs, KS, 16 * w, 16 * kk, lane);
      mma_abt(st, ka, Qs, KS, 16 * kk, lane);
      mma_abt(dp, va, Gs, KS, 16 * kk, lane);
    }
#pragma unroll
    for (int nt = 0; nt < BQ / 8; nt++) {
      const int iq = i0 + 8 * nt + 2 * qd;  // this lane's first query of the n-tile
      float4 dm4;
      if (keep) {  // keys 16w + g (+ 8) are bits 16 (w & 1) + g (+ 8) of word w / 2
        const int il = 8 * nt + 2 * qd, sh = 16 * (w & 1) + g;
        const uint32_t a = keepS[buf][il][w >> 1] >> sh, b = keepS[buf][il + 1][w >> 1] >> sh;
        const float sc = drop.enabled ? drop.scale : 1.f, off = drop.enabled ? 0.f : 1.f;
        dm4 = make_float4(a & 1u ? sc : off, b & 1u ? sc : off, a & 256u ? sc : off, b & 256u ? sc : off);
      } else {
        dm4 = dropout_cols(drop, (bhL + iq) * L, L, j0 + 16 * w + (g & ~3), g & 3, aligned);
      }
      const float dm[4] = {dm4.x, dm4.y, dm4.z, dm4.w};
#pragma unroll
      for (int c = 0; c < 4; c++) {
        const int jl = 16 * w + g + (c < 2 ? 0 : 8);
        const int il = 8 * nt + 2 * qd + (c & 1);
        const int i = i0 + il, j = j0 + jl;
        float pm = 0.f, ds = 0.f;
        if (attends(i, j, L, keyPad[jl])) {
          const float p = exp2_fast(st[nt][c] * scale2 - lseS[il]);
          const float mul = dm[c];
          pm = p * mul;
          ds = p * (mul * dp[nt][c] - deltaS[il]);
        }
        st[nt][c] = pm;
        dp[nt][c] = ds;
      }
    }
#pragma unroll
    for (int ks = 0; ks < BQ / 16; ks++) {
      uint32_t pa[4], da[4];
      c_to_a(pa, st, ks);
      c_to_a(da, dp, ks);
      mma_ab(dV, pa, Gs, KS, 16 * ks, lane);
      mma_ab(dK, da, Qs, KS, 16 * ks, lane);
    }
  }
  store_rows<DH>(dk, dK, scale, scale, t.b, wj + g, L, t.h, stride, qd);
  store_rows<DH>(dv, dV, 1.f, 1.f, t.b, wj + g, L, t.h, stride, qd);
}

// ---- dq ----
template <int DH>
__device__ __forceinline__ void attn_dq_mma(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                            const bf16* __restrict__ v, const bf16* __restrict__ dOut,
                                            const float* __restrict__ lse, const float* __restrict__ delta,
                                            bf16* __restrict__ dq, const int* __restrict__ ids, int H, int L,
                                            int stride, int padId, float scale, const DropoutSite& drop,
                                            const uint32_t* __restrict__ keep) {
  constexpr int BK = 32, KS = DH + 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* const kv = reinterpret_cast<bf16*>(smem_raw);  // two stages of K [BK][KS], V [BK][KS]
  __shared__ bool keyPads[2][BK];
  const Tiles t = tiles<MMA_ROWS>(L, H, true);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, g = lane >> 2, qd = lane & 3;
  const int r0 = t.t0 + 16 * w + g, r1 = r0 + 8;
  const int wLast = warp_last(t.t0 + 16 * w, L);
  auto stage = [&](int buf, int j0) { stage_keys<BK, DH>(kv, keyPads, buf, j0, k, v, ids, t, L, stride, padId); };
  const int jFirst = first_key_tile<BK>(ids, t.b, L, padId, t.t0);  // key tiles of padding before it skipped
  stage(0, jFirst);
  uint32_t qf[DH / 16][4], gf[DH / 16][4];
  load_a_global<DH>(qf, q, t.b, r0, L, t.h, stride, qd);
  load_a_global<DH>(gf, dOut, t.b, r0, L, t.h, H * DH, qd);
  const size_t bhL = (size_t)t.bh * L;
  // lse and the scores in base 2
  const float lse0 = r0 < L ? lse[bhL + r0] * LOG2E : 0.f, lse1 = r1 < L ? lse[bhL + r1] * LOG2E : 0.f;
  const float scale2 = scale * LOG2E;
  const float del0 = r0 < L ? delta[bhL + r0] : 0.f, del1 = r1 < L ? delta[bhL + r1] : 0.f;
  const size_t e0 = (bhL + r0) * L, e1 = e0 + (size_t)8 * L;
  const bool aligned = (L & 3) == 0;  // the dropout draws' groups line up with the fragments
  const int W = (L + 31) >> 5;        // mask words per query row

  float acc[DH / 8][4];
  zero(acc);
  const int iLast = min(t.t0 + MMA_ROWS, L) - 1;
  for (int j0 = jFirst, buf = 0; j0 <= iLast; j0 += BK, buf ^= 1) {
    pipeline_step(j0 + BK <= iLast, [&] { stage(buf ^ 1, j0 + BK); });
    if (j0 > wLast) continue;
    const bf16* Ks = kv + 2 * buf * BK * KS;
    const bf16* Vs = Ks + BK * KS;
    const bool* keyPad = keyPads[buf];
    uint32_t kw0[1], kw1[1];  // this tile's mask words of rows r0, r1
    if (keep) {
      keep_words<1>(kw0, keep, bhL, r0, L, W, j0);
      keep_words<1>(kw1, keep, bhL, r1, L, W, j0);
    }

    float s[BK / 8][4], dp[BK / 8][4];
    zero(s);
    zero(dp);
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) {
      mma_abt(s, qf[kk], Ks, KS, 16 * kk, lane);
      mma_abt(dp, gf[kk], Vs, KS, 16 * kk, lane);
    }
#pragma unroll
    for (int nt = 0; nt < BK / 8; nt++) {
      const int jj = 8 * nt + 2 * qd;
      const uint32_t col = (uint32_t)(j0 + jj);
      const float4 dm = keep ? keep_rows(drop, kw0[0], kw1[0], jj)
                             : dropout_rows(drop, (uint32_t)e0 + col, (uint32_t)e1 + col, qd, aligned);
      const float mul[4] = {r0 < L ? dm.x : 0.f, r0 < L ? dm.y : 0.f, r1 < L ? dm.z : 0.f, r1 < L ? dm.w : 0.f};
#pragma unroll
      for (int c = 0; c < 4; c++) {
        const int row = c < 2 ? r0 : r1;
        const int j = j0 + jj + (c & 1);
        float ds = 0.f;
        if (attends(row, j, L, keyPad[jj + (c & 1)])) {
          const float p = exp2_fast(s[nt][c] * scale2 - (c < 2 ? lse0 : lse1));
          ds = p * (mul[c] * dp[nt][c] - (c < 2 ? del0 : del1));
        }
        s[nt][c] = ds;
      }
    }
#pragma unroll
    for (int ks = 0; ks < BK / 16; ks++) {
      uint32_t da[4];
      c_to_a(da, s, ks);
      mma_ab(acc, da, Ks, KS, 16 * ks, lane);
    }
  }
  store_rows<DH>(dq, acc, scale, scale, t.b, r0, L, t.h, stride, qd);
}

}  // namespace

// The CUDA-core kernels' parameters (dh is DH here), then the keep mask (null: draw the dropout).
#define ATTN_MMA_KERNELS(DH)                                                                                      \
  extern "C" __global__ void __launch_bounds__(MMA_WARPS * 32)                                                  \
      attention_forward_mma##DH##_bf16(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse,       \
                                       const int* ids, int H, int L, int dh, int stride, int padId, float scale, \
                                       const DropoutSite drop, const uint32_t* keep) {                           \
    attn_forward_mma<DH>(q, k, v, out, lse, ids, H, L, stride, padId, scale, drop, keep);                        \
  }                                                                                                              \
  extern "C" __global__ void __launch_bounds__(MMA_WARPS * 32)                                                  \
      attention_dkdv_mma##DH##_bf16(const bf16* q, const bf16* k, const bf16* v, const bf16* dOut,              \
                                    const float* lse, const float* delta, bf16* dk, bf16* dv, const int* ids,    \
                                    int H, int L, int dh, int stride, int padId, float scale,                    \
                                    const DropoutSite drop, const uint32_t* keep) {                              \
    attn_dkdv_mma<DH>(q, k, v, dOut, lse, delta, dk, dv, ids, H, L, stride, padId, scale, drop, keep);           \
  }                                                                                                              \
  extern "C" __global__ void __launch_bounds__(MMA_WARPS * 32)                                                  \
      attention_dq_mma##DH##_bf16(const bf16* q, const bf16* k, const bf16* v, const bf16* dOut,                \
                                  const float* lse, const float* delta, bf16* dq, const int* ids, int H, int L,  \
                                  int dh, int stride, int padId, float scale, const DropoutSite drop,           \
                                  const uint32_t* keep) {                                                        \
    attn_dq_mma<DH>(q, k, v, dOut, lse, delta, dq, ids, H, L, stride, padId, scale, drop, keep);                 \
  }

ATTN_MMA_KERNELS(16)
ATTN_MMA_KERNELS(32)
ATTN_MMA_KERNELS(48)
ATTN_MMA_KERNELS(64)
ATTN_MMA_KERNELS(80)
ATTN_MMA_KERNELS(96)
ATTN_MMA_KERNELS(112)
ATTN_MMA_KERNELS(128)
