// The part of the cuBLASLt API the cutrec bridge uses, declared here so the addon builds without a
// CUDA toolkit; the functions are resolved with dlsym from libcublasLt.so.* at run time
// (cublaslt_load in cutrec_cuda.cc). Every value below was checked against the public headers of
// CUDA 12.6 (cublasLt.h, cublas_api.h, library_types.h) and agrees with later bindings that list
// CUDA 12.8/13 values; they are ABI and have not changed since cuBLASLt 11.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cuda_driver.h"

extern "C" {
typedef int cublasStatus_t;  // cublas_api.h: 0 is CUBLAS_STATUS_SUCCESS
typedef struct cublasLtContext* cublasLtHandle_t;

// cublasLt.h: the semi-opaque descriptors are plain structs of uint64_t words.
typedef struct {
  uint64_t data[32];
} cublasLtMatmulDescOpaque_t;
typedef cublasLtMatmulDescOpaque_t* cublasLtMatmulDesc_t;
typedef struct {
  uint64_t data[8];
} cublasLtMatrixLayoutOpaque_t;
typedef cublasLtMatrixLayoutOpaque_t* cublasLtMatrixLayout_t;
typedef struct {
  uint64_t data[8];
} cublasLtMatmulPreferenceOpaque_t;
typedef cublasLtMatmulPreferenceOpaque_t* cublasLtMatmulPreference_t;
typedef struct {
  uint64_t data[8];
} cublasLtMatmulAlgo_t;

// cublasLt.h: cublasLtMatmulHeuristicResult_t = { algo (64 B), size_t workspaceSize,
// cublasStatus_t state, float wavesCount, int reserved[4] } -> 96 bytes on LP64.
typedef struct {
  cublasLtMatmulAlgo_t algo;
  size_t workspaceSize;
  cublasStatus_t state;
  float wavesCount;
  int reserved[4];
} cublasLtMatmulHeuristicResult_t;
}
static_assert(sizeof(cublasLtMatmulAlgo_t) == 64, "cublasLtMatmulAlgo_t is 8 uint64_t");
static_assert(sizeof(cublasLtMatmulHeuristicResult_t) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes");

enum : int {
  // library_types.h, cudaDataType_t
  CUDA_R_32F = 0,
  CUDA_R_16F = 2,
  CUDA_R_16BF = 14,
  // cublas_api.h, cublasComputeType_t
  CUBLAS_COMPUTE_32F = 68,
  CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
  // cublas_api.h, cublasOperation_t
  CUBLAS_OP_N = 0,
  CUBLAS_OP_T = 1,
  // cublasLt.h, cublasLtPointerMode_t (= CUBLAS_POINTER_MODE_HOST)
  CUBLASLT_POINTER_MODE_HOST = 0,
  // cublasLt.h, cublasLtMatmulDescAttributes_t
  CUBLASLT_MATMUL_DESC_POINTER_MODE = 2,    // int32_t
  CUBLASLT_MATMUL_DESC_TRANSA = 3,          // int32_t (cublasOperation_t)
  CUBLASLT_MATMUL_DESC_TRANSB = 4,          // int32_t
  CUBLASLT_MATMUL_DESC_EPILOGUE = 7,        // uint32_t (cublasLtEpilogue_t)
  CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,    // const void*
  CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26, // int32_t (cudaDataType)
  // cublasLt.h, cublasLtEpilogue_t
  CUBLASLT_EPILOGUE_DEFAULT = 1,
  CUBLASLT_EPILOGUE_BIAS = 4,
  CUBLASLT_EPILOGUE_BGRADA = 256,  // bias gradient: Σ over k of A, one per row of D (written)
  CUBLASLT_EPILOGUE_BGRADB = 512,  // bias gradient: Σ over k of B, one per column of D (written)
  // cublasLt.h, cublasLtMatrixLayoutAttribute_t
  CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5,           // int32_t
  CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6,  // int64_t, in elements
  // cublasLt.h, cublasLtMatmulPreferenceAttributes_t
  CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,     // uint64_t
  CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,   // uint32_t
  CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
  CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
  CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
};

// name, symbol, signature; resolved as lt.name. All are required except those in the _OPT list.
#define CUTREC_CUBLASLT_FUNCS(X)                                                                          \
  X(cublasLtCreate, "cublasLtCreate", cublasStatus_t (*)(cublasLtHandle_t*))                              \
  X(cublasLtDestroy, "cublasLtDestroy", cublasStatus_t (*)(cublasLtHandle_t))                             \
  X(cublasLtGetVersion, "cublasLtGetVersion", size_t (*)(void))                                           \
  X(cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate", cublasStatus_t (*)(cublasLtMatmulDesc_t*, int, int)) \
  X(cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy", cublasStatus_t (*)(cublasLtMatmulDesc_t))     \
  X(cublasLtMatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute",                                     \
    cublasStatus_t (*)(cublasLtMatmulDesc_t, int, const void*, size_t))                                   \
  X(cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate",                                             \
    cublasStatus_t (*)(cublasLtMatrixLayout_t*, int, uint64_t, uint64_t, int64_t))                        \
  X(cublasLtMatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy", cublasStatus_t (*)(cublasLtMatrixLayout_t)) \
  X(cublasLtMatrixLayoutSetAttribute, "cublasLtMatrixLayoutSetAttribute",                                 \
    cublasStatus_t (*)(cublasLtMatrixLayout_t, int, const void*, size_t))                                 \
  X(cublasLtMatmulPreferenceCreate, "cublasLtMatmulPreferenceCreate",                                     \
    cublasStatus_t (*)(cublasLtMatmulPreference_t*))                                                      \
  X(cublasLtMatmulPreferenceDestroy, "cublasLtMatmulPreferenceDestroy",                                   \
    cublasStatus_t (*)(cublasLtMatmulPreference_t))                                                       \
  X(cublasLtMatmulPreferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute",                         \
    cublasStatus_t (*)(cublasLtMatmulPreference_t, int, const void*, size_t))                             \
  X(cublasLtMatmulAlgoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic",                                     \
    cublasStatus_t (*)(cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t,                    \
                       cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,            \
                       cublasLtMatmulPreference_t, int, cublasLtMatmulHeuristicResult_t*, int*))          \
  X(cublasLtMatmul, "cublasLtMatmul",                                                                     \
    cublasStatus_t (*)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void*, const void*,                  \
                       cublasLtMatrixLayout_t, const void*, cublasLtMatrixLayout_t, const void*,          \
                       const void*, cublasLtMatrixLayout_t, void*, cublasLtMatrixLayout_t,                \
                       const cublasLtMatmulAlgo_t*, void*, size_t, CUstream))

// Optional: only used for error messages.
#define CUTREC_CUBLASLT_FUNCS_OPT(X) \
  X(cublasLtGetStatusName, "cublasLtGetStatusName", const char* (*)(cublasStatus_t))
