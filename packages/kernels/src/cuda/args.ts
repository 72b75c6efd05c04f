/** The CceArgs block every CUDA kernel takes by value (cuda/cce_common.cuh), packed byte for byte. */
import type { DeviceBuffer } from '@cutrec/tensor';

export const CCE_ARGS_BYTES = 160;

export const MODE = { row: 0, block: 1, batch: 2, all: 3 } as const;
export const SAMPLER_KIND = { uniform: 0, popularity: 1, inBatch: 2 } as const;

export interface CceArgsFields {
  H: DeviceBuffer;
  W: DeviceBuffer;
  Y: DeviceBuffer;
  sa?: DeviceBuffer;
  sb?: DeviceBuffer;
  slq?: DeviceBuffer;
  loss?: DeviceBuffer;
  lse?: DeviceBuffer;
  dLoss?: DeviceBuffer;
  dH?: DeviceBuffer;
  dW?: DeviceBuffer;
  N: number;
  C: number;
  D: number;
  K: number;
  mode: number;
  blockRows: number;
  k0: number;
  k1: number;
  stream: number;
  skind: number;
  sn: number;
  flags: number;
  ignoreIndex: number;
  logK: number;
  tilesPerGroup: number;
  /** Row backward passes: end of the item range (0: none); tilesPerGroup is then its start. */
  itemHi?: number;
  /** Device u32 holding the stream (overrides `stream`; a replayed CUDA graph reads the step there). */
  streamPtr?: bigint;
}

/** The 160 bytes of CceArgs (little endian, pointers first), for `launch`'s `{ bytes }` argument. */
export function packCceArgs(f: CceArgsFields): Uint8Array {
  const buf = new ArrayBuffer(CCE_ARGS_BYTES);
  const v = new DataView(buf);
  const ptrs = [f.H, f.W, f.Y, f.sa, f.sb, f.slq, f.loss, f.lse, f.dLoss, f.dH, f.dW];
  for (const [i, p] of ptrs.entries()) v.setBigUint64(i * 8, p ? p.address : 0n, true);
  const ints: [number, number][] = [
    [88, f.N],
    [92, f.C],
    [96, f.D],
    [100, f.K],
    [104, f.mode],
    [108, f.blockRows],
  ];
  for (const [o, x] of ints) v.setInt32(o, x, true);
  v.setUint32(112, f.k0 >>> 0, true);
  v.setUint32(116, f.k1 >>> 0, true);
  v.setUint32(120, f.stream >>> 0, true);
  v.setUint32(124, f.skind >>> 0, true);
  v.setUint32(128, f.sn >>> 0, true);
  v.setInt32(132, f.flags, true);
  v.setInt32(136, f.ignoreIndex, true);
  v.setFloat32(140, f.logK, true);
  v.setInt32(144, f.tilesPerGroup, true);
  v.setInt32(148, f.itemHi ?? 0, true);
  v.setBigUint64(152, f.streamPtr ?? 0n, true);
  return new Uint8Array(buf);
}
