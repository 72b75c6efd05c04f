/**
 * The safetensors format (huggingface/safetensors), written and read here: an 8-byte
 * little-endian header length N, N bytes of UTF-8 JSON (padded with spaces to a multiple of 8)
 * mapping each tensor name to { dtype, shape, data_offsets: [begin, end) } plus an optional
 * "__metadata__" string map, then the raw little-endian tensor bytes, contiguous, in offset order.
 */

/** The dtypes cutrec writes and reads, with their byte sizes. */
export const SAFETENSORS_DTYPES = { F64: 8, F32: 4, I64: 8, I32: 4, U32: 4, U8: 1 } as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

type TypedFor<D extends SafetensorsDtype> = D extends 'F64'
  ? Float64Array
  : D extends 'F32'
    ? Float32Array
    : D extends 'I64'
      ? BigInt64Array
      : D extends 'I32'
        ? Int32Array
        : D extends 'U32'
          ? Uint32Array
          : Uint8Array;

/** One tensor: dtype, shape and its values. */
export interface SafeTensor<D extends SafetensorsDtype = SafetensorsDtype> {
  dtype: D;
  shape: number[];
  data: TypedFor<D>;
}

const CTORS = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  U32: Uint32Array,
  U8: Uint8Array,
} as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function checkHost(): void {
  if (!LITTLE_ENDIAN) throw new Error('safetensors: this writer needs a little-endian host');
}

/** Serialises `tensors` (written in name order) and string `metadata` to safetensors bytes. */
export function encodeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  checkHost();
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`safetensors: metadata['${k}'] must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__')
      throw new RangeError("safetensors: '__metadata__' is not a valid tensor name");
    const t = tensors[name]!;
    const size = SAFETENSORS_DTYPES[t.dtype];
    if (size === undefined)
      throw new RangeError(`safetensors: tensor '${name}' has unsupported dtype ${t.dtype}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) {
      throw new RangeError(
        `safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + count * size] };
    offset += count * size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; checks the header, offsets (contiguous, in range) and sizes. */
export function decodeSafetensors(bytes: Uint8Array): {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
} {
  checkHost();
  if (bytes.length < 8)
    throw new RangeError(`safetensors: ${bytes.length} bytes is too short for a header length`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > bytes.length - 8)
    throw new RangeError(`safetensors: header length ${n} exceeds the file (${bytes.length} bytes)`);
  let header: Record<string, { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new RangeError(`safetensors: the header is not valid JSON (${(err as Error).message})`);
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  const entries = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  const tensors: Record<string, SafeTensor> = {};
  let expected = 0;
  for (const [name, info] of entries) {
    const size = SAFETENSORS_DTYPES[info.dtype];
    if (size === undefined)
      throw new RangeError(`safetensors: tensor '${name}' has unsupported dtype ${info.dtype}`);
    const [b, e] = info.data_offsets;
    const count = info.shape.reduce((x, y) => x * y, 1);
    if (b !== expected || e - b !== count * size || e > dataLength) {
      throw new RangeError(`safetensors: tensor '${name}' has bad data_offsets [${b}, ${e}]`);
    }
    expected = e;
    const copy = bytes.slice(dataStart + b, dataStart + e);
    const Ctor = CTORS[info.dtype];
    tensors[name] = { dtype: info.dtype, shape: info.shape, data: new Ctor(copy.buffer) } as SafeTensor;
  }
  if (expected !== dataLength) {
    throw new RangeError(`safetensors: ${dataLength - expected} bytes after the last tensor`);
  }
  return { tensors, metadata };
}
