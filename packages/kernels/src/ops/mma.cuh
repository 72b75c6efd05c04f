// bf16 tensor-core pieces shared by the attention kernels (attention/attention_mma.cuh) and the
// CCE- tile kernels (cuda/cce_tile_mma.cuh): the warp-level
// mma.sync.m16n8k16 (bf16 inputs, fp32 accumulation, sm_80+) and the fragment layout it implies,
// from the PTX ISA ("Matrix fragments for mma.m16n8k16 with floating point type"). For lane l,
// g = l / 4 (the group) and q = l % 4 (the thread in the group):
//   A (16 × 16, row-major): reg 0 = A[g][2q, 2q+1], reg 1 = A[g+8][2q, 2q+1],
//                           reg 2 = A[g][2q+8, 2q+9], reg 3 = A[g+8][2q+8, 2q+9]
//   B (16 × 8, "col"):      reg 0 = B[2q, 2q+1][g],  reg 1 = B[2q+8, 2q+9][g]
//   C (16 × 8, fp32):       c0, c1 = C[g][2q, 2q+1], c2, c3 = C[g+8][2q, 2q+1]
// (a register holds two bf16, the lower index in its low half). Fragments come from shared memory
// through ldmatrix (.trans for an operand stored the other way round). So the C fragments of two
// adjacent n-tiles are, packed to bf16, exactly the A fragment of the next product's k-step:
// softmax probabilities go from one product to the next without leaving registers.
#pragma once
#include <cuda_bf16.h>
#include <stdint.h>

// c += a · b for one 16 × 8 × 16 tile.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  __trap();  // the launcher uses these kernels on sm_80+ only
#endif
}

// Two floats as one register of bf16 (lo in the low half).
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

// The shared-memory address of element `at` of a bf16 tile (for ldmatrix).
__device__ __forceinline__ uint32_t smem_addr(const __nv_bfloat16* s, int at) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(s + at));
}

// ldmatrix .x4: lanes 8m … 8m+7 give the row addresses (16 bytes each) of 8 × 8 matrix m; r[m] is
// that matrix's fragment (TRANS: of its transpose).
template <bool TRANS>
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  if constexpr (TRANS) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
  } else {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
  }
}

// A fragment of rows r0 … r0+15, columns c0 … c0+15 of a row-major bf16 tile (row stride ld, a
// multiple of 8): matrices (r0, c0), (r0+8, c0), (r0, c0+8), (r0+8, c0+8).
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const __nv_bfloat16* s, int ld, int r0, int c0, int lane) {
  const int m = lane >> 3;
  ldmatrix_x4<false>(a, smem_addr(s, (r0 + ((m & 1) << 3) + (lane & 7)) * ld + c0 + ((m >> 1) << 3)));
}

// The A fragment of rows m0 … m0+15, columns k0 … k0+15 of A = Sᵀ for a row-major tile S [k][m]
// (ldmatrix .trans: lanes 8m … 8m+7 point at rows k0 + 8·(m / 2) … of S, from column m0 + 8·(m % 2)).
__device__ __forceinline__ void load_at(uint32_t (&a)[4], const __nv_bfloat16* s, int ld, int m0, int k0, int lane) {
  const int m = lane >> 3;
  ldmatrix_x4<true>(a, smem_addr(s, (k0 + ((m >> 1) << 3) + (lane & 7)) * ld + m0 + ((m & 1) << 3)));
}

// B fragments of two n-tiles (n0 … n0+7 and n0+8 … n0+15; k rows k0 … k0+15) of B = Sᵀ for a
// row-major tile S [n][k] (the pairs along k contiguous in S's rows): b = {b0, b1} of n-tile n0,
// then of n0+8.
__device__ __forceinline__ void load_bt2(uint32_t (&b)[4], const __nv_bfloat16* s, int ld, int n0, int k0, int lane) {
  const int m = lane >> 3;
  ldmatrix_x4<false>(b, smem_addr(s, (n0 + ((m >> 1) << 3) + (lane & 7)) * ld + k0 + ((m & 1) << 3)));
}

// The same B fragments of B = S for a row-major tile S [k][n] (the pairs along k in S's columns:
// ldmatrix .trans).
__device__ __forceinline__ void load_b2(uint32_t (&b)[4], const __nv_bfloat16* s, int ld, int n0, int k0, int lane) {
  const int m = lane >> 3;
  ldmatrix_x4<true>(b, smem_addr(s, (k0 + ((m & 1) << 3) + (lane & 7)) * ld + n0 + ((m >> 1) << 3)));
}

// c[NT] += a · Sᵀ for columns k0 … k0+15 of rows 0 … 8·NT − 1 of a row-major tile S (NT even).
template <int NT>
__device__ __forceinline__ void mma_abt(float (&c)[NT][4], const uint32_t (&a)[4], const __nv_bfloat16* s, int ld,
                                        int k0, int lane) {
#pragma unroll
  for (int nt = 0; nt < NT; nt += 2) {
    uint32_t b[4];
    load_bt2(b, s, ld, 8 * nt, k0, lane);
    mma_bf16(c[nt], a, b[0], b[1]);
    mma_bf16(c[nt + 1], a, b[2], b[3]);
  }
}

// c[NT] += a · S for rows k0 … k0+15 of a row-major tile S, its columns 0 … 8·NT − 1 (NT even).
template <int NT>
__device__ __forceinline__ void mma_ab(float (&c)[NT][4], const uint32_t (&a)[4], const __nv_bfloat16* s, int ld,
                                       int k0, int lane) {
#pragma unroll
  for (int nt = 0; nt < NT; nt += 2) {
    uint32_t b[4];
    load_b2(b, s, ld, 8 * nt, k0, lane);
    mma_bf16(c[nt], a, b[0], b[1]);
    mma_bf16(c[nt + 1], a, b[2], b[3]);
  }
}

// The A fragment of k-step ks (columns 16·ks … 16·ks+15) from the C fragments c[2ks], c[2ks+1].
template <int N>
__device__ __forceinline__ void c_to_a(uint32_t (&a)[4], const float (&c)[N][4], int ks) {
  a[0] = pack_bf16(c[2 * ks][0], c[2 * ks][1]);
  a[1] = pack_bf16(c[2 * ks][2], c[2 * ks][3]);
  a[2] = pack_bf16(c[2 * ks + 1][0], c[2 * ks + 1][1]);
  a[3] = pack_bf16(c[2 * ks + 1][2], c[2 * ks + 1][3]);
}

// cp.async (sm_80+): 16 bytes from global to shared memory without passing through registers;
// valid = false writes 16 zero bytes (src is then not read). Grouped by commit, awaited by wait.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Rows t0 … t0 + T − 1 of sequence b, head h (columns h·DH …) of X [R, stride] (bf16, 16-byte aligned
// rows and heads: the launcher checks) into a row-major [T][ld] tile through cp.async; rows past L
// are zero. Not waited for: commit, then wait and __syncthreads before reading.
template <int T, int DH>
__device__ __forceinline__ void load_rows_async(__nv_bfloat16* tile, const __nv_bfloat16* __restrict__ X, int b,
                                                int t0, int L, int h, int stride, int ld) {
  constexpr int V = DH / 8;
  for (int idx = threadIdx.x; idx < T * V; idx += blockDim.x) {
    const int t = idx / V;
    const int c = (idx - t * V) * 8;
    const bool ok = t0 + t < L;
    cp_async16(tile + t * ld + c, ok ? X + (size_t)(b * L + t0 + t) * stride + (size_t)h * DH + c : X, ok);
  }
}

// Word `at` (an even element offset, 4-byte aligned) of a bf16 array in global memory.
__device__ __forceinline__ uint32_t ldg_word(const __nv_bfloat16* __restrict__ p, size_t at) {
  return *reinterpret_cast<const uint32_t*>(p + at);
}

// Reductions over the four lanes of a group (the lanes that share a fragment row).
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
