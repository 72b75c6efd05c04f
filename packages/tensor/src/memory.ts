import * as tf from '@tensorflow/tfjs';

/** Current and peak bytes on one device; the shape shared by the WebGPU and CUDA meters. */
export interface MemoryReading {
  /** Bytes in use now. */
  current: number;
  /** Most bytes in use at once since the last {@link MemoryMeter.resetPeak}. */
  peak: number;
}

interface TfjsBufferManager {
  numBytesUsed: number;
  acquireBuffer: (...args: unknown[]) => GPUBuffer;
  releaseBuffer: (...args: unknown[]) => void;
}

const hooked = new WeakSet<object>();

/**
 * Counts GPU memory in use on the WebGPU device: the buffers tfjs's WebGPU backend holds for live
 * tensors (not its pool of free buffers) plus cutrec's own buffers made through {@link createBuffer}
 * or registered with {@link track}. The peak is updated on every allocation, so a benchmark reads
 * "peak extra memory of one call" as `peak - current` taken before the call, after a `resetPeak()`.
 */
export class MemoryMeter {
  private own = 0;
  private ownBuffers = new Map<GPUBuffer, number>();
  private peakBytes = 0;
  private tfjsManager: TfjsBufferManager | undefined;

  /** Bytes held by tfjs's WebGPU tensors now (0 when tfjs is not on WebGPU). */
  tfjsBytes(): number {
    this.attachTfjs();
    return this.tfjsManager?.numBytesUsed ?? 0;
  }

  /** Bytes held by buffers cutrec made and tracks. */
  ownBytes(): number {
    return this.own;
  }

  /** Current and peak bytes in use. */
  read(): MemoryReading {
    const current = this.tfjsBytes() + this.own;
    if (current > this.peakBytes) this.peakBytes = current;
    return { current, peak: this.peakBytes };
  }

  /** Starts a new peak from the current use. */
  resetPeak(): void {
    this.peakBytes = 0;
    this.peakBytes = this.read().current;
  }

  /** Counts a buffer cutrec allocated itself until {@link untrack} or {@link destroy}. */
  track(buffer: GPUBuffer): GPUBuffer {
    if (!this.ownBuffers.has(buffer)) {
      this.ownBuffers.set(buffer, buffer.size);
      this.own += buffer.size;
      this.read();
    }
    return buffer;
  }

  /** Stops counting a buffer (it was destroyed elsewhere, or handed over). */
  untrack(buffer: GPUBuffer): void {
    const size = this.ownBuffers.get(buffer);
    if (size !== undefined) {
      this.ownBuffers.delete(buffer);
      this.own -= size;
    }
  }

  /** `device.createBuffer`, counted. */
  createBuffer(device: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
    return this.track(device.createBuffer(descriptor));
  }

  /** Destroys a counted buffer. */
  destroy(buffer: GPUBuffer): void {
    this.untrack(buffer);
    buffer.destroy();
  }

  /** Hooks the active tfjs WebGPU backend's buffer manager (once per backend) so its allocations update the peak. */
  attachTfjs(): void {
    if (tf.getBackend() !== 'webgpu') {
      this.tfjsManager = undefined;
      return;
    }
    const bm = (tf.backend() as unknown as { bufferManager?: TfjsBufferManager }).bufferManager;
    if (!bm || bm === this.tfjsManager) return;
    this.tfjsManager = bm;
    if (hooked.has(bm)) return;
    hooked.add(bm);
    const acquire = bm.acquireBuffer.bind(bm);
    bm.acquireBuffer = (...args: unknown[]) => {
      const b = acquire(...args);
      for (const m of meters) m.read();
      return b;
    };
  }
}

const meters = new Set<MemoryMeter>();
let defaultMeter: MemoryMeter | undefined;

/** The process-wide WebGPU memory meter that cutrec's kernels report their own buffers to. */
export function memoryMeter(): MemoryMeter {
  if (!defaultMeter) {
    defaultMeter = new MemoryMeter();
    meters.add(defaultMeter);
  }
  defaultMeter.attachTfjs();
  return defaultMeter;
}

/**
 * Runs `fn` and returns its result with the peak bytes in use beyond what was in use before it
 * (`peakExtraBytes`) and the bytes still held after it (`retainedBytes`, e.g. its outputs).
 */
export async function measurePeak<T>(
  fn: () => T | Promise<T>,
): Promise<{ result: T; peakExtraBytes: number; retainedBytes: number }> {
  const meter = memoryMeter();
  const before = meter.read().current;
  meter.resetPeak();
  const result = await fn();
  const after = meter.read();
  return { result, peakExtraBytes: after.peak - before, retainedBytes: after.current - before };
}
