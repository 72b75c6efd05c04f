/**
 * How one call is cut into dispatches: row chunks and item chunks, each small enough for one
 * storage binding (maxStorageBufferBindingSize; 128 MiB on lavapipe), starting at multiples of 64
 * rows so that binding offsets meet minStorageBufferOffsetAlignment (256 bytes); and the tile
 * sizes the device's workgroup memory allows.
 */
import { tuning } from './tuning.js';

/** Rows [base, base + count) of a 2-D tensor bound as one binding. */
export interface Chunk {
  base: number;
  count: number;
}

/**
 * Cuts `total` rows of `rowBytes` each into chunks that fit `maxBytes`, each starting at a
 * multiple of `align` rows (64; 128 where a binding has 2-byte f16 elements, so that its byte
 * offsets stay multiples of 256 for any D); throws naming `what` when `align` rows do not fit.
 */
export function chunkRows(
  total: number,
  rowBytes: number,
  maxBytes: number,
  what: string,
  align = 64,
): Chunk[] {
  const per = Math.floor(maxBytes / rowBytes / align) * align;
  if (per < align) {
    throw new RangeError(
      `cceLoss (wgsl): ${what} rows of ${rowBytes} bytes are too wide: ${align} of them must fit one storage binding of ${maxBytes} bytes (maxStorageBufferBindingSize), so D ≤ ${Math.floor(maxBytes / (4 * align))}`,
    );
  }
  const out: Chunk[] = [];
  for (let base = 0; base < total; base += per) out.push({ base, count: Math.min(per, total - base) });
  return out;
}

/** The largest bytes one binding may hold on this device (or the tuning override). */
export function maxBindingBytes(device: GPUDevice): number {
  return tuning().maxBindingBytes ?? device.limits.maxStorageBufferBindingSize;
}

/** Tile shape of the tile kernels: rows, negatives, and D columns per gradient workgroup. */
export interface TileShape {
  tr: number;
  tk: number;
  dc: number;
}

/** Picks tile sizes: 64×64 where 32 KiB of workgroup memory is available (else 16×32), 16 rows for blocks of ≤ 16. */
export function tileShape(device: GPUDevice, rowsPerGroup: number, D: number): TileShape {
  const big = device.limits.maxComputeWorkgroupStorageSize >= 32768;
  const tr = !big || rowsPerGroup <= 16 ? 16 : 64;
  const tk = big ? 64 : 32;
  let dc = 16;
  while (dc < D && dc < 256) dc *= 2;
  return { tr, tk, dc };
}

/** Row tiles of one row chunk: groups g0 … g0+nGroups-1, each cut into tilesPerGroup tiles of ≤ tr rows. */
export interface TileGeometry {
  g0: number;
  nGroups: number;
  tilesPerGroup: number;
}

/** The row tiles of chunk `rc` when groups have `groupRows` rows. */
export function tileGeometry(rc: Chunk, groupRows: number, tr: number): TileGeometry {
  const g0 = Math.floor(rc.base / groupRows);
  const g1 = Math.floor((rc.base + rc.count - 1) / groupRows);
  return { g0, nGroups: g1 - g0 + 1, tilesPerGroup: Math.ceil(Math.min(groupRows, rc.count) / tr) };
}
