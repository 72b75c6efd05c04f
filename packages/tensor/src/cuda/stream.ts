import { CudaContext, requireCuda } from './device.js';
import type { NativeEvent, NativeStream } from './native.js';

/** A CUDA stream: work queued on it runs in order. */
export class CudaStream {
  /** @internal */
  readonly native: NativeStream;

  /** A new stream in `context`; `nonBlocking` streams do not wait for the legacy default stream. */
  constructor(context: CudaContext = CudaContext.get(), nonBlocking = false) {
    this.native = new (requireCuda().Stream)(context.native, nonBlocking);
  }

  /** Waits until all work queued on the stream has finished. */
  synchronize(): void {
    this.native.synchronize();
  }

  /** Destroys the stream now (otherwise when collected). */
  destroy(): void {
    this.native.destroy();
  }
}

/** A CUDA event, for ordering and timing: `start.elapsedMs(end)`. */
export class CudaEvent {
  /** @internal */
  readonly native: NativeEvent;

  constructor(context: CudaContext = CudaContext.get()) {
    this.native = new (requireCuda().Event)(context.native);
  }

  /** Records the event on `stream` (default: the legacy default stream). */
  record(stream?: CudaStream | null): this {
    this.native.record(stream?.native ?? null);
    return this;
  }

  /** Waits for the event. */
  synchronize(): void {
    this.native.synchronize();
  }

  /** Milliseconds from this event to `end` (waits for `end`). */
  elapsedMs(end: CudaEvent): number {
    return this.native.elapsedMs(end.native);
  }

  destroy(): void {
    this.native.destroy();
  }
}
