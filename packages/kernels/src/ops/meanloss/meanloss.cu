// The mean of per-row losses over valid rows (targets[i] != ignore_index), written into a ring of
// losses at *step % ring (the host reads it back every few steps without a sync per step), and
// the rows' upstream gradient dValues = 1/count on valid rows, 0 elsewhere. One block of 1024
// threads: a grid-stride sum (double) and count, a block reduction, then a pass writing dValues.
// src/ops/meanloss/reference.ts is the oracle.
#include "common.cuh"

#define MEANLOSS_THREADS 1024

extern "C" __global__ void __launch_bounds__(MEANLOSS_THREADS)
    meanloss_fwd_f32(const float* __restrict__ values, const int32_t* __restrict__ targets, uint32_t N,
                     int32_t ignore_index, float* __restrict__ out, uint32_t ring, const uint32_t* __restrict__ step,
                     float* __restrict__ d_values) {
  __shared__ double s_sum[32];
  __shared__ uint32_t s_count[32];
  __shared__ float s_inv;
  double sum = 0.0;
  uint32_t count = 0;
  for (uint32_t i = threadIdx.x; i < N; i += blockDim.x) {
    if (targets[i] != ignore_index) {
      sum += (double)values[i];
      ++count;
    }
  }
  for (int o = 16; o > 0; o >>= 1) {
    sum += __shfl_xor_sync(0xffffffffu, sum, o);
    count += __shfl_xor_sync(0xffffffffu, count, o);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    s_sum[warp] = sum;
    s_count[warp] = count;
  }
  __syncthreads();
  if (warp == 0) {
    const bool has = lane < (int)(blockDim.x >> 5);
    sum = has ? s_sum[lane] : 0.0;
    count = has ? s_count[lane] : 0u;
    for (int o = 16; o > 0; o >>= 1) {
      sum += __shfl_xor_sync(0xffffffffu, sum, o);
      count += __shfl_xor_sync(0xffffffffu, count, o);
    }
    if (lane == 0) {
      out[*step % ring] = count > 0 ? (float)(sum / (double)count) : 0.f;
      s_inv = count > 0 ? (float)(1.0 / (double)count) : 0.f;
    }
  }
  __syncthreads();
  const float inv = s_inv;
  for (uint32_t i = threadIdx.x; i < N; i += blockDim.x) d_values[i] = targets[i] != ignore_index ? inv : 0.f;
}
