// The few CUDA driver API declarations the cutrec bridge uses, written out here so the addon
// builds on machines without a CUDA toolkit. Values match cuda.h; functions are resolved with
// dlsym from libcuda.so.1 at run time (driver_load in cutrec_cuda.cc).
#pragma once
#include <cstddef>

extern "C" {
typedef int CUresult;  // 0 is CUDA_SUCCESS
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st* CUcontext;
typedef struct CUmod_st* CUmodule;
typedef struct CUfunc_st* CUfunction;
typedef struct CUstream_st* CUstream;
typedef struct CUevent_st* CUevent;
typedef struct CUgraph_st* CUgraph;
typedef struct CUgraphNode_st* CUgraphNode;
typedef struct CUgraphExec_st* CUgraphExec;
}

enum : int {
  CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1,
  CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13,
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33,
  CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36,
  CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37,
  CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
  CU_MEMHOSTALLOC_PORTABLE = 1,
  CU_STREAM_NON_BLOCKING = 1,
  CU_EVENT_DEFAULT = 0,
  // CUevent_flags (cuda.h): CU_EVENT_DISABLE_TIMING = 0x2.
  CU_EVENT_DISABLE_TIMING = 2,
  // CUstreamCaptureMode (cuda.h): GLOBAL = 0, THREAD_LOCAL = 1, RELAXED = 2.
  CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
  // CUresult values the bridge tests for (cuda.h).
  CUDA_ERROR_NOT_READY = 600,
  CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
  CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
  CUDA_ERROR_STREAM_CAPTURE_IMPLICIT = 906,
};

// One X-macro list: name, symbol in libcuda, signature. The bridge calls them as drv.name(...).
// Symbol names are the ones cuda.h maps the API names to (its `#define cuX cuX_v2` block):
// cuMemcpy*Async -> _v2, cuStreamBeginCapture -> cuStreamBeginCapture_v2 (the _v2 takes the capture
// mode; the unversioned symbol is the CUDA 10.0 one-argument form), cuStreamDestroy/cuEventDestroy
// -> _v2. cuStreamQuery, cuStreamWaitEvent, cuStreamEndCapture, cuEventQuery, cuGraphLaunch,
// cuGraphGetNodes, cuGraphExecDestroy, cuGraphDestroy and cuGraphInstantiateWithFlags (CUDA 11.4+)
// have no versioned symbol (the _ptsz/_ptds ones are the per-thread default stream variants).
#define CUTREC_DRIVER_FUNCS(X)                                                                          \
  X(cuInit, "cuInit", CUresult (*)(unsigned))                                                           \
  X(cuDriverGetVersion, "cuDriverGetVersion", CUresult (*)(int*))                                       \
  X(cuGetErrorName, "cuGetErrorName", CUresult (*)(CUresult, const char**))                             \
  X(cuGetErrorString, "cuGetErrorString", CUresult (*)(CUresult, const char**))                         \
  X(cuDeviceGetCount, "cuDeviceGetCount", CUresult (*)(int*))                                           \
  X(cuDeviceGet, "cuDeviceGet", CUresult (*)(CUdevice*, int))                                           \
  X(cuDeviceGetName, "cuDeviceGetName", CUresult (*)(char*, int, CUdevice))                             \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", CUresult (*)(int*, int, CUdevice))                    \
  X(cuDeviceTotalMem, "cuDeviceTotalMem_v2", CUresult (*)(size_t*, CUdevice))                           \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CUresult (*)(CUcontext*, CUdevice))           \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", CUresult (*)(CUcontext))                                        \
  X(cuCtxSynchronize, "cuCtxSynchronize", CUresult (*)(void))                                           \
  X(cuMemGetInfo, "cuMemGetInfo_v2", CUresult (*)(size_t*, size_t*))                                   \
  X(cuMemAlloc, "cuMemAlloc_v2", CUresult (*)(CUdeviceptr*, size_t))                                    \
  X(cuMemFree, "cuMemFree_v2", CUresult (*)(CUdeviceptr))                                               \
  X(cuMemHostAlloc, "cuMemHostAlloc", CUresult (*)(void**, size_t, unsigned))                           \
  X(cuMemFreeHost, "cuMemFreeHost", CUresult (*)(void*))                                                \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2", CUresult (*)(CUdeviceptr, const void*, size_t))                    \
  X(cuMemcpyDtoH, "cuMemcpyDtoH_v2", CUresult (*)(void*, CUdeviceptr, size_t))                          \
  X(cuMemcpyDtoD, "cuMemcpyDtoD_v2", CUresult (*)(CUdeviceptr, CUdeviceptr, size_t))                    \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", CUresult (*)(CUdeviceptr, const void*, size_t, CUstream)) \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", CUresult (*)(void*, CUdeviceptr, size_t, CUstream))     \
  X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", CUresult (*)(CUdeviceptr, CUdeviceptr, size_t, CUstream)) \
  X(cuMemsetD32, "cuMemsetD32_v2", CUresult (*)(CUdeviceptr, unsigned, size_t))                         \
  X(cuMemsetD32Async, "cuMemsetD32Async", CUresult (*)(CUdeviceptr, unsigned, size_t, CUstream))        \
  X(cuStreamCreate, "cuStreamCreate", CUresult (*)(CUstream*, unsigned))                                \
  X(cuStreamDestroy, "cuStreamDestroy_v2", CUresult (*)(CUstream))                                      \
  X(cuStreamSynchronize, "cuStreamSynchronize", CUresult (*)(CUstream))                                 \
  X(cuStreamQuery, "cuStreamQuery", CUresult (*)(CUstream))                                            \
  X(cuStreamWaitEvent, "cuStreamWaitEvent", CUresult (*)(CUstream, CUevent, unsigned))                 \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2", CUresult (*)(CUstream, int))                      \
  X(cuStreamEndCapture, "cuStreamEndCapture", CUresult (*)(CUstream, CUgraph*))                        \
  X(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags",                                        \
    CUresult (*)(CUgraphExec*, CUgraph, unsigned long long))                                           \
  X(cuGraphGetNodes, "cuGraphGetNodes", CUresult (*)(CUgraph, CUgraphNode*, size_t*))                  \
  X(cuGraphLaunch, "cuGraphLaunch", CUresult (*)(CUgraphExec, CUstream))                               \
  X(cuGraphExecDestroy, "cuGraphExecDestroy", CUresult (*)(CUgraphExec))                               \
  X(cuGraphDestroy, "cuGraphDestroy", CUresult (*)(CUgraph))                                           \
  X(cuEventCreate, "cuEventCreate", CUresult (*)(CUevent*, unsigned))                                   \
  X(cuEventRecord, "cuEventRecord", CUresult (*)(CUevent, CUstream))                                    \
  X(cuEventSynchronize, "cuEventSynchronize", CUresult (*)(CUevent))                                    \
  X(cuEventQuery, "cuEventQuery", CUresult (*)(CUevent))                                                \
  X(cuEventDestroy, "cuEventDestroy_v2", CUresult (*)(CUevent))                                         \
  X(cuModuleLoadData, "cuModuleLoadData", CUresult (*)(CUmodule*, const void*))                         \
  X(cuModuleUnload, "cuModuleUnload", CUresult (*)(CUmodule))                                           \
  X(cuModuleGetFunction, "cuModuleGetFunction", CUresult (*)(CUfunction*, CUmodule, const char*))       \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", CUresult (*)(CUfunction, int, int))                       \
  X(cuLaunchKernel, "cuLaunchKernel",                                                                   \
    CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,      \
                 CUstream, void**, void**))
