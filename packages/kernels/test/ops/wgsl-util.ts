/**
 * Device arrays for the layer-op WGSL tests (test/ops/wgsl-<op>.test.ts): storage buffers filled
 * with NaN where not uploaded (so an unwritten element fails a comparison), a step-counter
 * buffer, submitting a launcher's steps, and reading back. The device is the shared test device
 * (`webgpuForTests`); without an adapter the tests skip with the reason (fail under CI=true).
 */
import { maxRelDiff } from '@cutrec/config/testing';
import { webgpuForTests } from '@cutrec/tensor/testing';
import {
  Runner,
  type Step,
  setWgslTuning,
  type WgslLayout,
  type WgslView,
  wgslTuning,
} from '../../src/index.js';

export const { device, skipReason } = await webgpuForTests();

const NAN_BITS = 0x7fc00000;
const live: GPUBuffer[] = [];

/** A storage buffer of n 4-byte elements (plus `pad` poisoned elements before it, as the view's offset). */
export interface GpuArray {
  view: WgslView;
  /** Reads elements [offset, offset + n) as float32 (or int32 / uint32 with `as`). */
  read(): Promise<Float32Array>;
  readU32(): Promise<Uint32Array>;
}

/** n elements: `x` (float32, or int32 when `int`), NaN when omitted; `pad` leading NaN elements offset the view. */
export function gpuArray(
  n: number,
  x?: ArrayLike<number>,
  opts: { int?: boolean; pad?: number } = {},
): GpuArray {
  const gpu = device as GPUDevice;
  const pad = opts.pad ?? 0;
  const total = Math.max(1, pad + n);
  const buffer = gpu.createBuffer({
    size: total * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  live.push(buffer);
  const host = new Uint32Array(total).fill(NAN_BITS);
  if (x) {
    const typed = opts.int ? Int32Array.from(x) : Float32Array.from(x);
    host.set(new Uint32Array(typed.buffer), pad);
  }
  gpu.queue.writeBuffer(buffer, 0, host);
  const readU32 = async () => {
    const staging = gpu.createBuffer({
      size: total * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = gpu.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, total * 4);
    gpu.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Uint32Array(staging.getMappedRange().slice(pad * 4, (pad + n) * 4));
    staging.unmap();
    staging.destroy();
    return out;
  };
  return {
    view: { buffer, offset: pad },
    readU32,
    read: async () => new Float32Array((await readU32()).buffer),
  };
}

/** A u32 step counter holding `step`. */
export function stepCounter(step: number): WgslView {
  return gpuArray(1, new Int32Array([step]), { int: true }).view;
}

/** Submits `steps` in one command buffer. */
export function run(steps: Step[]): void {
  Runner.of(device as GPUDevice).submit(steps);
}

/** Destroys the buffers made so far (call in afterEach / at the end of a test). */
export function freeAll(): void {
  for (const b of live.splice(0)) b.destroy();
}

/**
 * max |got − want| / max(1e-30, max |want|); NaN anywhere or a length mismatch gives Infinity
 * (so an unwritten, NaN-poisoned element always fails).
 */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  const r = maxRelDiff(got, want);
  return Number.isNaN(r) ? Number.POSITIVE_INFINITY : r;
}

/** Both kernel layouts (src/wgsl/layout.ts): an op's test runs its GPU and its software-adapter kernels on any adapter. */
export const LAYOUTS: readonly WgslLayout[] = ['gpu', 'cpu'];

/** Runs `f` with the kernels laid out for `layout`, then restores the tuning. */
export async function withLayout<T>(layout: WgslLayout, f: () => Promise<T>): Promise<T> {
  const prev = setWgslTuning({ ...wgslTuning(), layout });
  try {
    return await f();
  } finally {
    setWgslTuning(prev);
  }
}
