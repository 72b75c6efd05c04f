// AdamW over one flat parameter buffer (src/ops/adamw/reference.ts is the oracle): the global
// gradient norm Σg², the update with clipping and the learning-rate schedule evaluated on the
// device from the step counter (*step = updates completed), and the step counter's increment.
// Everything a step changes is read from device memory, so the whole step can be a CUDA graph.
#include "common.cuh"

// The constants of an update, passed by value (packed by cuda.ts packAdamwArgs).
struct AdamwArgs {
  double lr;            // peak learning rate
  double min_ratio;     // schedule floor as a fraction of the peak
  double beta1, beta2;  // for the bias corrections 1 − β^t (in double)
  double weight_decay;
  float eps;
  float clip_norm;  // 0: no clipping
  uint32_t kind;    // 0 constant, 1 cosine, 2 linear
  uint32_t warmup;  // warmup steps
  uint32_t total;   // total steps (cosine, linear)
  uint32_t pad;
};
static_assert(sizeof(AdamwArgs) == 64 && offsetof(AdamwArgs, eps) == 40 && offsetof(AdamwArgs, kind) == 48,
              "AdamwArgs layout changed: update src/ops/adamw/cuda.ts");

// learningRate(lr, schedule, step) of schedule.ts, in double.
__device__ __forceinline__ double adamw_lr(const AdamwArgs& a, uint32_t step) {
  const double s = (double)step;
  if (step < a.warmup) return a.lr * (s + 1.0) / (double)a.warmup;
  if (a.kind == 0u) return a.lr;
  const double min_lr = a.lr * a.min_ratio;
  const double progress = fmin(1.0, (s - (double)a.warmup) / ((double)a.total - (double)a.warmup));
  const double shape = a.kind == 1u ? 0.5 * (1.0 + cos(3.141592653589793 * progress)) : 1.0 - progress;
  return min_lr + (a.lr - min_lr) * shape;
}

// Block sum of one float per thread (blockDim.x a multiple of 32, ≤ 1024); thread 0 gets it.
__device__ __forceinline__ float adamw_block_sum(float x) {
  __shared__ float warp_sums[32];
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_sums[warp] = x;
  __syncthreads();
  x = threadIdx.x < (blockDim.x >> 5) ? warp_sums[threadIdx.x] : 0.f;
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// *out = 0 (one thread), queued before adamw_norm_f32's atomics.
extern "C" __global__ void adamw_zero_f32(float* __restrict__ out) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *out = 0.f;
}

// *out += Σ g[i]², i < n (grid-stride, float4 loads when g is 16-byte aligned).
extern "C" __global__ void adamw_norm_f32(const float* __restrict__ g, uint64_t n, float* __restrict__ out) {
  const uint64_t tid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  float s = 0.f;
  uint64_t done = 0;
  if ((reinterpret_cast<uintptr_t>(g) & 15u) == 0) {
    const uint64_t n4 = n >> 2;
    const float4* g4 = reinterpret_cast<const float4*>(g);
    for (uint64_t i = tid; i < n4; i += stride) {
      const float4 x = g4[i];
      s = fmaf(x.x, x.x, s);
      s = fmaf(x.y, x.y, s);
      s = fmaf(x.z, x.z, s);
      s = fmaf(x.w, x.w, s);
    }
    done = n4 << 2;
  }
  for (uint64_t i = done + tid; i < n; i += stride) s = fmaf(g[i], g[i], s);
  s = adamw_block_sum(s);
  if (threadIdx.x == 0) atomicAdd(out, s);
}

// The per-step scalars, from *step and *norm_sq.
struct AdamwCoefs {
  float lr, lr_wd, b1, omb1, b2, omb2, inv_bc1, inv_bc2, eps, scale;
};

__device__ __forceinline__ AdamwCoefs adamw_coefs(const AdamwArgs& a, const uint32_t* step,
                                                   const float* norm_sq) {
  const uint32_t s = *step;
  const double t = (double)s + 1.0;
  const double lr = adamw_lr(a, s);
  AdamwCoefs c;
  c.lr = (float)lr;
  c.lr_wd = (float)(lr * a.weight_decay);
  c.b1 = (float)a.beta1;
  c.omb1 = (float)(1.0 - a.beta1);
  c.b2 = (float)a.beta2;
  c.omb2 = (float)(1.0 - a.beta2);
  c.inv_bc1 = (float)(1.0 / (1.0 - pow(a.beta1, t)));
  c.inv_bc2 = (float)(1.0 / (1.0 - pow(a.beta2, t)));
  c.eps = a.eps;
  c.scale = 1.f;
  if (a.clip_norm > 0.f) c.scale = fminf(1.f, a.clip_norm / (sqrtf(*norm_sq) + 1e-12f));
  return c;
}

// One element: updates m, v in place and returns the new parameter.
__device__ __forceinline__ float adamw_elem(const AdamwCoefs& c, float p, float g, float& m, float& v, bool decay) {
  g *= c.scale;
  m = fmaf(c.b1, m, c.omb1 * g);
  v = fmaf(c.b2, v, c.omb2 * g * g);
  const float update = (m * c.inv_bc1) / (sqrtf(v * c.inv_bc2) + c.eps);
  return p - c.lr * update - (decay ? c.lr_wd * p : 0.f);
}

// params, m, v [n] updated in place from grads [n]; elements [0, n_decay) get weight decay;
// params_bf16 (nullable) receives the new parameters as bf16. float4 path when everything is aligned.
extern "C" __global__ void adamw_update_f32(float* __restrict__ params, const float* __restrict__ grads,
                                            float* __restrict__ m, float* __restrict__ v,
                                            __nv_bfloat16* __restrict__ params_bf16, uint64_t n, uint64_t n_decay,
                                            const uint32_t* __restrict__ step, const float* __restrict__ norm_sq,
                                            AdamwArgs a) {
  const AdamwCoefs c = adamw_coefs(a, step, norm_sq);
  const uint64_t tid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  const uintptr_t mis = (reinterpret_cast<uintptr_t>(params) | reinterpret_cast<uintptr_t>(grads) |
                         reinterpret_cast<uintptr_t>(m) | reinterpret_cast<uintptr_t>(v)) & 15u;
  const bool bf_ok = params_bf16 == nullptr || (reinterpret_cast<uintptr_t>(params_bf16) & 7u) == 0;
  uint64_t done = 0;
  if (mis == 0 && bf_ok) {
    const uint64_t n4 = n >> 2;
    for (uint64_t q = tid; q < n4; q += stride) {
      const uint64_t i = q << 2;
      float4 p = reinterpret_cast<float4*>(params)[q];
      const float4 g = reinterpret_cast<const float4*>(grads)[q];
      float4 mm = reinterpret_cast<float4*>(m)[q];
      float4 vv = reinterpret_cast<float4*>(v)[q];
      p.x = adamw_elem(c, p.x, g.x, mm.x, vv.x, i < n_decay);
      p.y = adamw_elem(c, p.y, g.y, mm.y, vv.y, i + 1 < n_decay);
      p.z = adamw_elem(c, p.z, g.z, mm.z, vv.z, i + 2 < n_decay);
      p.w = adamw_elem(c, p.w, g.w, mm.w, vv.w, i + 3 < n_decay);
      reinterpret_cast<float4*>(params)[q] = p;
      reinterpret_cast<float4*>(m)[q] = mm;
      reinterpret_cast<float4*>(v)[q] = vv;
      if (params_bf16) {
        __nv_bfloat162 lo = __floats2bfloat162_rn(p.x, p.y);
        __nv_bfloat162 hi = __floats2bfloat162_rn(p.z, p.w);
        uint2 bits;
        bits.x = *reinterpret_cast<uint32_t*>(&lo);
        bits.y = *reinterpret_cast<uint32_t*>(&hi);
        reinterpret_cast<uint2*>(params_bf16)[q] = bits;
      }
    }
    done = n4 << 2;
  }
  for (uint64_t i = done + tid; i < n; i += stride) {
    float mm = m[i], vv = v[i];
    const float p = adamw_elem(c, params[i], grads[i], mm, vv, i < n_decay);
    params[i] = p;
    m[i] = mm;
    v[i] = vv;
    if (params_bf16) params_bf16[i] = __float2bfloat16_rn(p);
  }
}

// *step += 1 (one thread).
extern "C" __global__ void adamw_step_u32(uint32_t* __restrict__ step) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *step += 1u;
}
