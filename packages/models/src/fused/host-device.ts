/** The host as a {@link FusedDevice}: the references run at once; transfers are copies. */
import type { FusedDevice, PendingRead } from './engine.js';
import { HostOps } from './host-ops.js';

/** A fused-engine device on the host (float64 references; exact and slow). */
export class HostDevice extends HostOps implements FusedDevice<Float64Array> {
  readonly name = 'host';
  readonly lossRing = 1;
  private readonly losses = new Map<number, number>();

  upload(b: Float64Array, data: Float32Array | Int32Array): void {
    b.set(data);
  }
  enqueueUpload(b: Float64Array, data: Float32Array | Int32Array): void {
    b.set(data);
  }
  enqueueReadInt32(b: Float64Array, n: number): PendingRead {
    const values = Int32Array.from(b.subarray(0, n)); // the host has run the queued work already
    return { take: () => values };
  }
  copyInt32(src: Float64Array, dst: Float64Array, n: number): void {
    dst.set(src.subarray(0, n));
  }
  runReplayable(_key: string, record: () => void): void {
    record();
  }
  download(b: Float64Array, n: number): Float32Array {
    return Float32Array.from(b.subarray(0, n));
  }
  downloadInt32(b: Float64Array, n: number): Int32Array {
    return Int32Array.from(b.subarray(0, n));
  }
  free(): void {}
  setStep(step: number): void {
    this.step = step;
  }
  writeBatch(ids: Float64Array, targets: Float64Array, inputs: Int32Array, targetIds: Int32Array): void {
    ids.set(inputs);
    targets.set(targetIds);
  }
  runStep(record: () => void): void {
    const step = this.step;
    record();
    this.losses.set(step, this.lastLoss);
  }
  lossOf(step: number): number {
    const loss = this.losses.get(step);
    if (loss === undefined) throw new Error(`host device: no loss recorded for step ${step}`);
    this.losses.delete(step);
    return loss;
  }
  dispose(): void {}
}
