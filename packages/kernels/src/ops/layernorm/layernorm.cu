// Layer norm with an optional dropped-out residual added first and an optional padding row mask,
// and its backward with an incoming skip gradient (src/ops/layernorm/reference.ts is the contract).
//
// A group of G threads normalises one row: G = 32 (one warp, 4 rows per 128-thread block) for
// D ≤ 1024, G = 256 (the whole block) above. W = 4 (D % 4 == 0 and pointers aligned, checked by
// the launcher) moves 4 elements per access; W = 1 handles any D. The common case, W = 4 with a
// warp per row, keeps the row in registers (ln_forward_reg / ln_backward_reg); the others cache
// it in shared memory. Every thread reads and writes only its own elements of a row, so in-place
// use (dx == dSkip, sum == x, …) is safe.
#include "common.cuh"

namespace {

__device__ __forceinline__ void ldv(const float* p, float (&v)[1]) { v[0] = *p; }
__device__ __forceinline__ void ldv(const __nv_bfloat16* p, float (&v)[1]) { v[0] = __bfloat162float(*p); }
__device__ __forceinline__ void ldv(const float* p, float (&v)[4]) {
  const float4 q = *reinterpret_cast<const float4*>(p);
  v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
}
__device__ __forceinline__ void ldv(const __nv_bfloat16* p, float (&v)[4]) {
  uint2 u = *reinterpret_cast<const uint2*>(p);
  const float2 a = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&u.x));
  const float2 b = __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&u.y));
  v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
}
__device__ __forceinline__ void stv(float* p, const float (&v)[1]) { *p = v[0]; }
__device__ __forceinline__ void stv(__nv_bfloat16* p, const float (&v)[1]) { *p = __float2bfloat16_rn(v[0]); }
__device__ __forceinline__ void stv(float* p, const float (&v)[4]) {
  *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
}
__device__ __forceinline__ void stv(__nv_bfloat16* p, const float (&v)[4]) {
  __nv_bfloat162 a = __floats2bfloat162_rn(v[0], v[1]);
  __nv_bfloat162 b = __floats2bfloat162_rn(v[2], v[3]);
  uint2 u;
  u.x = *reinterpret_cast<uint32_t*>(&a);
  u.y = *reinterpret_cast<uint32_t*>(&b);
  *reinterpret_cast<uint2*>(p) = u;
}
// Dropout multipliers of elements e … e+W-1 (e % 4 == 0 when W == 4).
template <int W>
__device__ __forceinline__ void mulv(const DropoutSite& d, uint32_t e, float (&m)[W]) {
  if constexpr (W == 1) {
    m[0] = dropout_mul(d, e);
  } else {
    const float4 q = dropout_mul4(d, e >> 2);
    m[0] = q.x, m[1] = q.y, m[2] = q.z, m[3] = q.w;
  }
}

// Sum over the G threads of a row (G = 32: the warp; G = 256: the block, through red[8]).
template <int G>
__device__ __forceinline__ float group_sum(float v, float* red) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if constexpr (G == 32) {
    return v;
  } else {
    __syncthreads();  // red may still be read by the previous call
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    float t = 0.f;
#pragma unroll
    for (int i = 0; i < G / 32; i++) t += red[i];
    return t;
  }
}

// Dynamic shared memory: (blockDim.x / G) rows × D floats, the row of s of each group.
template <typename T, int W, int G>
__device__ __forceinline__ void ln_forward(const T* x, const T* a, const DropoutSite& drop, T* sum, T* y,
                                           const float* __restrict__ gamma, const float* __restrict__ beta,
                                           float* __restrict__ mean, float* __restrict__ rstd,
                                           const int* __restrict__ ids, int padId, int R, int D, float eps) {
  extern __shared__ __align__(16) float smem[];
  __shared__ float red[8];
  const int rows = blockDim.x / G;
  const int sub = threadIdx.x / G;
  const int lane = threadIdx.x % G;
  const int row = blockIdx.x * rows + sub;
  if (row >= R) return;  // uniform over the group (G = 256: the grid is exactly R blocks)
  float* cache = smem + (size_t)sub * D;
  const size_t base = (size_t)row * D;
  float acc = 0.f;
  for (int d = lane * W; d < D; d += G * W) {
    float v[W];
    ldv(x + base + d, v);
    if (a) {
      float av[W], m[W];
      ldv(a + base + d, av);
      mulv<W>(drop, (uint32_t)(base + d), m);
#pragma unroll
      for (int j = 0; j < W; j++) v[j] += av[j] * m[j];
    }
    if (sum) {  // normalise the stored sum, so that a layer norm recomputed from it is bit-identical
      stv(sum + base + d, v);
#pragma unroll
      for (int j = 0; j < W; j++) v[j] = to_f(from_f<T>(v[j]));
    }
    stv(cache + d, v);
#pragma unroll
    for (int j = 0; j < W; j++) acc += v[j];
  }
  const float mu = group_sum<G>(acc, red) / (float)D;
  float acc2 = 0.f;
  for (int d = lane * W; d < D; d += G * W) {
    float v[W];
    ldv(cache + d, v);
#pragma unroll
    for (int j = 0; j < W; j++) acc2 += (v[j] - mu) * (v[j] - mu);
  }
  const float rs = 1.f / sqrtf(group_sum<G>(acc2, red) / (float)D + eps);
  if (lane == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
  const bool masked = ids != nullptr && ids[row] == padId;
  for (int d = lane * W; d < D; d += G * W) {
    float o[W];
    if (masked) {
#pragma unroll
      for (int j = 0; j < W; j++) o[j] = 0.f;
    } else {
      float v[W], g[W], b[W];
      ldv(cache + d, v);
      ldv(gamma + d, g);
      ldv(beta + d, b);
#pragma unroll
      for (int j = 0; j < W; j++) o[j] = (v[j] - mu) * rs * g[j] + b[j];
    }
    stv(y + base + d, o);
  }
}

// Dynamic shared memory: 2 × D floats, the block's partial dGamma and dBeta.
template <typename T, int W, int G>
__device__ __forceinline__ void ln_backward(const T* dy, const T* s, const float* __restrict__ gamma,
                                            const float* __restrict__ mean, const float* __restrict__ rstd, T* dx,
                                            float* dGamma, float* dBeta, const T* dSkip, T* da,
                                            const DropoutSite& drop, const int* __restrict__ ids, int padId,
                                            int R, int D) {
  extern __shared__ __align__(16) float smem[];
  __shared__ float red[8];
  float* pg = smem;
  float* pb = smem + D;
  for (int i = threadIdx.x; i < 2 * D; i += blockDim.x) smem[i] = 0.f;
  __syncthreads();
  const int rows = blockDim.x / G;
  const int lane = threadIdx.x % G;
  // Rows are visited grid-stride; with G = 256 the whole block is on one row (uniform loop).
  for (int row = blockIdx.x * rows + threadIdx.x / G; row < R; row += gridDim.x * rows) {
    const size_t base = (size_t)row * D;
    const bool masked = ids != nullptr && ids[row] == padId;
    const float mu = mean[row];
    const float rs = rstd[row];
    float s1 = 0.f, s2 = 0.f;
    if (!masked) {
      for (int d = lane * W; d < D; d += G * W) {
        float g[W], sv[W], gm[W];
        ldv(dy + base + d, g);
        ldv(s + base + d, sv);
        ldv(gamma + d, gm);
#pragma unroll
        for (int j = 0; j < W; j++) {
          const float xh = (sv[j] - mu) * rs;
          const float dxh = g[j] * gm[j];
          s1 += dxh;
          s2 += dxh * xh;
          atomicAdd(pg + d + j, g[j] * xh);
          atomicAdd(pb + d + j, g[j]);
        }
      }
    }
    const float m1 = group_sum<G>(s1, red) / (float)D;
    const float m2 = group_sum<G>(s2, red) / (float)D;
    for (int d = lane * W; d < D; d += G * W) {
      float o[W];
      if (masked) {
#pragma unroll
        for (int j = 0; j < W; j++) o[j] = 0.f;
      } else {
        float g[W], sv[W], gm[W];
        ldv(dy + base + d, g);
        ldv(s + base + d, sv);
        ldv(gamma + d, gm);
#pragma unroll
        for (int j = 0; j < W; j++) {
          const float xh = (sv[j] - mu) * rs;
          o[j] = rs * (g[j] * gm[j] - m1 - xh * m2);
        }
      }
      if (dSkip) {
        float k[W];
        ldv(dSkip + base + d, k);
#pragma unroll
        for (int j = 0; j < W; j++) o[j] += k[j];
      }
      if (da) {
        float m[W], av[W];
        mulv<W>(drop, (uint32_t)(base + d), m);
#pragma unroll
        for (int j = 0; j < W; j++) av[j] = o[j] * m[j];
        stv(da + base + d, av);
      }
      stv(dx + base + d, o);
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < D; i += blockDim.x) {
    atomicAdd(dGamma + i, pg[i]);
    atomicAdd(dBeta + i, pb[i]);
  }
}

// ---- register-resident rows: W = 4 and G = 32 (one warp per row), D ≤ 1024 ----
// Lane l owns elements c·128 + 4l … c·128 + 4l + 3 of each chunk c < NC (NC·128 ≥ D): a row is
// read once into registers, never staged in shared memory, and the backward keeps its dGamma /
// dBeta partials in registers across all its rows, so no shared-memory atomics run per element.
template <typename T, int NC>
__device__ __forceinline__ void ln_forward_reg(const T* x, const T* a, const DropoutSite& drop, T* sum, T* y,
                                               const float* __restrict__ gamma, const float* __restrict__ beta,
                                               float* __restrict__ mean, float* __restrict__ rstd,
                                               const int* __restrict__ ids, int padId, int R, int D, float eps) {
  const int lane = threadIdx.x & 31;
  const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (row >= R) return;  // uniform over the warp
  const size_t base = (size_t)row * D;
  float v[NC][4];
  float acc = 0.f;
#pragma unroll
  for (int c = 0; c < NC; c++) {
    const int d = c * 128 + lane * 4;
#pragma unroll
    for (int j = 0; j < 4; j++) v[c][j] = 0.f;
    if (d >= D) continue;
    ldv(x + base + d, v[c]);
    if (a) {
      float av[4], m[4];
      ldv(a + base + d, av);
      mulv<4>(drop, (uint32_t)(base + d), m);
#pragma unroll
      for (int j = 0; j < 4; j++) v[c][j] += av[j] * m[j];
    }
    if (sum) {  // normalise the stored sum (see ln_forward)
      stv(sum + base + d, v[c]);
#pragma unroll
      for (int j = 0; j < 4; j++) v[c][j] = to_f(from_f<T>(v[c][j]));
    }
#pragma unroll
    for (int j = 0; j < 4; j++) acc += v[c][j];
  }
  const float mu = group_sum<32>(acc, nullptr) / (float)D;
  float acc2 = 0.f;
#pragma unroll
  for (int c = 0; c < NC; c++) {
    if (c * 128 + lane * 4 >= D) continue;
#pragma unroll
    for (int j = 0; j < 4; j++) acc2 += (v[c][j] - mu) * (v[c][j] - mu);
  }
  const float rs = 1.f / sqrtf(group_sum<32>(acc2, nullptr) / (float)D + eps);
  if (lane == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
  const bool masked = ids != nullptr && ids[row] == padId;
#pragma unroll
  for (int c = 0; c < NC; c++) {
    const int d = c * 128 + lane * 4;
    if (d >= D) continue;
    float o[4], g[4], b[4];
    ldv(gamma + d, g);
    ldv(beta + d, b);
#pragma unroll
    for (int j = 0; j < 4; j++) o[j] = masked ? 0.f : (v[c][j] - mu) * rs * g[j] + b[j];
    stv(y + base + d, o);
  }
}

// Dynamic shared memory: 2 × D floats, where the block's warps meet once at the end.
template <typename T, int NC>
__device__ __forceinline__ void ln_backward_reg(const T* dy, const T* s, const float* __restrict__ gamma,
                                                const float* __restrict__ mean, const float* __restrict__ rstd,
                                                T* dx, float* dGamma, float* dBeta, const T* dSkip, T* da,
                                                const DropoutSite& drop, const int* __restrict__ ids, int padId,
                                                int R, int D) {
  extern __shared__ __align__(16) float smem[];
  float* pg = smem;
  float* pb = smem + D;
  for (int i = threadIdx.x; i < 2 * D; i += blockDim.x) smem[i] = 0.f;
  __syncthreads();
  const int lane = threadIdx.x & 31;
  const int warps = blockDim.x >> 5;
  float gm[NC][4], accG[NC][4], accB[NC][4];
#pragma unroll
  for (int c = 0; c < NC; c++) {
#pragma unroll
    for (int j = 0; j < 4; j++) gm[c][j] = accG[c][j] = accB[c][j] = 0.f;
    if (c * 128 + lane * 4 < D) ldv(gamma + c * 128 + lane * 4, gm[c]);
  }
  for (int row = blockIdx.x * warps + (threadIdx.x >> 5); row < R; row += gridDim.x * warps) {
    const size_t base = (size_t)row * D;
    const bool masked = ids != nullptr && ids[row] == padId;
    const float mu = mean[row];
    const float rs = rstd[row];
    float g[NC][4], xh[NC][4];
    float s1 = 0.f, s2 = 0.f;
#pragma unroll
    for (int c = 0; c < NC; c++) {
      const int d = c * 128 + lane * 4;
#pragma unroll
      for (int j = 0; j < 4; j++) g[c][j] = xh[c][j] = 0.f;
      if (masked || d >= D) continue;
      float sv[4];
      ldv(dy + base + d, g[c]);
      ldv(s + base + d, sv);
#pragma unroll
      for (int j = 0; j < 4; j++) {
        xh[c][j] = (sv[j] - mu) * rs;
        const float dxh = g[c][j] * gm[c][j];
        s1 += dxh;
        s2 += dxh * xh[c][j];
        accG[c][j] += g[c][j] * xh[c][j];
        accB[c][j] += g[c][j];
      }
    }
    const float m1 = group_sum<32>(s1, nullptr) / (float)D;
    const float m2 = group_sum<32>(s2, nullptr) / (float)D;
#pragma unroll
    for (int c = 0; c < NC; c++) {
      const int d = c * 128 + lane * 4;
      if (d >= D) continue;
      float o[4];
#pragma unroll
      for (int j = 0; j < 4; j++) o[j] = masked ? 0.f : rs * (g[c][j] * gm[c][j] - m1 - xh[c][j] * m2);
      if (dSkip) {
        float k[4];
        ldv(dSkip + base + d, k);
#pragma unroll
        for (int j = 0; j < 4; j++) o[j] += k[j];
      }
      if (da) {
        float m[4], av[4];
        mulv<4>(drop, (uint32_t)(base + d), m);
#pragma unroll
        for (int j = 0; j < 4; j++) av[j] = o[j] * m[j];
        stv(da + base + d, av);
      }
      stv(dx + base + d, o);
    }
  }
#pragma unroll
  for (int c = 0; c < NC; c++) {
    const int d = c * 128 + lane * 4;
    if (d >= D) continue;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      atomicAdd(pg + d + j, accG[c][j]);
      atomicAdd(pb + d + j, accB[c][j]);
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < D; i += blockDim.x) {
    atomicAdd(dGamma + i, pg[i]);
    atomicAdd(dBeta + i, pb[i]);
  }
}

}  // namespace

#define CUTREC_LAYERNORM(SUFFIX, T)                                                                             \
  extern "C" __global__ void __launch_bounds__(256) layernorm_forward_##SUFFIX(                                 \
      const T* x, const T* a, DropoutSite drop, T* sum, T* y, const float* gamma, const float* beta, float* mean, \
      float* rstd, const int* ids, int padId, int R, int D, float eps, int vec, int group) {                     \
    if (group == 32) {                                                                                           \
      if (vec) ln_forward<T, 4, 32>(x, a, drop, sum, y, gamma, beta, mean, rstd, ids, padId, R, D, eps);          \
      else ln_forward<T, 1, 32>(x, a, drop, sum, y, gamma, beta, mean, rstd, ids, padId, R, D, eps);              \
    } else {                                                                                                     \
      if (vec) ln_forward<T, 4, 256>(x, a, drop, sum, y, gamma, beta, mean, rstd, ids, padId, R, D, eps);         \
      else ln_forward<T, 1, 256>(x, a, drop, sum, y, gamma, beta, mean, rstd, ids, padId, R, D, eps);             \
    }                                                                                                            \
  }                                                                                                              \
  extern "C" __global__ void __launch_bounds__(256) layernorm_backward_##SUFFIX(                                \
      const T* dy, const T* s, const float* gamma, const float* mean, const float* rstd, T* dx, float* dGamma,    \
      float* dBeta, const T* dSkip, T* da, DropoutSite drop, const int* ids, int padId, int R, int D, int vec,    \
      int group) {                                                                                               \
    if (group == 32) {                                                                                           \
      if (vec)                                                                                                   \
        ln_backward<T, 4, 32>(dy, s, gamma, mean, rstd, dx, dGamma, dBeta, dSkip, da, drop, ids, padId, R, D);    \
      else                                                                                                       \
        ln_backward<T, 1, 32>(dy, s, gamma, mean, rstd, dx, dGamma, dBeta, dSkip, da, drop, ids, padId, R, D);    \
    } else {                                                                                                     \
      if (vec)                                                                                                   \
        ln_backward<T, 4, 256>(dy, s, gamma, mean, rstd, dx, dGamma, dBeta, dSkip, da, drop, ids, padId, R, D);   \
      else                                                                                                       \
        ln_backward<T, 1, 256>(dy, s, gamma, mean, rstd, dx, dGamma, dBeta, dSkip, da, drop, ids, padId, R, D);   \
    }                                                                                                            \
  }

CUTREC_LAYERNORM(f32, float)
CUTREC_LAYERNORM(bf16, __nv_bfloat16)

// Register-resident rows (W = 4, a warp per row), one kernel per chunk count NC (D ≤ 128·NC), so
// that a small D does not pay the registers of a large one. Same arguments as the kernels above,
// without vec and group.
#define CUTREC_LAYERNORM_REG(SUFFIX, T, NC)                                                                     \
  extern "C" __global__ void __launch_bounds__(128) layernorm_forward_r##NC##_##SUFFIX(                         \
      const T* x, const T* a, DropoutSite drop, T* sum, T* y, const float* gamma, const float* beta, float* mean, \
      float* rstd, const int* ids, int padId, int R, int D, float eps) {                                         \
    ln_forward_reg<T, NC>(x, a, drop, sum, y, gamma, beta, mean, rstd, ids, padId, R, D, eps);                   \
  }                                                                                                              \
  extern "C" __global__ void __launch_bounds__(128) layernorm_backward_r##NC##_##SUFFIX(                        \
      const T* dy, const T* s, const float* gamma, const float* mean, const float* rstd, T* dx, float* dGamma,    \
      float* dBeta, const T* dSkip, T* da, DropoutSite drop, const int* ids, int padId, int R, int D) {          \
    ln_backward_reg<T, NC>(dy, s, gamma, mean, rstd, dx, dGamma, dBeta, dSkip, da, drop, ids, padId, R, D);      \
  }

CUTREC_LAYERNORM_REG(f32, float, 1)
CUTREC_LAYERNORM_REG(f32, float, 2)
CUTREC_LAYERNORM_REG(f32, float, 4)
CUTREC_LAYERNORM_REG(f32, float, 8)
CUTREC_LAYERNORM_REG(bf16, __nv_bfloat16, 1)
CUTREC_LAYERNORM_REG(bf16, __nv_bfloat16, 2)
CUTREC_LAYERNORM_REG(bf16, __nv_bfloat16, 4)
CUTREC_LAYERNORM_REG(bf16, __nv_bfloat16, 8)
