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

  /** True when all work queued on the stream has finished, false while some is pending (no wait). */
  query(): boolean {
    return this.native.query();
  }

  /** Makes later work on this stream wait until `event` has completed (cuStreamWaitEvent; no host wait). */
  waitEvent(event: CudaEvent): this {
    this.native.waitEvent(event.native);
    return this;
  }

  /** Destroys the stream now (otherwise when collected). */
  destroy(): void {
    this.native.destroy();
  }
}

/** Options of {@link CudaEvent}. */
export interface CudaEventOptions {
  /** Whether the event records time for {@link CudaEvent.elapsedMs} (default true); false is cheaper (CU_EVENT_DISABLE_TIMING). */
  timing?: boolean;
}

/** A CUDA event, for ordering and timing: `start.elapsedMs(end)`. */
export class CudaEvent {
  /** @internal */
  readonly native: NativeEvent;

  constructor(context: CudaContext = CudaContext.get(), options: CudaEventOptions = {}) {
    this.native = new (requireCuda().Event)(context.native, options.timing ?? true);
  }

  /** True when the work before the last {@link record} has completed (or it was never recorded), false while pending; no wait. */
  query(): boolean {
    return this.native.query();
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
