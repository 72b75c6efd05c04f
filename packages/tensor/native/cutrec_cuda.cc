// cutrec_cuda: a Node-API bridge to the CUDA driver. libcuda.so.1 is opened with dlopen at run
// time, so this builds on any machine and says "CUDA unavailable: <reason>" where there is no
// driver. Every driver call is checked; a failure throws a JS Error carrying cuGetErrorName.
#include <dlfcn.h>
#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cublaslt.h"
#include "cuda_driver.h"

namespace {

struct Driver {
  void* lib = nullptr;
  bool tried = false;
  bool ok = false;
  std::string reason;
  int version = 0;
#define CUTREC_DECL(name, sym, sig) \
  using name##_t = sig;           \
  name##_t name = nullptr;
  CUTREC_DRIVER_FUNCS(CUTREC_DECL)
#undef CUTREC_DECL
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent) = nullptr;
};

Driver drv;

// cuBLASLt, opened on first use from a candidate list the TypeScript side builds (cublaslt.ts).
struct CublasLt {
  void* lib = nullptr;
  bool ok = false;
  std::string path;
  std::string reason;
  size_t version = 0;
#define CUTREC_DECL(name, sym, sig) \
  using name##_t = sig;           \
  name##_t name = nullptr;
  CUTREC_CUBLASLT_FUNCS(CUTREC_DECL)
  CUTREC_CUBLASLT_FUNCS_OPT(CUTREC_DECL)
#undef CUTREC_DECL
};

CublasLt lt;

std::string CublasStatusName(cublasStatus_t s) {
  if (lt.cublasLtGetStatusName) {
    const char* n = lt.cublasLtGetStatusName(s);
    if (n) return n;
  }
  switch (s) {  // cublas_api.h, cublasStatus_t
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_" + std::to_string(s);
  }
}

// Peak/current bytes of device memory allocated through this addon (all contexts together).
struct Meter {
  int64_t current = 0;
  int64_t peak = 0;
  void add(int64_t b) {
    current += b;
    if (current > peak) peak = current;
  }
} meter;

std::string ErrorName(CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  std::string out;
  if (drv.cuGetErrorName && drv.cuGetErrorName(r, &name) == 0 && name) out = name;
  else out = "CUDA_ERROR_" + std::to_string(r);
  if (drv.cuGetErrorString && drv.cuGetErrorString(r, &text) == 0 && text) out += std::string(" (") + text + ")";
  return out;
}

// Throws a JS Error "<what>: <CUDA_ERROR_NAME> (<text>)" with .code = the error name.
void Check(Napi::Env env, CUresult r, const char* what) {
  if (r == 0) return;
  const char* name = nullptr;
  std::string code = (drv.cuGetErrorName && drv.cuGetErrorName(r, &name) == 0 && name) ? name : "CUDA_ERROR_UNKNOWN";
  Napi::Error e = Napi::Error::New(env, std::string(what) + ": " + ErrorName(r));
  e.Set("code", Napi::String::New(env, code));
  e.Set("cuResult", Napi::Number::New(env, r));
  throw e;
}

#define CK(env, call) Check(env, (call), #call)

// Throws "<what>: CUBLAS_STATUS_NAME" with .code = the status name.
void CheckLt(Napi::Env env, cublasStatus_t s, const std::string& what) {
  if (s == 0) return;
  std::string code = CublasStatusName(s);
  Napi::Error e = Napi::Error::New(env, what + ": " + code);
  e.Set("code", Napi::String::New(env, code));
  e.Set("cublasStatus", Napi::Number::New(env, s));
  throw e;
}

#define CKLT(env, call) CheckLt(env, (call), #call)

bool LoadDriver() {
  if (drv.tried) return drv.ok;
  drv.tried = true;
  drv.lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!drv.lib) {
    const char* e = dlerror();
    drv.reason = std::string("no NVIDIA driver (") + (e ? e : "dlopen libcuda.so.1 failed") + ")";
    return false;
  }
#define CUTREC_LOAD(name, sym, sig)                                    \
  drv.name = reinterpret_cast<Driver::name##_t>(dlsym(drv.lib, sym));               \
  if (!drv.name) {                                                     \
    drv.reason = std::string("the driver lacks ") + sym + " (too old)"; \
    return false;                                                      \
  }
  CUTREC_DRIVER_FUNCS(CUTREC_LOAD)
#undef CUTREC_LOAD
  void* et = dlsym(drv.lib, "cuEventElapsedTime_v2");
  if (!et) et = dlsym(drv.lib, "cuEventElapsedTime");
  drv.cuEventElapsedTime = reinterpret_cast<CUresult (*)(float*, CUevent, CUevent)>(et);
  if (!drv.cuEventElapsedTime) {
    drv.reason = "the driver lacks cuEventElapsedTime";
    return false;
  }
  CUresult r = drv.cuInit(0);
  if (r != 0) {
    drv.reason = "cuInit failed: " + ErrorName(r);
    return false;
  }
  drv.cuDriverGetVersion(&drv.version);
  int count = 0;
  r = drv.cuDeviceGetCount(&count);
  if (r != 0 || count == 0) {
    drv.reason = r != 0 ? "cuDeviceGetCount failed: " + ErrorName(r) : std::string("no CUDA device");
    return false;
  }
  drv.ok = true;
  return true;
}

void RequireDriver(Napi::Env env) {
  if (!LoadDriver()) throw Napi::Error::New(env, "CUDA unavailable: " + drv.reason);
}

CUdevice GetDevice(Napi::Env env, int ordinal) {
  CUdevice d;
  CK(env, drv.cuDeviceGet(&d, ordinal));
  return d;
}

}  // namespace

// ---- contexts: the primary context of one device, retained for the life of the process ----
class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::FunctionReference ctor;
  CUcontext ctx = nullptr;
  int ordinal = 0;
  // Pinned staging for large copies: two chunks so one fills while the other moves.
  void* pinned[2] = {nullptr, nullptr};
  size_t pinnedBytes = 0;
  CUstream copyStream = nullptr;
  CUevent pinnedDone[2] = {nullptr, nullptr};
  // cuBLASLt: one handle and one workspace per context, shared by its GemmPlans.
  cublasLtHandle_t ltHandle = nullptr;
  CUdeviceptr ltWorkspace = 0;
  size_t ltWorkspaceBytes = 0;

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Context",
                                   {InstanceMethod("synchronize", &Context::Synchronize),
                                    InstanceMethod("memInfo", &Context::MemInfo),
                                    InstanceAccessor("ordinal", &Context::Ordinal, nullptr)});
    ctor = Napi::Persistent(f);
    return f;
  }

  explicit Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
    Napi::Env env = info.Env();
    RequireDriver(env);
    ordinal = info.Length() > 0 ? info[0].As<Napi::Number>().Int32Value() : 0;
    CUdevice d = GetDevice(env, ordinal);
    CK(env, drv.cuDevicePrimaryCtxRetain(&ctx, d));
    CK(env, drv.cuCtxSetCurrent(ctx));
  }

  // The primary context stays retained: device memory may be finalized after this object.
  ~Context() override {
    if (ctx) drv.cuCtxSetCurrent(ctx);
    for (int i = 0; i < 2; ++i) {
      if (pinned[i]) drv.cuMemFreeHost(pinned[i]);
      if (pinnedDone[i]) drv.cuEventDestroy(pinnedDone[i]);
    }
    if (copyStream) drv.cuStreamDestroy(copyStream);
    if (ltHandle && lt.cublasLtDestroy) lt.cublasLtDestroy(ltHandle);
    if (ltWorkspace) {
      drv.cuMemFree(ltWorkspace);
      meter.add(-static_cast<int64_t>(ltWorkspaceBytes));
    }
  }

  // The context's cuBLASLt handle and a workspace of at least `bytes` (made once, before any capture).
  void EnsureCublasLt(Napi::Env env, size_t bytes) {
    Use(env);
    if (!ltHandle) CKLT(env, lt.cublasLtCreate(&ltHandle));
    if (ltWorkspaceBytes < bytes) {
      CUdeviceptr p = 0;
      CK(env, drv.cuMemAlloc(&p, bytes));
      if (ltWorkspace) {
        drv.cuMemFree(ltWorkspace);
        meter.add(-static_cast<int64_t>(ltWorkspaceBytes));
      }
      ltWorkspace = p;
      ltWorkspaceBytes = bytes;
      meter.add(static_cast<int64_t>(bytes));
    }
  }

  void Use(Napi::Env env) { CK(env, drv.cuCtxSetCurrent(ctx)); }

  void EnsureStaging(Napi::Env env) {
    if (pinnedBytes) return;
    const size_t chunk = 8u << 20;
    for (int i = 0; i < 2; ++i) {
      CK(env, drv.cuMemHostAlloc(&pinned[i], chunk, CU_MEMHOSTALLOC_PORTABLE));
      CK(env, drv.cuEventCreate(&pinnedDone[i], CU_EVENT_DEFAULT));
    }
    CK(env, drv.cuStreamCreate(&copyStream, 0));
    pinnedBytes = chunk;
  }

  Napi::Value Synchronize(const Napi::CallbackInfo& info) {
    Use(info.Env());
    CK(info.Env(), drv.cuCtxSynchronize());
    return info.Env().Undefined();
  }

  Napi::Value MemInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Use(env);
    size_t freeB = 0, totalB = 0;
    CK(env, drv.cuMemGetInfo(&freeB, &totalB));
    Napi::Object o = Napi::Object::New(env);
    o.Set("free", Napi::Number::New(env, static_cast<double>(freeB)));
    o.Set("total", Napi::Number::New(env, static_cast<double>(totalB)));
    return o;
  }

  Napi::Value Ordinal(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ordinal); }
};
Napi::FunctionReference Context::ctor;

static Context* UnwrapContext(Napi::Env env, Napi::Value v) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(Context::ctor.Value())) {
    throw Napi::TypeError::New(env, "expected a native CUDA Context");
  }
  return Context::Unwrap(v.As<Napi::Object>());
}

// Bytes and offset of a TypedArray / ArrayBuffer / DataView argument.
static void HostSpan(Napi::Env env, Napi::Value v, uint8_t** data, size_t* bytes) {
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    *data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    *bytes = t.ByteLength();
  } else if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer a = v.As<Napi::ArrayBuffer>();
    *data = static_cast<uint8_t*>(a.Data());
    *bytes = a.ByteLength();
  } else if (v.IsDataView()) {
    Napi::DataView d = v.As<Napi::DataView>();
    *data = static_cast<uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset();
    *bytes = d.ByteLength();
  } else {
    throw Napi::TypeError::New(env, "expected a TypedArray, ArrayBuffer or DataView");
  }
}

static double NumberArg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, double fallback) {
  if (info.Length() <= i || info[i].IsUndefined()) return fallback;
  if (info[i].IsBigInt()) {
    bool lossless = true;
    return static_cast<double>(info[i].As<Napi::BigInt>().Uint64Value(&lossless));
  }
  if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "expected a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

static const size_t kPinnedThreshold = 1u << 20;

static CUstream StreamArg(Napi::Env env, Napi::Value v);

// ---- pinned host memory (cuMemHostAlloc), exposed to JS as an external ArrayBuffer ----
// The pinned block is shared by the HostMemory object and its ArrayBuffer: it is freed by .free()
// (which first detaches the ArrayBuffer, so views of it become empty instead of dangling) or when
// both the object and the ArrayBuffer have been collected.
struct PinnedBlock {
  void* ptr = nullptr;
  CUcontext ctx = nullptr;
  int refs = 0;
  void Unref() {
    if (--refs > 0) return;
    if (ptr) {
      drv.cuCtxSetCurrent(ctx);
      drv.cuMemFreeHost(ptr);
      ptr = nullptr;
    }
    delete this;
  }
};

class HostMemory : public Napi::ObjectWrap<HostMemory> {
 public:
  static Napi::FunctionReference ctor;
  Context* owner = nullptr;
  Napi::ObjectReference ownerRef;
  PinnedBlock* block = nullptr;
  size_t bytes = 0;
  Napi::Reference<Napi::ArrayBuffer> buffer;  // weak: the ArrayBuffer keeps the block alive itself

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "HostMemory",
                                   {InstanceMethod("free", &HostMemory::Free),
                                    InstanceAccessor("arrayBuffer", &HostMemory::GetArrayBuffer, nullptr),
                                    InstanceAccessor("bytes", &HostMemory::Bytes, nullptr),
                                    InstanceAccessor("freed", &HostMemory::Freed, nullptr)});
    ctor = Napi::Persistent(f);
    return f;
  }

  // new HostMemory(context, bytes)
  explicit HostMemory(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HostMemory>(info) {
    Napi::Env env = info.Env();
    owner = UnwrapContext(env, info[0]);
    ownerRef = Napi::Persistent(info[0].As<Napi::Object>());
    double b = NumberArg(env, info, 1, -1);
    if (!(b >= 0) || b > 9.0e15) throw Napi::RangeError::New(env, "bytes must be a number ≥ 0");
    bytes = static_cast<size_t>(b);
    owner->Use(env);
    block = new PinnedBlock();
    block->ctx = owner->ctx;
    block->refs = 1;
    if (bytes > 0) {
      CUresult r = drv.cuMemHostAlloc(&block->ptr, bytes, CU_MEMHOSTALLOC_PORTABLE);
      if (r != 0) {
        block->Unref();
        block = nullptr;
        Check(env, r, "cuMemHostAlloc");
      }
    }
  }

  void Finalize(Napi::Env) override {
    if (block) {
      block->Unref();
      block = nullptr;
    }
  }

  bool Alive() const { return block && (block->ptr || bytes == 0); }
  void Live(Napi::Env env) {
    if (!Alive()) throw Napi::Error::New(env, "HostMemory was freed");
  }
  uint8_t* Data() { return static_cast<uint8_t*>(block->ptr); }
  void Range(Napi::Env env, double off, double len, const char* what) {
    if (!(off >= 0) || !(len >= 0) || off + len > static_cast<double>(bytes)) {
      throw Napi::RangeError::New(env, std::string(what) + ": host range [" + std::to_string((size_t)off) + ", " +
                                           std::to_string((size_t)(off + len)) + ") is outside the " +
                                           std::to_string(bytes) + "-byte host buffer");
    }
  }

  Napi::Value GetArrayBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    if (!buffer.IsEmpty()) {
      Napi::ArrayBuffer ab = buffer.Value();
      if (!ab.IsEmpty()) return ab;
    }
    Napi::ArrayBuffer ab;
    if (bytes == 0) {
      ab = Napi::ArrayBuffer::New(env, 0);
    } else {
      block->refs++;
      PinnedBlock* blk = block;
      napi_value out;
      napi_status st = napi_create_external_arraybuffer(
          env, block->ptr, bytes, [](napi_env, void*, void* hint) { static_cast<PinnedBlock*>(hint)->Unref(); },
          blk, &out);
      if (st != napi_ok) {
        blk->refs--;
        throw Napi::Error::New(env, "HostBuffer: this runtime does not allow external ArrayBuffers (napi status " +
                                        std::to_string(static_cast<int>(st)) + ")");
      }
      ab = Napi::ArrayBuffer(env, out);
    }
    buffer = Napi::Reference<Napi::ArrayBuffer>::New(ab, 0);
    return ab;
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!block || !block->ptr) return env.Undefined();
    if (!buffer.IsEmpty()) {
      Napi::ArrayBuffer ab = buffer.Value();
      if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
      buffer.Reset();
    }
    drv.cuCtxSetCurrent(block->ctx);
    CUresult r = drv.cuMemFreeHost(block->ptr);
    block->ptr = nullptr;
    CK(env, r);
    return env.Undefined();
  }

  Napi::Value Bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(bytes)); }
  Napi::Value Freed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !Alive()); }
};
Napi::FunctionReference HostMemory::ctor;

static HostMemory* UnwrapHost(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(HostMemory::ctor.Value())) {
    throw Napi::TypeError::New(env, std::string(what) + ": expected a HostBuffer");
  }
  HostMemory* h = HostMemory::Unwrap(v.As<Napi::Object>());
  h->Live(env);
  return h;
}

// ---- device memory: freed by .free() or when the JS object is collected ----
class DeviceMemory : public Napi::ObjectWrap<DeviceMemory> {
 public:
  static Napi::FunctionReference ctor;
  Context* owner = nullptr;
  Napi::ObjectReference ownerRef;
  CUdeviceptr ptr = 0;
  size_t bytes = 0;

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f =
        DefineClass(env, "DeviceMemory",
                    {InstanceMethod("free", &DeviceMemory::Free), InstanceMethod("upload", &DeviceMemory::Upload),
                     InstanceMethod("download", &DeviceMemory::Download), InstanceMethod("fill32", &DeviceMemory::Fill32),
                     InstanceMethod("copyFrom", &DeviceMemory::CopyFrom),
                     InstanceMethod("copyFromAsync", &DeviceMemory::CopyFromAsync),
                     InstanceMethod("uploadAsync", &DeviceMemory::UploadAsync),
                     InstanceMethod("downloadAsync", &DeviceMemory::DownloadAsync),
                     InstanceAccessor("address", &DeviceMemory::Address, nullptr),
                     InstanceAccessor("bytes", &DeviceMemory::Bytes, nullptr),
                     InstanceAccessor("freed", &DeviceMemory::Freed, nullptr)});
    ctor = Napi::Persistent(f);
    return f;
  }

  // new DeviceMemory(context, bytes)
  explicit DeviceMemory(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceMemory>(info) {
    Napi::Env env = info.Env();
    owner = UnwrapContext(env, info[0]);
    ownerRef = Napi::Persistent(info[0].As<Napi::Object>());
    double b = NumberArg(env, info, 1, -1);
    if (!(b >= 0) || b > 9.0e15) throw Napi::RangeError::New(env, "bytes must be a number ≥ 0");
    bytes = static_cast<size_t>(b);
    owner->Use(env);
    if (bytes > 0) {
      CK(env, drv.cuMemAlloc(&ptr, bytes));
      meter.add(static_cast<int64_t>(bytes));
      Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
    }
  }

  void Release(Napi::Env* env) {
    if (!ptr) return;
    drv.cuCtxSetCurrent(owner->ctx);
    CUresult r = drv.cuMemFree(ptr);
    ptr = 0;
    meter.add(-static_cast<int64_t>(bytes));
    if (env) {
      Napi::MemoryManagement::AdjustExternalMemory(*env, -static_cast<int64_t>(bytes));
      Check(*env, r, "cuMemFree");
    }
  }

  void Finalize(Napi::Env env) override {
    if (ptr) {
      Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(bytes));
      Release(nullptr);
    }
  }

  void Live(Napi::Env env) {
    if (!ptr && bytes > 0) throw Napi::Error::New(env, "DeviceMemory was freed");
  }

  void Range(Napi::Env env, double off, double len, const char* what) {
    if (!(off >= 0) || !(len >= 0) || off + len > static_cast<double>(bytes)) {
      throw Napi::RangeError::New(env, std::string(what) + ": range [" + std::to_string((size_t)off) + ", " +
                                           std::to_string((size_t)(off + len)) + ") is outside the allocation of " +
                                           std::to_string(bytes) + " bytes");
    }
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Release(&env);
    return env.Undefined();
  }

  // upload(src, dstOffsetBytes = 0): host → device, synchronous; large copies go through pinned staging.
  Napi::Value Upload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    uint8_t* src;
    size_t n;
    HostSpan(env, info[0], &src, &n);
    double off = NumberArg(env, info, 1, 0);
    Range(env, off, static_cast<double>(n), "upload");
    owner->Use(env);
    CK(env, drv.cuCtxSynchronize());
    CUdeviceptr dst = ptr + static_cast<size_t>(off);
    if (n < kPinnedThreshold) {
      if (n) CK(env, drv.cuMemcpyHtoD(dst, src, n));
      return env.Undefined();
    }
    owner->EnsureStaging(env);
    const size_t chunk = owner->pinnedBytes;
    int b = 0;
    bool used[2] = {false, false};
    for (size_t done = 0; done < n; done += chunk, b ^= 1) {
      size_t len = n - done < chunk ? n - done : chunk;
      if (used[b]) CK(env, drv.cuEventSynchronize(owner->pinnedDone[b]));
      std::memcpy(owner->pinned[b], src + done, len);
      CK(env, drv.cuMemcpyHtoDAsync(dst + done, owner->pinned[b], len, owner->copyStream));
      CK(env, drv.cuEventRecord(owner->pinnedDone[b], owner->copyStream));
      used[b] = true;
    }
    CK(env, drv.cuStreamSynchronize(owner->copyStream));
    return env.Undefined();
  }

  // download(dst, srcOffsetBytes = 0): device → host after all work in the context finished.
  Napi::Value Download(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    uint8_t* dstHost;
    size_t n;
    HostSpan(env, info[0], &dstHost, &n);
    double off = NumberArg(env, info, 1, 0);
    Range(env, off, static_cast<double>(n), "download");
    owner->Use(env);
    CK(env, drv.cuCtxSynchronize());
    CUdeviceptr src = ptr + static_cast<size_t>(off);
    if (n < kPinnedThreshold) {
      if (n) CK(env, drv.cuMemcpyDtoH(dstHost, src, n));
      return env.Undefined();
    }
    owner->EnsureStaging(env);
    const size_t chunk = owner->pinnedBytes;
    size_t chunks = (n + chunk - 1) / chunk;
    auto issue = [&](size_t c) {
      size_t done = c * chunk;
      size_t len = n - done < chunk ? n - done : chunk;
      CK(env, drv.cuMemcpyDtoHAsync(owner->pinned[c & 1], src + done, len, owner->copyStream));
      CK(env, drv.cuEventRecord(owner->pinnedDone[c & 1], owner->copyStream));
    };
    issue(0);
    for (size_t c = 0; c < chunks; ++c) {
      if (c + 1 < chunks) issue(c + 1);
      CK(env, drv.cuEventSynchronize(owner->pinnedDone[c & 1]));
      size_t done = c * chunk;
      size_t len = n - done < chunk ? n - done : chunk;
      std::memcpy(dstHost + done, owner->pinned[c & 1], len);
    }
    return env.Undefined();
  }

  // fill32(value u32, offsetBytes = 0, count = rest, stream = legacy): sets 32-bit words (e.g. NaN
  // poison, zeros) with cuMemsetD32Async on `stream`; queued, no synchronisation.
  Napi::Value Fill32(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    uint32_t value = static_cast<uint32_t>(NumberArg(env, info, 0, 0));
    double off = NumberArg(env, info, 1, 0);
    double count = NumberArg(env, info, 2, (static_cast<double>(bytes) - off) / 4);
    if (static_cast<size_t>(off) % 4 != 0) throw Napi::RangeError::New(env, "fill32: offset must be a multiple of 4");
    Range(env, off, count * 4, "fill32");
    CUstream stream = StreamArg(env, info.Length() > 3 ? info[3] : env.Undefined());
    owner->Use(env);
    if (count > 0) CK(env, drv.cuMemsetD32Async(ptr + static_cast<size_t>(off), value, static_cast<size_t>(count), stream));
    return env.Undefined();
  }

  // copyFrom(src DeviceMemory, dstOffset, srcOffset, bytes): device → device.
  Napi::Value CopyFrom(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(ctor.Value())) {
      throw Napi::TypeError::New(env, "copyFrom: expected DeviceMemory");
    }
    DeviceMemory* src = Unwrap(info[0].As<Napi::Object>());
    src->Live(env);
    double dOff = NumberArg(env, info, 1, 0);
    double sOff = NumberArg(env, info, 2, 0);
    double n = NumberArg(env, info, 3, static_cast<double>(src->bytes) - sOff);
    Range(env, dOff, n, "copyFrom (destination)");
    src->Range(env, sOff, n, "copyFrom (source)");
    owner->Use(env);
    if (n > 0) CK(env, drv.cuMemcpyDtoD(ptr + (size_t)dOff, src->ptr + (size_t)sOff, (size_t)n));
    return env.Undefined();
  }

  // copyFromAsync(src DeviceMemory, dstOffset, srcOffset, bytes, stream): cuMemcpyDtoDAsync, no sync.
  Napi::Value CopyFromAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(ctor.Value())) {
      throw Napi::TypeError::New(env, "copyFromAsync: expected DeviceMemory");
    }
    DeviceMemory* src = Unwrap(info[0].As<Napi::Object>());
    src->Live(env);
    double dOff = NumberArg(env, info, 1, 0);
    double sOff = NumberArg(env, info, 2, 0);
    double n = NumberArg(env, info, 3, static_cast<double>(src->bytes) - sOff);
    Range(env, dOff, n, "copyFromAsync (destination)");
    src->Range(env, sOff, n, "copyFromAsync (source)");
    CUstream stream = StreamArg(env, info.Length() > 4 ? info[4] : env.Undefined());
    owner->Use(env);
    if (n > 0) CK(env, drv.cuMemcpyDtoDAsync(ptr + (size_t)dOff, src->ptr + (size_t)sOff, (size_t)n, stream));
    return env.Undefined();
  }

  // uploadAsync(host HostMemory, hostOffset, deviceOffset, bytes, stream): cuMemcpyHtoDAsync, no sync.
  Napi::Value UploadAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    HostMemory* h = UnwrapHost(env, info[0], "uploadAsync");
    double hOff = NumberArg(env, info, 1, 0);
    double dOff = NumberArg(env, info, 2, 0);
    double n = NumberArg(env, info, 3, std::min(static_cast<double>(h->bytes) - hOff, static_cast<double>(bytes) - dOff));
    h->Range(env, hOff, n, "uploadAsync");
    Range(env, dOff, n, "uploadAsync");
    CUstream stream = StreamArg(env, info.Length() > 4 ? info[4] : env.Undefined());
    owner->Use(env);
    if (n > 0) CK(env, drv.cuMemcpyHtoDAsync(ptr + (size_t)dOff, h->Data() + (size_t)hOff, (size_t)n, stream));
    return env.Undefined();
  }

  // downloadAsync(host HostMemory, hostOffset, deviceOffset, bytes, stream): cuMemcpyDtoHAsync, no sync.
  Napi::Value DownloadAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    HostMemory* h = UnwrapHost(env, info[0], "downloadAsync");
    double hOff = NumberArg(env, info, 1, 0);
    double dOff = NumberArg(env, info, 2, 0);
    double n = NumberArg(env, info, 3, std::min(static_cast<double>(h->bytes) - hOff, static_cast<double>(bytes) - dOff));
    h->Range(env, hOff, n, "downloadAsync");
    Range(env, dOff, n, "downloadAsync");
    CUstream stream = StreamArg(env, info.Length() > 4 ? info[4] : env.Undefined());
    owner->Use(env);
    if (n > 0) CK(env, drv.cuMemcpyDtoHAsync(h->Data() + (size_t)hOff, ptr + (size_t)dOff, (size_t)n, stream));
    return env.Undefined();
  }

  Napi::Value Address(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(ptr)); }
  Napi::Value Bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(bytes)); }
  Napi::Value Freed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ptr == 0 && bytes > 0); }
};
Napi::FunctionReference DeviceMemory::ctor;

// ---- streams ----
class Stream : public Napi::ObjectWrap<Stream> {
 public:
  static Napi::FunctionReference ctor;
  Context* owner = nullptr;
  Napi::ObjectReference ownerRef;
  CUstream stream = nullptr;

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Stream",
                                   {InstanceMethod("synchronize", &Stream::Synchronize),
                                    InstanceMethod("query", &Stream::Query),
                                    InstanceMethod("waitEvent", &Stream::WaitEvent),
                                    InstanceMethod("beginCapture", &Stream::BeginCapture),
                                    InstanceMethod("endCapture", &Stream::EndCapture),
                                    InstanceMethod("destroy", &Stream::Destroy)});
    ctor = Napi::Persistent(f);
    return f;
  }
  explicit Stream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Stream>(info) {
    Napi::Env env = info.Env();
    owner = UnwrapContext(env, info[0]);
    ownerRef = Napi::Persistent(info[0].As<Napi::Object>());
    bool nonBlocking = info.Length() > 1 && info[1].ToBoolean();
    owner->Use(env);
    CK(env, drv.cuStreamCreate(&stream, nonBlocking ? CU_STREAM_NON_BLOCKING : 0));
  }
  void Finalize(Napi::Env) override {
    if (stream) {
      drv.cuCtxSetCurrent(owner->ctx);
      drv.cuStreamDestroy(stream);
      stream = nullptr;
    }
  }
  void Live(Napi::Env env) {
    if (!stream) throw Napi::Error::New(env, "the stream was destroyed");
  }
  Napi::Value Synchronize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    owner->Use(env);
    CK(env, drv.cuStreamSynchronize(stream));
    return env.Undefined();
  }
  // query(): true when all work on the stream is done, false while some is pending.
  Napi::Value Query(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    owner->Use(env);
    CUresult r = drv.cuStreamQuery(stream);
    if (r == CUDA_ERROR_NOT_READY) return Napi::Boolean::New(env, false);
    CK(env, r);
    return Napi::Boolean::New(env, true);
  }
  Napi::Value WaitEvent(const Napi::CallbackInfo& info);  // after Event
  Napi::Value BeginCapture(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    owner->Use(env);
    CK(env, drv.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    return env.Undefined();
  }
  Napi::Value EndCapture(const Napi::CallbackInfo& info);  // after Graph
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (stream) {
      owner->Use(env);
      CUresult r = drv.cuStreamDestroy(stream);
      stream = nullptr;
      CK(env, r);
    }
    return env.Undefined();
  }
};
Napi::FunctionReference Stream::ctor;

static CUstream StreamArg(Napi::Env env, Napi::Value v) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(Stream::ctor.Value())) {
    throw Napi::TypeError::New(env, "expected a native CUDA Stream or null");
  }
  Stream* s = Stream::Unwrap(v.As<Napi::Object>());
  if (!s->stream) throw Napi::Error::New(env, "the stream was destroyed");
  return s->stream;
}

// ---- events (timing) ----
class Event : public Napi::ObjectWrap<Event> {
 public:
  static Napi::FunctionReference ctor;
  Context* owner = nullptr;
  Napi::ObjectReference ownerRef;
  CUevent event = nullptr;

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Event",
                                   {InstanceMethod("record", &Event::Record),
                                    InstanceMethod("synchronize", &Event::Synchronize),
                                    InstanceMethod("elapsedMs", &Event::ElapsedMs),
                                    InstanceMethod("query", &Event::Query),
                                    InstanceMethod("destroy", &Event::Destroy)});
    ctor = Napi::Persistent(f);
    return f;
  }
  explicit Event(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Event>(info) {
    Napi::Env env = info.Env();
    owner = UnwrapContext(env, info[0]);
    ownerRef = Napi::Persistent(info[0].As<Napi::Object>());
    bool timing = info.Length() < 2 || info[1].IsUndefined() || info[1].ToBoolean();
    owner->Use(env);
    CK(env, drv.cuEventCreate(&event, timing ? CU_EVENT_DEFAULT : CU_EVENT_DISABLE_TIMING));
  }
  void Finalize(Napi::Env) override {
    if (event) {
      drv.cuCtxSetCurrent(owner->ctx);
      drv.cuEventDestroy(event);
      event = nullptr;
    }
  }
  void Live(Napi::Env env) {
    if (!event) throw Napi::Error::New(env, "the event was destroyed");
  }
  Napi::Value Record(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    owner->Use(env);
    CK(env, drv.cuEventRecord(event, StreamArg(env, info.Length() ? info[0] : env.Undefined())));
    return env.Undefined();
  }
  Napi::Value Synchronize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    CK(env, drv.cuEventSynchronize(event));
    return env.Undefined();
  }
  // query(): true when the work before the last record() is done (CUDA_SUCCESS), false while it is
  // pending (CUDA_ERROR_NOT_READY); throws any other error.
  Napi::Value Query(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    owner->Use(env);
    CUresult r = drv.cuEventQuery(event);
    if (r == CUDA_ERROR_NOT_READY) return Napi::Boolean::New(env, false);
    CK(env, r);
    return Napi::Boolean::New(env, true);
  }
  // start.elapsedMs(end): milliseconds between two recorded events (waits for end).
  Napi::Value ElapsedMs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(ctor.Value())) {
      throw Napi::TypeError::New(env, "elapsedMs: expected the end Event");
    }
    Event* end = Unwrap(info[0].As<Napi::Object>());
    end->Live(env);
    CK(env, drv.cuEventSynchronize(end->event));
    float ms = 0;
    CK(env, drv.cuEventElapsedTime(&ms, event, end->event));
    return Napi::Number::New(env, ms);
  }
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (event) {
      CUresult r = drv.cuEventDestroy(event);
      event = nullptr;
      CK(env, r);
    }
    return env.Undefined();
  }
};
Napi::FunctionReference Event::ctor;

// stream.waitEvent(event): later work on the stream waits for the event (cuStreamWaitEvent, no host sync).
Napi::Value Stream::WaitEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Live(env);
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(Event::ctor.Value())) {
    throw Napi::TypeError::New(env, "waitEvent: expected an Event");
  }
  Event* e = Event::Unwrap(info[0].As<Napi::Object>());
  e->Live(env);
  owner->Use(env);
  CK(env, drv.cuStreamWaitEvent(stream, e->event, 0));
  return env.Undefined();
}

// ---- CUDA graphs: made by Stream.endCapture(), replayed with launch(stream) ----
class Graph : public Napi::ObjectWrap<Graph> {
 public:
  static Napi::FunctionReference ctor;
  Context* owner = nullptr;
  Napi::ObjectReference ownerRef;
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  size_t nodes = 0;

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Graph",
                                   {InstanceMethod("launch", &Graph::Launch),
                                    InstanceMethod("destroy", &Graph::Destroy),
                                    InstanceAccessor("nodeCount", &Graph::NodeCount, nullptr)});
    ctor = Napi::Persistent(f);
    return f;
  }
  explicit Graph(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Graph>(info) {}
  void Release() {
    if (owner && (exec || graph)) drv.cuCtxSetCurrent(owner->ctx);
    if (exec) drv.cuGraphExecDestroy(exec);
    if (graph) drv.cuGraphDestroy(graph);
    exec = nullptr;
    graph = nullptr;
  }
  void Finalize(Napi::Env) override { Release(); }
  Napi::Value Launch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!exec) throw Napi::Error::New(env, "the graph was destroyed");
    CUstream s = StreamArg(env, info.Length() ? info[0] : env.Undefined());
    owner->Use(env);
    CK(env, drv.cuGraphLaunch(exec, s));
    return env.Undefined();
  }
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }
  Napi::Value NodeCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(nodes));
  }
};
Napi::FunctionReference Graph::ctor;

// stream.endCapture(): ends the capture begun by beginCapture(), instantiates the graph and returns a
// Graph. On failure everything made is freed and the error says why.
Napi::Value Stream::EndCapture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Live(env);
  owner->Use(env);
  CUgraph g = nullptr;
  CUresult r = drv.cuStreamEndCapture(stream, &g);
  if (r != 0) {
    if (g) drv.cuGraphDestroy(g);
    Check(env, r, "cuStreamEndCapture");
  }
  if (!g) throw Napi::Error::New(env, "cuStreamEndCapture returned no graph");
  size_t count = 0;
  r = drv.cuGraphGetNodes(g, nullptr, &count);
  if (r != 0) {
    drv.cuGraphDestroy(g);
    Check(env, r, "cuGraphGetNodes");
  }
  CUgraphExec exec = nullptr;
  r = drv.cuGraphInstantiateWithFlags(&exec, g, 0);
  if (r != 0) {
    drv.cuGraphDestroy(g);
    Check(env, r, "cuGraphInstantiateWithFlags");
  }
  Napi::Object o = Graph::ctor.New({});
  Graph* gw = Graph::Unwrap(o);
  gw->owner = owner;
  gw->ownerRef = Napi::Persistent(ownerRef.Value());
  gw->graph = g;
  gw->exec = exec;
  gw->nodes = count;
  return o;
}

// ---- kernels ----
class Kernel : public Napi::ObjectWrap<Kernel> {
 public:
  static Napi::FunctionReference ctor;
  Context* owner = nullptr;
  Napi::ObjectReference moduleRef;
  CUfunction fn = nullptr;
  std::string name;

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Kernel",
                                   {InstanceMethod("launch", &Kernel::Launch),
                                    InstanceMethod("setMaxDynamicSharedMemory", &Kernel::SetMaxDynamicSmem),
                                    InstanceAccessor("name", &Kernel::Name, nullptr)});
    ctor = Napi::Persistent(f);
    return f;
  }
  explicit Kernel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Kernel>(info) {}

  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name); }

  Napi::Value SetMaxDynamicSmem(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    owner->Use(env);
    CK(env, drv.cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                   info[0].As<Napi::Number>().Int32Value()));
    return env.Undefined();
  }

  // launch(grid [x,y,z], block [x,y,z], sharedBytes, stream|null, types "pifuq...", values [])
  // types: p = device pointer (DeviceMemory, bigint or number), i = i32, u = u32, f = f32, q = u64,
  // b = a struct by value (its bytes as a TypedArray / ArrayBuffer).
  Napi::Value Launch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto dims = [&](Napi::Value v, unsigned out[3], const char* what) {
      if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be [x, y, z]");
      Napi::Array a = v.As<Napi::Array>();
      for (uint32_t i = 0; i < 3; ++i) {
        double d = i < a.Length() ? a.Get(i).As<Napi::Number>().DoubleValue() : 1;
        if (!(d >= 1) || d > 2147483647.0) throw Napi::RangeError::New(env, std::string(what) + " dimensions must be ≥ 1");
        out[i] = static_cast<unsigned>(d);
      }
    };
    unsigned grid[3], block[3];
    dims(info[0], grid, "grid");
    dims(info[1], block, "block");
    unsigned smem = info[2].As<Napi::Number>().Uint32Value();
    CUstream stream = StreamArg(env, info[3]);
    std::string types = info[4].As<Napi::String>().Utf8Value();
    Napi::Array values = info[5].As<Napi::Array>();
    if (values.Length() != types.size()) {
      throw Napi::RangeError::New(env, name + ": " + std::to_string(types.size()) + " parameter types but " +
                                           std::to_string(values.Length()) + " values");
    }
    std::vector<uint64_t> slots(types.size(), 0);
    std::vector<std::vector<uint8_t>> blobs;
    blobs.reserve(types.size());
    std::vector<void*> params(types.size());
    for (size_t i = 0; i < types.size(); ++i) {
      Napi::Value v = values.Get(static_cast<uint32_t>(i));
      uint64_t& s = slots[i];
      switch (types[i]) {
        case 'p':
          if (v.IsObject() && v.As<Napi::Object>().InstanceOf(DeviceMemory::ctor.Value())) {
            DeviceMemory* m = DeviceMemory::Unwrap(v.As<Napi::Object>());
            m->Live(env);
            s = m->ptr;
          } else if (v.IsBigInt()) {
            bool lossless;
            s = v.As<Napi::BigInt>().Uint64Value(&lossless);
          } else if (v.IsNumber()) {
            s = static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue());
          } else if (v.IsNull() || v.IsUndefined()) {
            s = 0;
          } else {
            throw Napi::TypeError::New(env, name + ": parameter " + std::to_string(i) + " must be a device pointer");
          }
          break;
        case 'i': {
          int32_t x = v.As<Napi::Number>().Int32Value();
          std::memcpy(&s, &x, 4);
          break;
        }
        case 'u': {
          uint32_t x = v.As<Napi::Number>().Uint32Value();
          std::memcpy(&s, &x, 4);
          break;
        }
        case 'f': {
          float x = v.As<Napi::Number>().FloatValue();
          std::memcpy(&s, &x, 4);
          break;
        }
        case 'q':
          if (v.IsBigInt()) {
            bool lossless;
            s = v.As<Napi::BigInt>().Uint64Value(&lossless);
          } else {
            s = static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue());
          }
          break;
        case 'b': {  // a struct passed by value: its bytes
          uint8_t* data;
          size_t n;
          HostSpan(env, v, &data, &n);
          blobs.emplace_back(data, data + n);
          params[i] = blobs.back().data();
          continue;
        }
        default:
          throw Napi::TypeError::New(env, name + ": unknown parameter type '" + std::string(1, types[i]) + "'");
      }
      params[i] = &s;
    }
    owner->Use(env);
    CUresult r = drv.cuLaunchKernel(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], smem, stream,
                                    params.empty() ? nullptr : params.data(), nullptr);
    Check(env, r, ("cuLaunchKernel(" + name + ")").c_str());
    return env.Undefined();
  }
};
Napi::FunctionReference Kernel::ctor;

// ---- modules (fatbin, cubin or PTX image) ----
class Module : public Napi::ObjectWrap<Module> {
 public:
  static Napi::FunctionReference ctor;
  Context* owner = nullptr;
  Napi::ObjectReference ownerRef;
  CUmodule mod = nullptr;

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Module",
                                   {InstanceMethod("getFunction", &Module::GetFunction),
                                    InstanceMethod("unload", &Module::Unload)});
    ctor = Napi::Persistent(f);
    return f;
  }
  // new Module(context, image: Uint8Array)
  explicit Module(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Module>(info) {
    Napi::Env env = info.Env();
    owner = UnwrapContext(env, info[0]);
    ownerRef = Napi::Persistent(info[0].As<Napi::Object>());
    uint8_t* data;
    size_t n;
    HostSpan(env, info[1], &data, &n);
    std::vector<uint8_t> image(data, data + n);
    image.push_back(0);  // PTX images must be NUL-terminated; harmless for fatbins
    owner->Use(env);
    CK(env, drv.cuModuleLoadData(&mod, image.data()));
  }
  void Finalize(Napi::Env) override {
    // Kernels hold a reference to this module, so it is only collected after them.
    if (mod) {
      drv.cuCtxSetCurrent(owner->ctx);
      drv.cuModuleUnload(mod);
      mod = nullptr;
    }
  }
  Napi::Value GetFunction(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!mod) throw Napi::Error::New(env, "the module was unloaded");
    std::string n = info[0].As<Napi::String>().Utf8Value();
    CUfunction fn;
    owner->Use(env);
    Check(env, drv.cuModuleGetFunction(&fn, mod, n.c_str()), ("cuModuleGetFunction(" + n + ")").c_str());
    Napi::Object k = Kernel::ctor.New({});
    Kernel* kw = Kernel::Unwrap(k);
    kw->owner = owner;
    kw->fn = fn;
    kw->name = n;
    kw->moduleRef = Napi::Persistent(Value());
    return k;
  }
  Napi::Value Unload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (mod) {
      owner->Use(env);
      CUresult r = drv.cuModuleUnload(mod);
      mod = nullptr;
      CK(env, r);
    }
    return env.Undefined();
  }
};
Napi::FunctionReference Module::ctor;

// ---- cuBLASLt ----
// cublasLtLoad(candidates: string[]): opens the first candidate (a path or a soname) that loads and
// exports every function cublaslt.h lists; returns { ok, path, version, reason }. Once one loaded,
// later calls return it without looking at the list.
static Napi::Value CublasLtLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!lt.ok && info.Length() > 0 && info[0].IsArray()) {
    Napi::Array list = info[0].As<Napi::Array>();
    std::string tried;
    for (uint32_t i = 0; i < list.Length() && !lt.ok; ++i) {
      std::string cand = list.Get(i).ToString().Utf8Value();
      void* h = dlopen(cand.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        const char* e = dlerror();
        tried += "\n  " + cand + ": " + (e ? e : "dlopen failed");
        continue;
      }
      std::string missing;
#define CUTREC_LOAD(name, sym, sig)                                         \
  lt.name = reinterpret_cast<CublasLt::name##_t>(dlsym(h, sym));            \
  if (!lt.name && missing.empty()) missing = sym;
      CUTREC_CUBLASLT_FUNCS(CUTREC_LOAD)
#undef CUTREC_LOAD
#define CUTREC_LOAD_OPT(name, sym, sig) lt.name = reinterpret_cast<CublasLt::name##_t>(dlsym(h, sym));
      CUTREC_CUBLASLT_FUNCS_OPT(CUTREC_LOAD_OPT)
#undef CUTREC_LOAD_OPT
      if (!missing.empty()) {
        tried += "\n  " + cand + ": loads but lacks " + missing;
        dlclose(h);
        continue;
      }
      lt.lib = h;
      lt.ok = true;
      lt.path = cand;
      Dl_info where;
      if (dladdr(reinterpret_cast<void*>(lt.cublasLtCreate), &where) && where.dli_fname) lt.path = where.dli_fname;
      lt.version = lt.cublasLtGetVersion();
    }
    if (!lt.ok) {
      lt.reason = list.Length() == 0 ? std::string("no candidate libcublasLt.so to try")
                                     : "no usable libcublasLt.so among " + std::to_string(list.Length()) +
                                           " candidates:" + tried;
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", Napi::Boolean::New(env, lt.ok));
  o.Set("path", Napi::String::New(env, lt.path));
  o.Set("version", Napi::Number::New(env, static_cast<double>(lt.version)));
  o.Set("reason", Napi::String::New(env, lt.ok ? std::string() : lt.reason.empty() ? "not loaded" : lt.reason));
  return o;
}

// new GemmPlan(context, { transA, transB, m, n, k, lda, ldb, ldc, typeA, typeB, typeC (cudaDataType),
//   compute (cublasComputeType_t), biasType (cudaDataType or -1), batchCount, strideA, strideB,
//   strideC, alignment, workspaceBytes, biasGrad (0 none, 1 of A, 2 of B), algorithm (optional: the
//   index among the heuristic's usable results, default 0) }): descriptors + that algorithm. With biasGrad the bias pointer receives the bias gradient (written).
class GemmPlan : public Napi::ObjectWrap<GemmPlan> {
 public:
  static Napi::FunctionReference ctor;
  Context* owner = nullptr;
  Napi::ObjectReference ownerRef;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  size_t workspaceNeeded = 0;
  int usable = 0;  // usable heuristic results (≤ 8)
  bool hasBias = false;
  uint64_t alignment = 16;
  bool live = false;

  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "GemmPlan",
                                   {InstanceMethod("run", &GemmPlan::Run), InstanceMethod("destroy", &GemmPlan::Destroy),
                                    InstanceAccessor("workspaceBytes", &GemmPlan::WorkspaceBytes, nullptr),
                                    InstanceAccessor("algorithms", &GemmPlan::Algorithms, nullptr)});
    ctor = Napi::Persistent(f);
    return f;
  }

  void Release() {
    if (op) lt.cublasLtMatmulDescDestroy(op);
    if (la) lt.cublasLtMatrixLayoutDestroy(la);
    if (lb) lt.cublasLtMatrixLayoutDestroy(lb);
    if (lc) lt.cublasLtMatrixLayoutDestroy(lc);
    op = nullptr;
    la = lb = lc = nullptr;
    live = false;
  }
  void Finalize(Napi::Env) override { Release(); }

  explicit GemmPlan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GemmPlan>(info) {
    Napi::Env env = info.Env();
    RequireDriver(env);
    if (!lt.ok) throw Napi::Error::New(env, "cuBLASLt unavailable: " + (lt.reason.empty() ? "not loaded" : lt.reason));
    owner = UnwrapContext(env, info[0]);
    ownerRef = Napi::Persistent(info[0].As<Napi::Object>());
    Napi::Object d = info[1].As<Napi::Object>();
    auto num = [&](const char* k) { return d.Get(k).As<Napi::Number>().DoubleValue(); };
    auto i32 = [&](const char* k) { return d.Get(k).As<Napi::Number>().Int32Value(); };
    const bool ta = d.Get("transA").ToBoolean(), tb = d.Get("transB").ToBoolean();
    const uint64_t m = (uint64_t)num("m"), n = (uint64_t)num("n"), k = (uint64_t)num("k");
    const int64_t lda = (int64_t)num("lda"), ldb = (int64_t)num("ldb"), ldc = (int64_t)num("ldc");
    const int typeA = i32("typeA"), typeB = i32("typeB"), typeC = i32("typeC"), compute = i32("compute");
    const int biasType = i32("biasType");
    const int biasGrad = d.Has("biasGrad") ? i32("biasGrad") : 0;
    const int32_t batch = i32("batchCount");
    const int64_t sA = (int64_t)num("strideA"), sB = (int64_t)num("strideB"), sC = (int64_t)num("strideC");
    alignment = (uint64_t)num("alignment");
    const uint64_t wsBytes = (uint64_t)num("workspaceBytes");
    hasBias = biasType >= 0;

    owner->EnsureCublasLt(env, wsBytes);
    try {
      CKLT(env, lt.cublasLtMatmulDescCreate(&op, compute, CUDA_R_32F));
      const int32_t pm = CUBLASLT_POINTER_MODE_HOST;
      const int32_t opA = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
      const uint32_t epi = biasGrad == 1   ? CUBLASLT_EPILOGUE_BGRADA
                           : biasGrad == 2 ? CUBLASLT_EPILOGUE_BGRADB
                           : hasBias       ? CUBLASLT_EPILOGUE_BIAS
                                           : CUBLASLT_EPILOGUE_DEFAULT;
      CKLT(env, lt.cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof(pm)));
      CKLT(env, lt.cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof(opA)));
      CKLT(env, lt.cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof(opB)));
      CKLT(env, lt.cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
      if (hasBias) {
        const int32_t bt = biasType;
        CKLT(env, lt.cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)));
        // The heuristic never dereferences the bias pointer but reads its alignment from it: give it a
        // stand-in aligned exactly to `alignment`, which run() then requires of the real pointer.
        const void* stand = reinterpret_cast<const void*>(static_cast<uintptr_t>(alignment));
        CKLT(env, lt.cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &stand, sizeof(stand)));
      }
      // Column-major layouts of the matrices as stored: A is m×k (k×m when transposed), B k×n (n×k).
      CKLT(env, lt.cublasLtMatrixLayoutCreate(&la, typeA, ta ? k : m, ta ? m : k, lda));
      CKLT(env, lt.cublasLtMatrixLayoutCreate(&lb, typeB, tb ? n : k, tb ? k : n, ldb));
      CKLT(env, lt.cublasLtMatrixLayoutCreate(&lc, typeC, m, n, ldc));
      if (batch > 1) {
        const cublasLtMatrixLayout_t ls[3] = {la, lb, lc};
        const int64_t strides[3] = {sA, sB, sC};
        for (int i = 0; i < 3; ++i) {
          CKLT(env, lt.cublasLtMatrixLayoutSetAttribute(ls[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)));
          CKLT(env, lt.cublasLtMatrixLayoutSetAttribute(ls[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &strides[i],
                                                        sizeof(strides[i])));
        }
      }
      cublasLtMatmulPreference_t pref = nullptr;
      CKLT(env, lt.cublasLtMatmulPreferenceCreate(&pref));
      const uint64_t ws = owner->ltWorkspaceBytes;
      const uint32_t al = static_cast<uint32_t>(alignment);
      cublasStatus_t st = lt.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
      for (int a = CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES; st == 0 && a <= CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES; ++a) {
        st = lt.cublasLtMatmulPreferenceSetAttribute(pref, a, &al, sizeof(al));
      }
      cublasLtMatmulHeuristicResult_t results[8];
      std::memset(results, 0, sizeof(results));
      int found = 0;
      if (st == 0) {
        owner->Use(env);
        st = lt.cublasLtMatmulAlgoGetHeuristic(owner->ltHandle, op, la, lb, lc, lc, pref, 8, results, &found);
      }
      lt.cublasLtMatmulPreferenceDestroy(pref);
      CheckLt(env, st, "cublasLtMatmulAlgoGetHeuristic");
      // The usable results in the heuristic's order; `algorithm` picks one of them (default 0: its best).
      const int want = d.Has("algorithm") ? i32("algorithm") : 0;
      int pick = -1;
      usable = 0;
      for (int i = 0; i < found; ++i) {
        if (results[i].state == 0 && results[i].workspaceSize <= ws) {
          if (usable == want) pick = i;
          ++usable;
        }
      }
      if (usable > 0 && pick < 0) {
        throw Napi::RangeError::New(env, "algorithm " + std::to_string(want) + " is out of range: the heuristic offers " +
                                             std::to_string(usable) + " usable algorithms (0 … " +
                                             std::to_string(usable - 1) + ")");
      }
      if (pick < 0) {
        Napi::Error e = Napi::Error::New(env, "cuBLASLt has no algorithm for this GEMM (" + std::to_string(found) +
                                                  " heuristic results, none usable)");
        e.Set("code", Napi::String::New(env, "CUTREC_GEMM_NO_ALGORITHM"));
        throw e;
      }
      algo = results[pick].algo;
      workspaceNeeded = results[pick].workspaceSize;
      live = true;
    } catch (...) {
      Release();
      throw;
    }
  }

  static uint64_t Ptr(Napi::Env env, Napi::Value v, const char* what) {
    if (v.IsBigInt()) {
      bool lossless = true;
      return v.As<Napi::BigInt>().Uint64Value(&lossless);
    }
    if (v.IsNumber()) return static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue());
    if (v.IsUndefined() || v.IsNull()) return 0;
    throw Napi::TypeError::New(env, std::string("GemmPlan.run: ") + what + " must be a device address (bigint)");
  }
  void Aligned(Napi::Env env, uint64_t p, const char* what) {
    if (p % alignment != 0) {
      throw Napi::RangeError::New(env, std::string("GemmPlan.run: ") + what + " (0x" + [&] {
        char b[32];
        snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(p));
        return std::string(b);
      }() + ") is not aligned to the plan's " + std::to_string(alignment) + " bytes");
    }
  }

  // run(a, b, c, d, bias, alpha, beta, stream)
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!live) throw Napi::Error::New(env, "the GemmPlan was destroyed");
    uint64_t a = Ptr(env, info[0], "a"), b = Ptr(env, info[1], "b"), c = Ptr(env, info[2], "c");
    uint64_t d = Ptr(env, info[3], "d");
    if (!d) d = c;
    uint64_t bias = Ptr(env, info[4], "bias");
    if (!a || !b || !c) throw Napi::TypeError::New(env, "GemmPlan.run: a, b and c are required");
    Aligned(env, a, "a");
    Aligned(env, b, "b");
    Aligned(env, c, "c");
    Aligned(env, d, "d");
    if (hasBias) {
      if (!bias) throw Napi::TypeError::New(env, "GemmPlan.run: this plan adds a bias, pass `bias`");
      Aligned(env, bias, "bias");
      const void* bp = reinterpret_cast<const void*>(static_cast<uintptr_t>(bias));
      CKLT(env, lt.cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof(bp)));
    } else if (bias) {
      throw Napi::TypeError::New(env, "GemmPlan.run: this plan has no bias (desc.bias is unset)");
    }
    const float alpha = info[5].IsUndefined() ? 1.0f : info[5].As<Napi::Number>().FloatValue();
    const float beta = info[6].IsUndefined() ? 0.0f : info[6].As<Napi::Number>().FloatValue();
    CUstream stream = StreamArg(env, info.Length() > 7 ? info[7] : env.Undefined());
    owner->Use(env);
    CheckLt(env,
            lt.cublasLtMatmul(owner->ltHandle, op, &alpha, reinterpret_cast<const void*>(a), la,
                              reinterpret_cast<const void*>(b), lb, &beta, reinterpret_cast<const void*>(c), lc,
                              reinterpret_cast<void*>(d), lc, &algo, reinterpret_cast<void*>(owner->ltWorkspace),
                              owner->ltWorkspaceBytes, stream),
            "cublasLtMatmul");
    return env.Undefined();
  }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }
  Napi::Value WorkspaceBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(workspaceNeeded));
  }
  Napi::Value Algorithms(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), usable); }
};
Napi::FunctionReference GemmPlan::ctor;

// ---- module functions ----
static Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  bool ok = LoadDriver();
  o.Set("available", Napi::Boolean::New(env, ok));
  o.Set("reason", Napi::String::New(env, ok ? "" : drv.reason));
  o.Set("driverVersion", Napi::Number::New(env, drv.version));
  return o;
}

static Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireDriver(env);
  int n = 0;
  CK(env, drv.cuDeviceGetCount(&n));
  return Napi::Number::New(env, n);
}

static Napi::Value DeviceProps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireDriver(env);
  int ordinal = info[0].As<Napi::Number>().Int32Value();
  CUdevice d = GetDevice(env, ordinal);
  char name[256] = {0};
  CK(env, drv.cuDeviceGetName(name, sizeof(name) - 1, d));
  size_t total = 0;
  CK(env, drv.cuDeviceTotalMem(&total, d));
  auto attr = [&](int a) {
    int v = 0;
    Check(env, drv.cuDeviceGetAttribute(&v, a, d), "cuDeviceGetAttribute");
    return v;
  };
  Napi::Object o = Napi::Object::New(env);
  o.Set("ordinal", ordinal);
  o.Set("name", name);
  o.Set("major", attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR));
  o.Set("minor", attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
  o.Set("smCount", attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT));
  o.Set("totalMemory", Napi::Number::New(env, static_cast<double>(total)));
  o.Set("l2Bytes", attr(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE));
  o.Set("maxThreadsPerBlock", attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK));
  o.Set("sharedMemoryPerBlockOptin", attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN));
  o.Set("sharedMemoryPerSm", attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR));
  o.Set("clockKHz", attr(CU_DEVICE_ATTRIBUTE_CLOCK_RATE));
  o.Set("memoryClockKHz", attr(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE));
  o.Set("memoryBusWidth", attr(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH));
  o.Set("pciBusId", attr(CU_DEVICE_ATTRIBUTE_PCI_BUS_ID));
  return o;
}

// firstOutside(values: Int32Array, lo, hi, except): the index of the first value outside [lo, hi]
// that is not `except`, or -1. One branch-free pass the compiler vectorises (the batch id check of
// a training step: 2 × 131,072 ids at ML-20M's shape), then a scalar pass only where one is bad.
static Napi::Value FirstOutside(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, "firstOutside(values, lo, hi, except): values must be an Int32Array");
  }
  Napi::Int32Array a = info[0].As<Napi::Int32Array>();
  const int32_t lo = info[1].As<Napi::Number>().Int32Value();
  const int32_t hi = info[2].As<Napi::Number>().Int32Value();
  const int32_t except = info[3].As<Napi::Number>().Int32Value();
  const int32_t* v = a.Data();
  const size_t n = a.ElementLength();
  const uint32_t span = static_cast<uint32_t>(hi) - static_cast<uint32_t>(lo);
  auto bad = [&](int32_t x) {
    return (static_cast<uint32_t>(x) - static_cast<uint32_t>(lo) > span) & (x != except);
  };
  uint32_t any = 0;
  for (size_t i = 0; i < n; i++) any |= static_cast<uint32_t>(bad(v[i]));
  if (any) {
    for (size_t i = 0; i < n; i++) {
      if (bad(v[i])) return Napi::Number::New(env, static_cast<double>(i));
    }
  }
  return Napi::Number::New(env, -1);
}

static Napi::Value MeterRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("current", Napi::Number::New(env, static_cast<double>(meter.current)));
  o.Set("peak", Napi::Number::New(env, static_cast<double>(meter.peak)));
  return o;
}

static Napi::Value MeterResetPeak(const Napi::CallbackInfo& info) {
  meter.peak = meter.current;
  return info.Env().Undefined();
}

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  exports.Set("Context", Context::Init(env));
  exports.Set("DeviceMemory", DeviceMemory::Init(env));
  exports.Set("Stream", Stream::Init(env));
  exports.Set("Event", Event::Init(env));
  exports.Set("Module", Module::Init(env));
  exports.Set("Kernel", Kernel::Init(env));
  exports.Set("HostMemory", HostMemory::Init(env));
  exports.Set("Graph", Graph::Init(env));
  exports.Set("GemmPlan", GemmPlan::Init(env));
  exports.Set("cublasLtLoad", Napi::Function::New(env, CublasLtLoad));
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("deviceCount", Napi::Function::New(env, DeviceCount));
  exports.Set("deviceProps", Napi::Function::New(env, DeviceProps));
  exports.Set("meterRead", Napi::Function::New(env, MeterRead));
  exports.Set("meterResetPeak", Napi::Function::New(env, MeterResetPeak));
  exports.Set("firstOutside", Napi::Function::New(env, FirstOutside));
  return exports;
}

NODE_API_MODULE(cutrec_cuda, InitAll)
