/**
 * Device arrays for the layer-op CUDA tests: float32 or bf16 storage, poisoned with NaN where not
 * uploaded (so an unwritten element fails a comparison), read back as float32.
 */
import { DeviceBuffer, packBf16, unpackBf16 } from '@cutrec/tensor';
import { type DevicePtr, deviceView } from '../../src/index.js';

// ---- device arrays (float32 / bf16 storage), poisoned with NaN where not uploaded ----

export type Dtype = 'float32' | 'bfloat16';
/** x as it is stored in `t`, read back as float32 (what the reference is given). */
export const rounded = (x: Float32Array, t: Dtype): Float32Array =>
  t === 'float32' ? x : unpackBf16(packBf16(x));
/** NaN in every element: float32 0x7fc00000, bf16 0x7fc0 in both halves of a word. */
export const poison = (t: Dtype) => (t === 'float32' ? 0x7fc00000 : 0x7fc07fc0);
export interface Dev {
  buffer: DeviceBuffer;
  ptr: DevicePtr;
  read(): Float32Array;
}
/** n elements of `t` at byte `offset` of a fresh buffer: `x`, or NaN when `x` is omitted. */
export function dev(n: number, t: Dtype, x?: ArrayLike<number>, offset = 0): Dev {
  const eb = t === 'float32' ? 4 : 2;
  const buffer = new DeviceBuffer(Math.max(4, Math.ceil((offset + n * eb) / 4) * 4));
  buffer.fill32(poison(t));
  if (x) buffer.write(t === 'float32' ? Float32Array.from(x) : packBf16(x), offset);
  const ptr = deviceView(buffer, offset, n * eb);
  const read = () =>
    t === 'float32'
      ? buffer.read(new Float32Array(n), offset)
      : unpackBf16(buffer.read(new Uint16Array(n), offset));
  return { buffer, ptr, read };
}
