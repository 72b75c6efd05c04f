import { philox4x32_10, seedKey, uniformItem } from './philox.js';
import type { SamplerSpec, Share } from './types.js';

/** The group a row draws its negatives under: the row ('row'), floor(row / blockRows) ('block'), or 0 ('batch'). */
export function groupOf(share: Share, blockRows: number, row: number): number {
  if (share === 'row') return row;
  if (share === 'block') return Math.floor(row / blockRows);
  return 0;
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) {
    throw new RangeError(`${name} must be an integer in [1, 2^32), got ${v}`);
  }
}

/** Checks a spec's common fields; throws naming the argument and the limit. */
export function checkSpec(spec: SamplerSpec): void {
  checkCount('spec.numItems', spec.numItems);
  seedKey(spec.seed);
  const share = spec.share ?? 'row';
  if (share !== 'row' && share !== 'block' && share !== 'batch') {
    throw new RangeError(`spec.share must be 'row', 'block' or 'batch', got ${JSON.stringify(share)}`);
  }
  if (share === 'block') checkCount('spec.blockRows', spec.blockRows ?? Number.NaN);
}

/**
 * Host generation of negatives: an Int32Array of rows×K item ids, row-major, exactly the items the
 * WGSL and CUDA kernels draw for (spec, row, j, stream).
 */
export function negatives(spec: SamplerSpec, rows: number, K: number, stream: number): Int32Array {
  checkSpec(spec);
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be an integer ≥ 0, got ${rows}`);
  checkCount('K', K);
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) {
    throw new RangeError(`stream must be an integer in [0, 2^32), got ${stream}`);
  }
  if (spec.kind !== 'uniform') {
    throw new Error(`negatives: sampler kind '${spec.kind}' is not implemented yet`);
  }
  const [k0, k1] = seedKey(spec.seed);
  const share = spec.share ?? 'row';
  const blockRows = spec.blockRows ?? 1;
  const out = new Int32Array(rows * K);
  const w = new Uint32Array(4);
  let lastGroup = -1;
  for (let r = 0; r < rows; r++) {
    const g = groupOf(share, blockRows, r);
    if (g === lastGroup) {
      out.copyWithin(r * K, (r - 1) * K, r * K);
      continue;
    }
    lastGroup = g;
    for (let j = 0; j < K; j++) {
      philox4x32_10(g, j, stream, 0, k0, k1, w);
      out[r * K + j] = uniformItem(w[0]!, spec.numItems);
    }
  }
  return out;
}
