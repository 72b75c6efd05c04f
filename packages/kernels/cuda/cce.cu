// cutrec's CCE- loss kernels for CUDA (DESIGN.md, "The loss contract"), built into one fatbin by
// build.mjs. Exported kernel names (extern "C"), looked up by src/cuda/plan.ts:
//   cce_row_{fwd,bwd}_{f32,f16,bf16}_v{1,max}_c{1,2,4[,8 for v1]} gather kernel, one warp per row
//   cce_tile_{fwd,bwd}_{f32,f32x3,f16,bf16}                tensor-core tile kernel (block/batch/all), WMMA
//   cce_tile_fwd_bf16_mma, cce_tile_bwd_bf16_mma{64,128,256} the same tiles in bf16 through mma.sync
#include "cce_row.cuh"
#include "cce_tile.cuh"
#include "cce_tile_mma.cuh"

#define CCE_ROW(NAME, T, VEC, NCH)                                                                      \
  extern "C" __global__ void __launch_bounds__(256) cce_row_fwd_##NAME##_v##VEC##_c##NCH(const CceArgs a) { \
    cce_row_kernel<T, VEC, NCH, false>(a);                                                              \
  }                                                                                                     \
  extern "C" __global__ void __launch_bounds__(256) cce_row_bwd_##NAME##_v##VEC##_c##NCH(const CceArgs a) { \
    cce_row_kernel<T, VEC, NCH, true>(a);                                                               \
  }
#define CCE_ROW_ALL(NAME, T, VMAX) \
  CCE_ROW(NAME, T, 1, 1)           \
  CCE_ROW(NAME, T, 1, 2)           \
  CCE_ROW(NAME, T, 1, 4)           \
  CCE_ROW(NAME, T, 1, 8)           \
  CCE_ROW(NAME, T, VMAX, 1)        \
  CCE_ROW(NAME, T, VMAX, 2)        \
  CCE_ROW(NAME, T, VMAX, 4)

CCE_ROW_ALL(f32, float, 4)
CCE_ROW_ALL(f16, __half, 8)
CCE_ROW_ALL(bf16, __nv_bfloat16, 8)

#define CCE_TILE(NAME, T, X3)                                                                            \
  extern "C" __global__ void __launch_bounds__(cce::THREADS) cce_tile_fwd_##NAME(const CceArgs a) {     \
    cce::tile_body<T, false, X3>(a);                                                                     \
  }                                                                                                      \
  extern "C" __global__ void __launch_bounds__(cce::THREADS) cce_tile_bwd_##NAME(const CceArgs a) {     \
    cce::tile_body<T, true, X3>(a);                                                                      \
  }
CCE_TILE(f32, float, false)
CCE_TILE(f32x3, float, true)
CCE_TILE(f16, __half, false)
CCE_TILE(bf16, __nv_bfloat16, false)

extern "C" __global__ void __launch_bounds__(cce::THREADS) cce_tile_fwd_bf16_mma(const CceArgs a) {
  cce::tile_mma_body<64, false>(a);  // DMAX only sizes the backward's dH registers
}
#define CCE_TILE_MMA_BWD(DMAX)                                                                            \
  extern "C" __global__ void __launch_bounds__(cce::THREADS) cce_tile_bwd_bf16_mma##DMAX(const CceArgs a) { \
    cce::tile_mma_body<DMAX, true>(a);                                                                    \
  }
CCE_TILE_MMA_BWD(64)
CCE_TILE_MMA_BWD(128)
CCE_TILE_MMA_BWD(256)
