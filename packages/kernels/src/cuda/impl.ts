/**
 * impl 'cuda' for tfjs tensors — the slow bridge: hidden, items and targets are read to the host
 * (dataSync) and copied to the GPU, the fused CUDA kernels run there, and the loss (forward) or
 * the gradients (backward) are copied back into new tfjs tensors. Use it where tfjs runs on the
 * CPU and an NVIDIA GPU sits idle; for speed keep the tensors on the CUDA side and call
 * cudaCceForward / cudaCceBackward directly.
 */
import { CudaContext, type CudaTensor, DeviceBuffer } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import type { CceImplementation, CceOptions, ResolvedCceOptions } from '../options.js';
import { type CudaCallOptions, cudaCceBackward, cudaCceForward } from './cce.js';

/** CUDA settings the 'cuda' implementation passes to every call (see {@link CudaCallOptions}). */
export interface CudaTuning {
  kernel: NonNullable<CudaCallOptions['kernel']>;
  f32Precision: NonNullable<CudaCallOptions['f32Precision']>;
}

const tuning: CudaTuning = { kernel: 'auto', f32Precision: 'tf32x3' };

/** Changes the kernel choice / float32 precision of impl 'cuda'; returns the settings now in force. */
export function setCudaTuning(t: Partial<CudaTuning>): CudaTuning {
  Object.assign(tuning, t);
  return { ...tuning };
}

function toOptions(o: ResolvedCceOptions): CceOptions {
  return {
    negatives: o.negatives,
    share: o.share,
    blockRows: o.blockRows,
    sampler:
      o.sampler === 'popularity' && o.aliasTable ? { kind: 'popularity', table: o.aliasTable } : o.sampler,
    seed: o.seed,
    step: o.step,
    logQ: o.logQ,
    removeAccidentalHits: o.removeAccidentalHits,
    ignoreIndex: o.ignoreIndex,
  };
}

interface Uploaded {
  hidden: CudaTensor;
  items: CudaTensor;
  targets: CudaTensor;
  hostTargets: Int32Array;
  free(): void;
}

function upload(hidden: tf.Tensor2D, items: tf.Tensor2D, targets: tf.Tensor1D): Uploaded {
  const ctx = CudaContext.get();
  const hostTargets = Int32Array.from(targets.dataSync());
  const h = {
    buffer: DeviceBuffer.from(hidden.dataSync() as Float32Array, ctx),
    shape: hidden.shape,
    dtype: 'float32',
  } as const;
  const w = {
    buffer: DeviceBuffer.from(items.dataSync() as Float32Array, ctx),
    shape: items.shape,
    dtype: 'float32',
  } as const;
  const y = {
    buffer: DeviceBuffer.from(hostTargets, ctx),
    shape: [hostTargets.length],
    dtype: 'int32',
  } as const;
  return {
    hidden: { ...h, shape: [...h.shape] },
    items: { ...w, shape: [...w.shape] },
    targets: { ...y, shape: [...y.shape] },
    hostTargets,
    free() {
      h.buffer.free();
      w.buffer.free();
      y.buffer.free();
    },
  };
}

/** The fused CUDA kernels as a CceImplementation over tfjs tensors (copies through the host). */
export const cudaImplementation: CceImplementation = {
  name: 'cuda',
  forward(hidden, items, targets, o) {
    const up = upload(hidden, items, targets);
    try {
      const call = { ...tuning, hostTargets: up.hostTargets };
      const { loss, lse } = cudaCceForward(up.hidden, up.items, up.targets, toOptions(o), call);
      const lossHost = loss.readFloat32(hidden.shape[0]);
      const lseHost = lse.readFloat32(hidden.shape[0]);
      loss.free();
      lse.free();
      return { loss: tf.tensor1d(lossHost), lse: tf.tensor1d(lseHost) };
    } finally {
      up.free();
    }
  },
  backward(hidden, items, targets, lse, dLoss, o) {
    const up = upload(hidden, items, targets);
    const ctx = up.hidden.buffer.context;
    const lseBuf = DeviceBuffer.from(lse.dataSync() as Float32Array, ctx);
    const dLossBuf = DeviceBuffer.from(dLoss.dataSync() as Float32Array, ctx);
    try {
      const call = { ...tuning, hostTargets: up.hostTargets };
      const g = cudaCceBackward(up.hidden, up.items, up.targets, lseBuf, dLossBuf, toOptions(o), call);
      const [N, D] = hidden.shape;
      const C = items.shape[0];
      const dH = g.dHidden.readFloat32(N * D);
      const dW = g.dItems.readFloat32(C * D);
      g.dHidden.free();
      g.dItems.free();
      return { dHidden: tf.tensor2d(dH, [N, D]), dItems: tf.tensor2d(dW, [C, D]) };
    } finally {
      lseBuf.free();
      dLossBuf.free();
      up.free();
    }
  },
};
