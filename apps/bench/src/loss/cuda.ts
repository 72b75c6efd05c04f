/**
 * impl 'cuda' in the loss benchmark: the fused CUDA kernels on device tensors (no host copies),
 * timed with CUDA events, memory from cutrec's CUDA meter.
 */
import { cudaCceBackward, cudaCceForward } from '@cutrec/kernels';
import { CudaContext, type CudaTensor, cudaMemoryMeter, DeviceBuffer, packBf16 } from '@cutrec/tensor';
import type { BenchShare } from '../formulas.js';
import type { LossShape } from '../shapes.js';
import { cudaTime } from '../timing/cuda-timer.js';
import { caseRepeats } from './repeats.js';

/** Input element types the CUDA benchmark runs. */
export type CudaBenchDtype = 'float32' | 'bfloat16';

/** Device inputs for one shape and dtype, plus preallocated gradient outputs. */
export interface CudaInputs {
  hidden: CudaTensor;
  items: CudaTensor;
  targets: CudaTensor;
  dLoss: DeviceBuffer;
  dHidden: DeviceBuffer;
  dItems: DeviceBuffer;
  free(): void;
}

/** A device buffer of `count` normal(0, scale²) values in `dtype` (a 1M-value random block repeated at rotating offsets). */
function randomBuffer(ctx: CudaContext, count: number, dtype: CudaBenchDtype, scale: number): DeviceBuffer {
  const block = 1 << 20;
  const host = new Float32Array(block + 997);
  for (let i = 0; i < host.length; i++) {
    const u = Math.max(Math.random(), 1e-12);
    host[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  }
  const packed = dtype === 'bfloat16' ? packBf16(host) : host;
  const elt = dtype === 'bfloat16' ? 2 : 4;
  const buf = new DeviceBuffer(count * elt, ctx);
  for (let off = 0, k = 0; off < count; off += block, k++) {
    const n = Math.min(block, count - off);
    const start = (k * 131) % 997;
    buf.write(packed.subarray(start, start + n), off * elt);
  }
  return buf;
}

/** Random hidden/items, uniform targets, dLoss = 1/N, and float32 gradient outputs on CUDA device 0. */
export function cudaInputs(shape: LossShape, dtype: CudaBenchDtype): CudaInputs {
  const ctx = CudaContext.get();
  const { N, C, D } = shape;
  const targetsHost = Int32Array.from({ length: N }, () => Math.floor(Math.random() * C));
  const made: DeviceBuffer[] = [];
  const keep = (b: DeviceBuffer) => {
    made.push(b);
    return b;
  };
  try {
    const hidden = { buffer: keep(randomBuffer(ctx, N * D, dtype, 0.5)), shape: [N, D], dtype };
    const items = { buffer: keep(randomBuffer(ctx, C * D, dtype, 0.05)), shape: [C, D], dtype };
    const targets = {
      buffer: keep(DeviceBuffer.from(targetsHost, ctx)),
      shape: [N],
      dtype: 'int32' as const,
    };
    const dLoss = keep(DeviceBuffer.from(new Float32Array(N).fill(1 / N), ctx));
    const dHidden = keep(new DeviceBuffer(N * D * 4, ctx));
    const dItems = keep(new DeviceBuffer(C * D * 4, ctx));
    return {
      hidden,
      items,
      targets,
      dLoss,
      dHidden,
      dItems,
      free: () => {
        for (const b of made) b.free();
      },
    };
  } catch (err) {
    for (const b of made) b.free();
    throw err;
  }
}

/** Times and meters forward+backward on CUDA: `warmup` untimed passes, then `repeats` timed ones (a fresh step each). */
export function runCudaCase(
  inputs: CudaInputs,
  share: BenchShare,
  shape: LossShape,
  blockRows: number,
  warmup: number,
  repeats: number,
  seed: number,
  caseSeconds = 30,
): { times: number[]; peakBytes: number; kernels: string } {
  const ctx = CudaContext.get();
  const meter = cudaMemoryMeter();
  const options = {
    negatives: share === 'all' ? ('all' as const) : shape.K,
    ...(share === 'all' ? {} : { share }),
    blockRows,
    seed,
  };
  let kernels = '';
  const once = (step: number) => {
    const o = { ...options, step };
    const f = cudaCceForward(inputs.hidden, inputs.items, inputs.targets, o);
    const b = cudaCceBackward(
      inputs.hidden,
      inputs.items,
      inputs.targets,
      f.lse,
      inputs.dLoss,
      o,
      {},
      {
        dHidden: inputs.dHidden,
        dItems: inputs.dItems,
      },
    );
    kernels = `${f.kernel} + ${b.kernel}`;
    return f;
  };
  const gradBytes = inputs.dHidden.bytes + inputs.dItems.bytes;
  ctx.synchronize();
  const before = meter.read().current;
  meter.resetPeak();
  let peak = 0;
  const t0 = performance.now();
  const first = once(0);
  ctx.synchronize();
  peak = Math.max(peak, meter.read().peak - before);
  first.loss.free();
  first.lse.free();
  const plan = caseRepeats({ warmup, repeats, caseSeconds }, (performance.now() - t0) / 1e3);
  for (let i = 1; i < plan.warmup; i++) {
    const f = once(i);
    ctx.synchronize();
    peak = Math.max(peak, meter.read().peak - before);
    f.loss.free();
    f.lse.free();
  }
  const times: number[] = [];
  for (let i = 0; i < plan.repeats; i++) {
    let f: ReturnType<typeof once> | undefined;
    times.push(cudaTime(() => (f = once(1000 + i)), ctx));
    peak = Math.max(peak, meter.read().peak - before);
    f?.loss.free();
    f?.lse.free();
  }
  // Gradient outputs are preallocated (as a training loop would); count them like the tfjs rows do.
  return { times, peakBytes: peak + gradBytes, kernels };
}
