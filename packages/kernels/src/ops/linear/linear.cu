// Linear layer kernels (row-major): our own GEMMs, used where cuBLASLt is unavailable or has no
// algorithm, plus the bias add (after a cuBLASLt GEMM without epilogue) and the bias gradient.
//
//   C[M, N] = (accumulate ? C : 0) + op(A)·op(B) + bias[N]
//   op(A) = A [M, K] or Aᵀ with A [K, M] (transA); op(B) = B [K, N] or Bᵀ with B [N, K] (transB)
//
// - linear_gemm_f32_{f32,bf16}: float32 inputs, fp32 SIMT. A CTA of 256 threads owns a 64×64 tile
//   of C (blockIdx.x = tile row, blockIdx.y = tile column), walks K 16 at a time through two
//   shared-memory buffers (the next K-tile is fetched into registers while the current one is
//   multiplied), each thread accumulates 4×4 outputs strided by 16 (conflict-free reads).
// - linear_gemm_bf16_{f32,bf16}: bfloat16 inputs on tensor cores (WMMA 16×16×16, f32 accumulate,
//   sm_80+). A CTA of 4 warps owns a 64×64 tile, each warp 32×32 (2×2 fragments), K 32 at a time,
//   double buffered the same way; the epilogue goes through shared memory for coalesced stores.
// Every load and store is bounds-checked (zero fill), so M, N, K are arbitrary.
#include <mma.h>

#include "common.cuh"

using namespace nvcuda;

namespace linear {

// ---- fp32 SIMT ----
constexpr int BM = 64, BN = 64, BK = 16, PAD = 4, THREADS = 256;
constexpr int A_PER = BM * BK / THREADS;  // 4
constexpr int B_PER = BK * BN / THREADS;  // 4

template <typename TC>
__device__ __forceinline__ void gemm_simt(const float* __restrict__ A, const float* __restrict__ B,
                                          TC* __restrict__ C, const float* __restrict__ bias, int M, int N,
                                          int K, int transA, int transB, int accumulate) {
  __shared__ float As[2][BK][BM + PAD];
  __shared__ float Bs[2][BK][BN + PAD];
  const int tid = threadIdx.x;
  const int tx = tid & 15, ty = tid >> 4;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  float ra[A_PER], rb[B_PER];
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;

  // Fetch K-tile k0 into registers; the contiguous dimension of each operand is the fastest one.
  auto fetch = [&](int k0) {
#pragma unroll
    for (int i = 0; i < A_PER; ++i) {
      const int e = tid + i * THREADS;
      int mm, kk;
      if (transA) mm = e % BM, kk = e / BM;
      else kk = e % BK, mm = e / BK;
      const int m = m0 + mm, k = k0 + kk;
      float v = 0.f;
      if (m < M && k < K) v = transA ? A[(size_t)k * M + m] : A[(size_t)m * K + k];
      ra[i] = v;
    }
#pragma unroll
    for (int i = 0; i < B_PER; ++i) {
      const int e = tid + i * THREADS;
      int nn, kk;
      if (transB) kk = e % BK, nn = e / BK;
      else nn = e % BN, kk = e / BN;
      const int n = n0 + nn, k = k0 + kk;
      float v = 0.f;
      if (n < N && k < K) v = transB ? B[(size_t)n * K + k] : B[(size_t)k * N + n];
      rb[i] = v;
    }
  };
  auto stash = [&](int buf) {
#pragma unroll
    for (int i = 0; i < A_PER; ++i) {
      const int e = tid + i * THREADS;
      int mm, kk;
      if (transA) mm = e % BM, kk = e / BM;
      else kk = e % BK, mm = e / BK;
      As[buf][kk][mm] = ra[i];
    }
#pragma unroll
    for (int i = 0; i < B_PER; ++i) {
      const int e = tid + i * THREADS;
      int nn, kk;
      if (transB) kk = e % BK, nn = e / BK;
      else nn = e % BN, kk = e / BN;
      Bs[buf][kk][nn] = rb[i];
    }
  };

  const int tiles = (K + BK - 1) / BK;
  if (tiles > 0) {
    fetch(0);
    stash(0);
  }
  __syncthreads();
  for (int t = 0; t < tiles; ++t) {
    const int buf = t & 1;
    if (t + 1 < tiles) fetch((t + 1) * BK);
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[buf][kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Bs[buf][kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    // The other buffer was last read in iteration t - 1, which the barrier below closed.
    if (t + 1 < tiles) stash(buf ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + ty + 16 * i;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int n = n0 + tx + 16 * j;
      if (n >= N) continue;
      const size_t idx = (size_t)m * N + n;
      float v = acc[i][j];
      if (accumulate) v = to_f(C[idx]) + v;
      if (bias) v += bias[n];
      C[idx] = from_f<TC>(v);
    }
  }
}

// ---- bf16 tensor cores (WMMA) ----
constexpr int WBM = 64, WBN = 64, WBK = 32, WAPAD = 8, WBPAD = 8, WCPAD = 4, WTHREADS = 128;
constexpr int WA_PER = WBM * WBK / WTHREADS;  // 16
constexpr int WB_PER = WBK * WBN / WTHREADS;  // 16

template <typename TC>
__device__ __forceinline__ void gemm_wmma(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ B,
                                          TC* __restrict__ C, const float* __restrict__ bias, int M, int N,
                                          int K, int transA, int transB, int accumulate) {
  // Row strides 40 and 72 bf16 (80 and 144 bytes) keep every fragment pointer 32-byte aligned.
  __shared__ __align__(128) __nv_bfloat16 As[2][WBM][WBK + WAPAD];
  __shared__ __align__(128) __nv_bfloat16 Bs[2][WBK][WBN + WBPAD];
  __shared__ __align__(128) float Cs[WBM][WBN + WCPAD];
  const int tid = threadIdx.x;
  const int warp = tid >> 5;
  const int wm = warp >> 1, wn = warp & 1;
  const int m0 = blockIdx.x * WBM, n0 = blockIdx.y * WBN;
  const __nv_bfloat16 zero = __ushort_as_bfloat16((unsigned short)0);
  __nv_bfloat16 ra[WA_PER], rb[WB_PER];

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);

  auto fetch = [&](int k0) {
#pragma unroll
    for (int i = 0; i < WA_PER; ++i) {
      const int e = tid + i * WTHREADS;
      int mm, kk;
      if (transA) mm = e % WBM, kk = e / WBM;
      else kk = e % WBK, mm = e / WBK;
      const int m = m0 + mm, k = k0 + kk;
      __nv_bfloat16 v = zero;
      if (m < M && k < K) v = transA ? A[(size_t)k * M + m] : A[(size_t)m * K + k];
      ra[i] = v;
    }
#pragma unroll
    for (int i = 0; i < WB_PER; ++i) {
      const int e = tid + i * WTHREADS;
      int nn, kk;
      if (transB) kk = e % WBK, nn = e / WBK;
      else nn = e % WBN, kk = e / WBN;
      const int n = n0 + nn, k = k0 + kk;
      __nv_bfloat16 v = zero;
      if (n < N && k < K) v = transB ? B[(size_t)n * K + k] : B[(size_t)k * N + n];
      rb[i] = v;
    }
  };
  auto stash = [&](int buf) {
#pragma unroll
    for (int i = 0; i < WA_PER; ++i) {
      const int e = tid + i * WTHREADS;
      int mm, kk;
      if (transA) mm = e % WBM, kk = e / WBM;
      else kk = e % WBK, mm = e / WBK;
      As[buf][mm][kk] = ra[i];
    }
#pragma unroll
    for (int i = 0; i < WB_PER; ++i) {
      const int e = tid + i * WTHREADS;
      int nn, kk;
      if (transB) kk = e % WBK, nn = e / WBK;
      else nn = e % WBN, kk = e / WBN;
      Bs[buf][kk][nn] = rb[i];
    }
  };

  const int tiles = (K + WBK - 1) / WBK;
  if (tiles > 0) {
    fetch(0);
    stash(0);
  }
  __syncthreads();
  for (int t = 0; t < tiles; ++t) {
    const int buf = t & 1;
    if (t + 1 < tiles) fetch((t + 1) * WBK);
#pragma unroll
    for (int kk = 0; kk < WBK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> fb[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], &As[buf][wm * 32 + i * 16][kk], WBK + WAPAD);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], &Bs[buf][kk][wn * 32 + j * 16], WBN + WBPAD);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    if (t + 1 < tiles) stash(buf ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(&Cs[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], WBN + WCPAD, wmma::mem_row_major);
  __syncthreads();
#pragma unroll 4
  for (int e = tid; e < WBM * WBN; e += WTHREADS) {
    const int r = e / WBN, cc = e % WBN;
    const int m = m0 + r, n = n0 + cc;
    if (m >= M || n >= N) continue;
    const size_t idx = (size_t)m * N + n;
    float v = Cs[r][cc];
    if (accumulate) v = to_f(C[idx]) + v;
    if (bias) v += bias[n];
    C[idx] = from_f<TC>(v);
  }
}

// ---- bias add and bias gradient ----
template <typename TC, typename TB>
__device__ __forceinline__ void bias_add(TC* __restrict__ C, const TB* __restrict__ bias, int M, int N) {
  const size_t total = (size_t)M * N;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    C[i] = from_f<TC>(to_f(C[i]) + to_f(bias[i % N]));
  }
}

// Block (32, 8): threadIdx.x picks V adjacent columns of the CTA's 32·V (one 16-byte load each
// when V > 1: N % V == 0 and dy 16-byte aligned, checked by the launcher), threadIdx.y strides over
// rows (blockIdx.y·8 + threadIdx.y, step gridDim.y·8); partial sums meet in shared memory and one
// atomicAdd per column and CTA lands in db.
template <typename T, int V>
__device__ __forceinline__ void bias_grad(const T* __restrict__ dy, float* __restrict__ db, int R, int N) {
  __shared__ float part[8][32 * V + 1];
  const int n0 = (blockIdx.x * 32 + threadIdx.x) * V;
  float s[V];
#pragma unroll
  for (int j = 0; j < V; ++j) s[j] = 0.f;
  if (n0 < N) {
#pragma unroll 4
    for (int r = blockIdx.y * 8 + threadIdx.y; r < R; r += gridDim.y * 8) {
      const T* p = dy + (size_t)r * N + n0;
      if constexpr (V == 1) {
        s[0] += to_f(*p);
      } else {
        const uint4 u = *reinterpret_cast<const uint4*>(p);
        const T* e = reinterpret_cast<const T*>(&u);
#pragma unroll
        for (int j = 0; j < V; ++j) s[j] += to_f(e[j]);
      }
    }
  }
#pragma unroll
  for (int j = 0; j < V; ++j) part[threadIdx.y][threadIdx.x * V + j] = s[j];
  __syncthreads();
  for (int c = threadIdx.y * 32 + threadIdx.x; c < 32 * V; c += 256) {
    const int n = blockIdx.x * 32 * V + c;
    if (n >= N) continue;
    float t = 0.f;
#pragma unroll
    for (int y = 0; y < 8; ++y) t += part[y][c];
    atomicAdd(db + n, t);
  }
}

}  // namespace linear

#define LINEAR_GEMM_ARGS                                                                                    \
  const float* __restrict__ bias, int M, int N, int K, int transA, int transB, int accumulate

extern "C" __global__ void __launch_bounds__(linear::THREADS)
    linear_gemm_f32_f32(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C,
                        LINEAR_GEMM_ARGS) {
  linear::gemm_simt<float>(A, B, C, bias, M, N, K, transA, transB, accumulate);
}
extern "C" __global__ void __launch_bounds__(linear::THREADS)
    linear_gemm_f32_bf16(const float* __restrict__ A, const float* __restrict__ B, __nv_bfloat16* __restrict__ C,
                         LINEAR_GEMM_ARGS) {
  linear::gemm_simt<__nv_bfloat16>(A, B, C, bias, M, N, K, transA, transB, accumulate);
}
extern "C" __global__ void __launch_bounds__(linear::WTHREADS)
    linear_gemm_bf16_f32(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ B,
                         float* __restrict__ C, LINEAR_GEMM_ARGS) {
  linear::gemm_wmma<float>(A, B, C, bias, M, N, K, transA, transB, accumulate);
}
extern "C" __global__ void __launch_bounds__(linear::WTHREADS)
    linear_gemm_bf16_bf16(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ B,
                          __nv_bfloat16* __restrict__ C, LINEAR_GEMM_ARGS) {
  linear::gemm_wmma<__nv_bfloat16>(A, B, C, bias, M, N, K, transA, transB, accumulate);
}

// linear_bias_add_<C>[_bb]: a float32 bias, or (_bb) a bf16 one.
extern "C" __global__ void linear_bias_add_f32(float* __restrict__ C, const float* __restrict__ bias, int M, int N) {
  linear::bias_add<float, float>(C, bias, M, N);
}
extern "C" __global__ void linear_bias_add_bf16(__nv_bfloat16* __restrict__ C, const float* __restrict__ bias, int M,
                                                int N) {
  linear::bias_add<__nv_bfloat16, float>(C, bias, M, N);
}
extern "C" __global__ void linear_bias_add_f32_bb(float* __restrict__ C, const __nv_bfloat16* __restrict__ bias, int M,
                                                  int N) {
  linear::bias_add<float, __nv_bfloat16>(C, bias, M, N);
}
extern "C" __global__ void linear_bias_add_bf16_bb(__nv_bfloat16* __restrict__ C, const __nv_bfloat16* __restrict__ bias,
                                                   int M, int N) {
  linear::bias_add<__nv_bfloat16, __nv_bfloat16>(C, bias, M, N);
}

extern "C" __global__ void __launch_bounds__(256)
    linear_bias_grad_f32(const float* __restrict__ dy, float* __restrict__ db, int R, int N, int vec) {
  if (vec) linear::bias_grad<float, 4>(dy, db, R, N);
  else linear::bias_grad<float, 1>(dy, db, R, N);
}
extern "C" __global__ void __launch_bounds__(256)
    linear_bias_grad_bf16(const __nv_bfloat16* __restrict__ dy, float* __restrict__ db, int R, int N, int vec) {
  if (vec) linear::bias_grad<__nv_bfloat16, 8>(dy, db, R, N);
  else linear::bias_grad<__nv_bfloat16, 1>(dy, db, R, N);
}
