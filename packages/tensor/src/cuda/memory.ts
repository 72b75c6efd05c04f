import type { MemoryReading } from '../memory.js';
import { CudaContext } from './device.js';
import { type NativeHostMemory, type NativeMemory, nativeAddon } from './native.js';
import type { CudaStream } from './stream.js';

/** Element types of CUDA tensors. */
export type CudaDtype = 'float32' | 'float16' | 'bfloat16' | 'int32' | 'uint32';

/** Bytes per element of a CUDA dtype. */
export function cudaDtypeBytes(dtype: CudaDtype): number {
  return dtype === 'float16' || dtype === 'bfloat16' ? 2 : 4;
}

/**
 * Pinned (page-locked) host memory from cuMemHostAlloc, the host side of
 * {@link DeviceBuffer.uploadAsync} / {@link DeviceBuffer.downloadAsync}. {@link HostBuffer.arrayBuffer}
 * is an ArrayBuffer over the pinned bytes themselves: `new Int32Array(hb.arrayBuffer)` reads and
 * writes them with no copy. Freed by {@link HostBuffer.free} (which detaches the ArrayBuffer, so
 * views of it become empty rather than dangling) or once both this object and its ArrayBuffer have
 * been collected.
 */
export class HostBuffer {
  /** @internal the addon's host memory object */
  readonly native: NativeHostMemory;
  readonly context: CudaContext;

  /** Allocates `bytes` bytes of pinned host memory (uninitialised) for `context` (default: device 0). */
  constructor(bytes: number, context: CudaContext = CudaContext.get()) {
    if (!Number.isInteger(bytes) || bytes < 0)
      throw new RangeError(`bytes must be an integer ≥ 0, got ${bytes}`);
    this.context = context;
    const { addon } = nativeAddon();
    if (!addon) throw new Error('CUDA unavailable: the cutrec_cuda addon is not built');
    this.native = new addon.HostMemory(context.native, bytes);
  }

  /** Size in bytes. */
  get bytes(): number {
    return this.native.bytes;
  }

  /** The pinned bytes as an (external) ArrayBuffer; the same object on every call until freed. */
  get arrayBuffer(): ArrayBuffer {
    return this.native.arrayBuffer;
  }

  /** Whether {@link free} was called. */
  get freed(): boolean {
    return this.native.freed;
  }

  /** Frees the pinned memory now (idempotent). Queued async copies using it must have finished. */
  free(): void {
    this.native.free();
  }
}

/** Ranges of {@link DeviceBuffer.uploadAsync} and {@link DeviceBuffer.downloadAsync}, in bytes. */
export interface HostCopyOptions {
  /** Byte offset in the host buffer (default 0). */
  hostOffset?: number;
  /** Byte offset in the device buffer (default 0). */
  deviceOffset?: number;
  /** Bytes to copy (default: as many as both buffers hold from their offsets). */
  bytes?: number;
  /** The stream the copy is queued on (default: the legacy default stream). */
  stream?: CudaStream | null;
}

/**
 * Device memory: `bytes` bytes in one context, freed by {@link DeviceBuffer.free} or when this object
 * is garbage-collected. `write`/`read`/`copyFrom` are synchronous and wait for the context's queued
 * work first; `fill32` with a stream, `copyFromAsync`, `uploadAsync` and `downloadAsync` are only
 * queued on their stream (no synchronisation) and can be captured into a {@link CudaGraph}.
 */
export class DeviceBuffer {
  /** @internal the addon's memory object */
  readonly native: NativeMemory;
  readonly context: CudaContext;

  /** Allocates `bytes` bytes (uninitialised) in `context` (default: device 0). */
  constructor(bytes: number, context: CudaContext = CudaContext.get()) {
    if (!Number.isInteger(bytes) || bytes < 0)
      throw new RangeError(`bytes must be an integer ≥ 0, got ${bytes}`);
    this.context = context;
    const { addon } = nativeAddon();
    if (!addon) throw new Error('CUDA unavailable: the cutrec_cuda addon is not built');
    this.native = new addon.DeviceMemory(context.native, bytes);
  }

  /** A new buffer holding a copy of `data`. */
  static from(data: ArrayBufferView | ArrayBuffer, context?: CudaContext): DeviceBuffer {
    const b = new DeviceBuffer(data.byteLength, context);
    b.write(data);
    return b;
  }

  /** Size in bytes. */
  get bytes(): number {
    return this.native.bytes;
  }

  /** The device address (CUdeviceptr) as a bigint. */
  get address(): bigint {
    return this.native.address;
  }

  /** Whether {@link free} was called. */
  get freed(): boolean {
    return this.native.freed;
  }

  /** Copies host bytes into the buffer at `offset` bytes; large copies go through pinned staging. */
  write(data: ArrayBufferView | ArrayBuffer, offset = 0): void {
    this.native.upload(data, offset);
  }

  /** Copies `into.byteLength` bytes from `offset` into `into`, and returns it. */
  read<T extends ArrayBufferView>(into: T, offset = 0): T {
    this.native.download(into, offset);
    return into;
  }

  /** The whole buffer (or `count` elements from `offset` bytes) as a Float32Array. */
  readFloat32(count = Math.floor(this.bytes / 4), offset = 0): Float32Array {
    return this.read(new Float32Array(count), offset);
  }

  /**
   * Sets `count` 32-bit words from byte `offset` to `value` (a u32 bit pattern; 0x7fc00000 is NaN),
   * queued with cuMemsetD32Async on `stream` (default: the legacy default stream); no synchronisation.
   */
  fill32(value: number, offset = 0, count?: number, stream?: CudaStream | null): void {
    this.native.fill32(value >>> 0, offset, count, stream?.native ?? null);
  }

  /**
   * Queues a device → device copy of `bytes` bytes from `src` at `srcOffset` to this buffer at
   * `dstOffset` on `stream` (cuMemcpyDtoDAsync); no synchronisation.
   */
  copyFromAsync(
    src: DeviceBuffer,
    dstOffset = 0,
    srcOffset = 0,
    bytes: number = src.bytes - srcOffset,
    stream: CudaStream | null = null,
  ): void {
    this.native.copyFromAsync(src.native, dstOffset, srcOffset, bytes, stream?.native ?? null);
  }

  /**
   * Queues a copy from pinned `host` memory into this buffer on the stream (cuMemcpyHtoDAsync); no
   * synchronisation: the host bytes must stay unchanged until the copy has run. The stream may be
   * given in `options` or as the third argument.
   */
  uploadAsync(host: HostBuffer, options: HostCopyOptions = {}, stream?: CudaStream | null): void {
    const s = stream ?? options.stream ?? null;
    this.native.uploadAsync(
      host.native,
      options.hostOffset ?? 0,
      options.deviceOffset ?? 0,
      options.bytes,
      s?.native ?? null,
    );
  }

  /**
   * Queues a copy from this buffer into pinned `host` memory on the stream (cuMemcpyDtoHAsync); no
   * synchronisation: wait on the stream or an event before reading the host bytes.
   */
  downloadAsync(host: HostBuffer, options: HostCopyOptions = {}, stream?: CudaStream | null): void {
    const s = stream ?? options.stream ?? null;
    this.native.downloadAsync(
      host.native,
      options.hostOffset ?? 0,
      options.deviceOffset ?? 0,
      options.bytes,
      s?.native ?? null,
    );
  }

  /** Copies `bytes` bytes from `src` at `srcOffset` to this buffer at `dstOffset`, on the device. */
  copyFrom(src: DeviceBuffer, dstOffset = 0, srcOffset = 0, bytes = src.bytes - srcOffset): void {
    this.native.copyFrom(src.native, dstOffset, srcOffset, bytes);
  }

  /** Frees the memory now (idempotent); using the buffer afterwards throws. */
  free(): void {
    this.native.free();
  }
}

/** A typed view of device memory: a tensor on a CUDA device. */
export interface CudaTensor {
  buffer: DeviceBuffer;
  shape: number[];
  dtype: CudaDtype;
}

/** Copies host data into a new {@link CudaTensor}; `data`'s byte length must match shape × dtype. */
export function cudaTensor(
  data: ArrayBufferView,
  shape: number[],
  dtype: CudaDtype,
  context?: CudaContext,
): CudaTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const want = n * cudaDtypeBytes(dtype);
  if (data.byteLength !== want) {
    throw new RangeError(`data has ${data.byteLength} bytes but shape [${shape}] of ${dtype} needs ${want}`);
  }
  return { buffer: DeviceBuffer.from(data, context), shape: [...shape], dtype };
}

/** Current and peak bytes of CUDA device memory allocated through cutrec (all contexts). */
export interface CudaMemoryMeter {
  read(): MemoryReading;
  /** Starts a new peak from the current use. */
  resetPeak(): void;
}

/** The meter of device memory cutrec's CUDA bridge holds; reads zeros where CUDA is unavailable. */
export function cudaMemoryMeter(): CudaMemoryMeter {
  return {
    read() {
      const { addon } = nativeAddon();
      return addon ? addon.meterRead() : { current: 0, peak: 0 };
    },
    resetPeak() {
      nativeAddon().addon?.meterResetPeak();
    },
  };
}
