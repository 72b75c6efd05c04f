/**
 * Device time of a piece of WebGPU work (tfjs ops and cutrec's own kernels alike): an empty
 * compute pass writes a GPU timestamp before the work and another after it, on the same queue,
 * so the interval covers everything submitted in between (timestamp-query). Where the device has
 * no timestamp-query, the wall-clock time from an idle queue to `onSubmittedWorkDone` instead.
 */
import { flushTfjs } from '@cutrec/tensor';

/** How a time was measured. */
export type TimingKind = 'timestamp-query' | 'wall' | 'cuda-events';

/** Times WebGPU work on one device. */
export class WebGpuTimer {
  readonly kind: TimingKind;
  private readonly querySet: GPUQuerySet | undefined;
  private readonly resolve: GPUBuffer | undefined;
  private readonly readback: GPUBuffer | undefined;

  constructor(private readonly device: GPUDevice) {
    this.kind = device.features.has('timestamp-query') ? 'timestamp-query' : 'wall';
    if (this.kind === 'timestamp-query') {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolve = device.createBuffer({
        size: 16,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      this.readback = device.createBuffer({
        size: 16,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    }
  }

  private mark(index: number, resolve: boolean): void {
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass({
      timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: index },
    });
    pass.end();
    if (resolve) {
      enc.resolveQuerySet(this.querySet!, 0, 2, this.resolve!, 0);
      enc.copyBufferToBuffer(this.resolve!, 0, this.readback!, 0, 16);
    }
    this.device.queue.submit([enc.finish()]);
  }

  /** Runs `fn` (which queues GPU work) and returns the device milliseconds it took and how they were measured. */
  async time(fn: () => unknown): Promise<{ ms: number; kind: TimingKind }> {
    flushTfjs();
    await this.device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    if (this.querySet) this.mark(0, false);
    await fn();
    flushTfjs();
    if (this.querySet) this.mark(1, true);
    await this.device.queue.onSubmittedWorkDone();
    const wall = performance.now() - t0;
    if (!this.readback) return { ms: wall, kind: 'wall' };
    await this.readback.mapAsync(GPUMapMode.READ);
    const [a, b] = new BigUint64Array(this.readback.getMappedRange().slice(0));
    this.readback.unmap();
    const ms = Number(b! - a!) / 1e6;
    // A quantised or missing timestamp (0, negative) falls back to the wall clock.
    if (!(ms > 0) || ms > wall * 1.5 + 1) return { ms: wall, kind: 'wall' };
    return { ms, kind: 'timestamp-query' };
  }

  /** Frees the query set and buffers. */
  destroy(): void {
    this.querySet?.destroy();
    this.resolve?.destroy();
    this.readback?.destroy();
  }
}
