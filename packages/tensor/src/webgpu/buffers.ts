/** Host typed arrays to and from WebGPU buffers. */

/** Rounds a byte count up to WebGPU's 4-byte copy alignment. */
export function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}

/** Uploads a host typed array into a new storage buffer (usage STORAGE | COPY_SRC | COPY_DST plus `extraUsage`). */
export function createBufferFrom(
  device: GPUDevice,
  data: ArrayBufferView,
  extraUsage = 0,
  label?: string,
): GPUBuffer {
  const size = Math.max(4, align4(data.byteLength));
  const buffer = device.createBuffer({
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
    mappedAtCreation: true,
    ...(label ? { label } : {}),
  });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buffer.unmap();
  return buffer;
}

/** Writes a host typed array into an existing buffer at `byteOffset` (both 4-byte aligned). */
export function writeBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  data: ArrayBufferView,
  byteOffset = 0,
): void {
  if (byteOffset % 4 !== 0)
    throw new Error(`writeBuffer: byteOffset must be a multiple of 4, got ${byteOffset}`);
  if (byteOffset + data.byteLength > buffer.size) {
    throw new Error(
      `writeBuffer: ${data.byteLength} bytes at offset ${byteOffset} overrun the buffer's ${buffer.size} bytes`,
    );
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    device.queue.writeBuffer(buffer, byteOffset, bytes as Uint8Array<ArrayBuffer>);
  } else {
    const padded = new Uint8Array(align4(bytes.byteLength));
    padded.set(bytes);
    device.queue.writeBuffer(buffer, byteOffset, padded);
  }
}

type TypedArrayCtor<T> = { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number };

/**
 * Reads `byteLength` bytes (default: the whole buffer) of a device buffer back to the host as a
 * typed array of `ctor`. The buffer needs COPY_SRC usage.
 */
export async function readBuffer<T extends ArrayBufferView>(
  device: GPUDevice,
  buffer: GPUBuffer,
  ctor: TypedArrayCtor<T>,
  byteOffset = 0,
  byteLength = buffer.size - byteOffset,
): Promise<T> {
  if (byteOffset % 4 !== 0)
    throw new Error(`readBuffer: byteOffset must be a multiple of 4, got ${byteOffset}`);
  if (byteOffset + byteLength > buffer.size) {
    throw new Error(
      `readBuffer: ${byteLength} bytes at offset ${byteOffset} overrun the buffer's ${buffer.size} bytes`,
    );
  }
  const size = align4(byteLength);
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const copy = staging.getMappedRange().slice(0, byteLength - (byteLength % ctor.BYTES_PER_ELEMENT));
    staging.unmap();
    return new ctor(copy);
  } finally {
    staging.destroy();
  }
}
