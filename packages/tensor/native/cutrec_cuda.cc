// cutrec_cuda: a Node-API bridge to the CUDA driver. libcuda.so.1 is opened with dlopen at run
// time, so this builds on any machine and says "CUDA unavailable: <reason>" where there is no
// driver. Every driver call is checked; a failure throws a JS Error carrying cuGetErrorName.
#include <dlfcn.h>
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

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

  // fill32(value u32, offsetBytes = 0, count = rest): sets 32-bit words (e.g. NaN poison, zeros).
  Napi::Value Fill32(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env);
    uint32_t value = static_cast<uint32_t>(NumberArg(env, info, 0, 0));
    double off = NumberArg(env, info, 1, 0);
    double count = NumberArg(env, info, 2, (static_cast<double>(bytes) - off) / 4);
    if (static_cast<size_t>(off) % 4 != 0) throw Napi::RangeError::New(env, "fill32: offset must be a multiple of 4");
    Range(env, off, count * 4, "fill32");
    owner->Use(env);
    if (count > 0) CK(env, drv.cuMemsetD32Async(ptr + static_cast<size_t>(off), value, static_cast<size_t>(count), nullptr));
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
  Napi::Value Synchronize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    owner->Use(env);
    CK(env, drv.cuStreamSynchronize(stream));
    return env.Undefined();
  }
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
                                    InstanceMethod("destroy", &Event::Destroy)});
    ctor = Napi::Persistent(f);
    return f;
  }
  explicit Event(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Event>(info) {
    Napi::Env env = info.Env();
    owner = UnwrapContext(env, info[0]);
    ownerRef = Napi::Persistent(info[0].As<Napi::Object>());
    owner->Use(env);
    CK(env, drv.cuEventCreate(&event, CU_EVENT_DEFAULT));
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
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("deviceCount", Napi::Function::New(env, DeviceCount));
  exports.Set("deviceProps", Napi::Function::New(env, DeviceProps));
  exports.Set("meterRead", Napi::Function::New(env, MeterRead));
  exports.Set("meterResetPeak", Napi::Function::New(env, MeterResetPeak));
  return exports;
}

NODE_API_MODULE(cutrec_cuda, InitAll)
