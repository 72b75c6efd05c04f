/**
 * Device arrays for the layer-op WGSL tests (test/ops/wgsl-<op>.test.ts): storage buffers filled
 * with NaN where not uploaded (so an unwritten element fails a comparison), a step-counter
 * buffer, submitting a launcher's steps, and reading back. The device is the shared test device
 * (`webgpuForTests`); without an adapter the tests skip with the reason (fail under CI=true).
 */
import { maxRelDiff } from '@cutrec/config/testing';
import { f16BitsToF32, f32ToF16Bits, packF16 } from '@cutrec/tensor';
import { webgpuForTests } from '@cutrec/tensor/testing';
import {
  Runner,
  type Step,
  setWgslTuning,
  type WgslAct,
  type WgslLayout,
  type WgslView,
  wgslTuning,
} from '../../src/index.js';

export const { device, skipReason } = await webgpuForTests();

/** The activation storage types to test: f16 too where the device has 'shader-f16' (lavapipe has it). */
export const ACTS: readonly WgslAct[] = device?.features.has('shader-f16') ? ['f32', 'f16'] : ['f32'];

/** x with every value rounded to the nearest f16 (what an f16 buffer can hold), as float64. */
export function roundF16(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => f16BitsToF32(f32ToF16Bits(v)));
}

/** x rounded as `act` storage rounds it: to f16 for 'f16', to float32 for 'f32'. */
export function roundAct(x: ArrayLike<number>, act: WgslAct): Float64Array {
  return act === 'f16' ? roundF16(x) : Float64Array.from(Float32Array.from(x));
}

const NAN_BITS = 0x7fc00000;
const NAN_F16 = 0x7e00;
const live: GPUBuffer[] = [];

/** A storage buffer of n 4-byte elements (plus `pad` poisoned elements before it, as the view's offset). */
export interface GpuArray {
  view: WgslView;
  /** Reads elements [offset, offset + n) as float32 (or int32 / uint32 with `as`). */
  read(): Promise<Float32Array>;
  readU32(): Promise<Uint32Array>;
}

/**
 * n elements: `x` (float32, or int32 when `int`), NaN when omitted; `pad` leading NaN elements
 * offset the view. `f16` (or `act: 'f16'`): 2-byte f16 elements (x rounded to nearest), read back as float32.
 */
export function gpuArray(
  n: number,
  x?: ArrayLike<number>,
  opts: { int?: boolean; pad?: number; f16?: boolean; act?: WgslAct } = {},
): GpuArray {
  if (opts.f16 || opts.act === 'f16') return gpuArrayF16(n, x, opts.pad ?? 0);
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
  const readU32 = async () => new Uint32Array(await readBytes(buffer, total * 4, pad * 4, (pad + n) * 4));
  return {
    view: { buffer, offset: pad },
    readU32,
    read: async () => new Float32Array((await readU32()).buffer),
  };
}

/** Bytes [from, to) of the first `size` bytes of `buffer`, after the work submitted so far. */
async function readBytes(buffer: GPUBuffer, size: number, from: number, to: number): Promise<ArrayBuffer> {
  const gpu = device as GPUDevice;
  const staging = gpu.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = gpu.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, size);
  gpu.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(from, to);
  staging.unmap();
  staging.destroy();
  return out;
}

/** n f16 elements after `pad` NaN ones (the buffer's size rounded up to 4 bytes). */
function gpuArrayF16(n: number, x: ArrayLike<number> | undefined, pad: number): GpuArray {
  const gpu = device as GPUDevice;
  const total = Math.max(2, pad + n + ((pad + n) & 1));
  const buffer = gpu.createBuffer({
    size: total * 2,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  live.push(buffer);
  const host = new Uint16Array(total).fill(NAN_F16);
  if (x) host.set(packF16(x), pad);
  gpu.queue.writeBuffer(buffer, 0, host);
  const readBits = async () => new Uint16Array(await readBytes(buffer, total * 2, pad * 2, (pad + n) * 2));
  return {
    view: { buffer, offset: pad },
    readU32: async () => Uint32Array.from(await readBits()),
    read: async () => Float32Array.from(await readBits(), f16BitsToF32),
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
 * max |got − want| / max(floor, max |want|); NaN anywhere or a length mismatch gives Infinity
 * (so an unwritten, NaN-poisoned element always fails). The floor is 1e-30, or with `act` 'f16'
 * f16's smallest normal 2^-14: below it f16 spacing is absolute (2^-24), so a correctly rounded
 * subnormal is within 2^-25 / 2^-14 = 4.9e-4 of that floor, as a normal value is of itself.
 */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>, act: WgslAct = 'f32'): number {
  const r = maxRelDiff(got, want, act === 'f16' ? 2 ** -14 : 1e-30);
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
