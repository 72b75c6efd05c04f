/** Device pointers for the layer ops' CUDA launchers: a whole buffer or a byte range of one. */
import { type CudaContext, type CudaStream, DeviceBuffer, type KernelArg } from '@cutrec/tensor';

/** A byte range of a device buffer (e.g. one parameter inside the flat parameter buffer). */
export interface DeviceView {
  buffer: DeviceBuffer;
  byteOffset: number;
  bytes: number;
}

/** What a CUDA op takes for a tensor: a whole {@link DeviceBuffer} or a {@link DeviceView}. */
export type DevicePtr = DeviceBuffer | DeviceView;

/** The view `[byteOffset, byteOffset + bytes)` of `buffer`; throws when it does not fit. */
export function deviceView(buffer: DeviceBuffer, byteOffset: number, bytes: number): DeviceView {
  if (!(byteOffset >= 0 && bytes >= 0 && byteOffset + bytes <= buffer.bytes)) {
    throw new RangeError(
      `deviceView: [${byteOffset}, ${byteOffset + bytes}) is outside a buffer of ${buffer.bytes} bytes`,
    );
  }
  return { buffer, byteOffset, bytes };
}

/** The view `[byteOffset, byteOffset + bytes)` of `p` (a buffer or a view of one); throws when it does not fit. */
export function subView(p: DevicePtr, byteOffset: number, bytes: number): DeviceView {
  if (!(byteOffset >= 0 && bytes >= 0 && byteOffset + bytes <= bytesOf(p))) {
    throw new RangeError(
      `subView: [${byteOffset}, ${byteOffset + bytes}) is outside a view of ${bytesOf(p)} bytes`,
    );
  }
  return p instanceof DeviceBuffer
    ? { buffer: p, byteOffset, bytes }
    : { buffer: p.buffer, byteOffset: p.byteOffset + byteOffset, bytes };
}

/** The device address of `p`. */
export function addressOf(p: DevicePtr): bigint {
  return p instanceof DeviceBuffer ? p.address : p.buffer.address + BigInt(p.byteOffset);
}

/** The context `p`'s memory belongs to (the one its op's module must be loaded in). */
export function contextOf(p: DevicePtr): CudaContext {
  return (p instanceof DeviceBuffer ? p : p.buffer).context;
}

/** Whether `p` is absent or its address is a multiple of `bytes` (for vector loads). */
export function aligned(p: DevicePtr | undefined, bytes: number): boolean {
  return p === undefined || addressOf(p) % BigInt(bytes) === 0n;
}

/** Bytes `p` spans. */
export function bytesOf(p: DevicePtr): number {
  return p instanceof DeviceBuffer ? p.bytes : p.bytes;
}

/** `p` as a kernel pointer argument (null → a null pointer). */
export function ptrArg(p: DevicePtr | null | undefined): KernelArg {
  return { ptr: p == null ? null : addressOf(p) };
}

/** Throws naming `name` when `p` spans fewer than `bytes` bytes. */
export function checkBytes(name: string, p: DevicePtr, bytes: number): void {
  if (bytesOf(p) < bytes) throw new RangeError(`${name} spans ${bytesOf(p)} bytes; it needs ${bytes}`);
}

/** Where a CUDA op is queued: a stream (default: the legacy default stream) of a context. */
export interface OpCall {
  stream?: CudaStream | null;
}
