import * as tf from '@tensorflow/tfjs';
import { webgpuBackend } from './setup.js';

/** The internal record tfjs's WebGPU backend keeps per tensor (the fields cutrec uses). */
interface WebGPUTensorData {
  dtype: tf.DataType;
  shape: number[];
  resource: GPUBuffer | GPUTexture | null;
  values: unknown;
}

interface BackendInternals {
  tensorMap: { get(dataId: object): WebGPUTensorData | undefined };
  uploadToGPU(dataId: object): void;
  submitQueue(): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  device: GPUDevice;
}

function internals(): BackendInternals {
  return webgpuBackend() as unknown as BackendInternals;
}

/**
 * The `GPUBuffer` that holds a tfjs tensor on the WebGPU backend: tfjs's own buffer, no copy.
 * Work tfjs has queued is submitted first, so commands the caller submits next see its result.
 * The buffer stays valid while the tensor lives; its size may exceed the tensor's bytes.
 */
export function tensorBuffer(t: tf.Tensor): GPUBuffer {
  const be = internals();
  be.uploadToGPU(t.dataId);
  const data = be.tensorMap.get(t.dataId);
  const resource = data?.resource;
  if (!resource || !(resource instanceof GPUBuffer)) {
    throw new Error('tensorBuffer: the tensor is not held in a GPUBuffer (was it made on another backend?)');
  }
  flush(be);
  return resource;
}

function flush(be: BackendInternals): void {
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  be.submitQueue();
}

/**
 * Submits the work tfjs's WebGPU backend has recorded but not yet submitted, so that commands
 * submitted next on the same device queue run after it.
 */
export function flushTfjs(): void {
  flush(internals());
}

/** Options of {@link tensorFromBuffer}. */
export interface TensorFromBufferOptions {
  /** false (default): the tensor is a view of `buffer` (no copy; the caller keeps the buffer alive and destroys it). true: tfjs copies it. */
  copy?: boolean;
}

/**
 * A tfjs tensor over a `GPUBuffer` (usage must include STORAGE and COPY_SRC). By default no copy is
 * made: a write through either is seen through the other.
 */
export function tensorFromBuffer<R extends tf.Rank>(
  buffer: GPUBuffer,
  shape: tf.ShapeMap[R],
  dtype: 'float32' | 'int32' = 'float32',
  options: TensorFromBufferOptions = {},
): tf.Tensor<R> {
  webgpuBackend();
  return tf.tensor({ buffer, zeroCopy: options.copy !== true }, shape, dtype) as tf.Tensor<R>;
}

/**
 * A new tfjs-owned tensor and its `GPUBuffer`, for a kernel of ours to write: tfjs owns and pools
 * the memory (so its meters count it) and frees it when the tensor is disposed. Contents are
 * undefined until written.
 */
export function allocTensor<R extends tf.Rank>(
  shape: tf.ShapeMap[R],
  dtype: 'float32' | 'int32' = 'float32',
): { tensor: tf.Tensor<R>; buffer: GPUBuffer } {
  const be = internals();
  const info = be.makeTensorInfo(shape as number[], dtype);
  be.uploadToGPU(info.dataId);
  const buffer = be.tensorMap.get(info.dataId)?.resource as GPUBuffer;
  const tensor = tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
  return { tensor, buffer };
}
