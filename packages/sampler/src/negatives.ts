/**
 * Host generation of negatives and their log-probabilities: the reference every kernel matches
 * (DESIGN.md, "The sampling contract").
 */
import { checkAliasTable } from './alias.js';
import { mulhi32, philox4x32_10, seedKey } from './philox.js';
import type { InBatchSpec, SamplerSpec, Share } from './types.js';

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

/** Checks a spec (common fields and the kind's own); throws naming the argument and the limit. */
export function checkSpec(spec: SamplerSpec): void {
  if (spec === null || typeof spec !== 'object') throw new TypeError('spec must be a sampler spec object');
  checkCount('spec.numItems', spec.numItems);
  seedKey(spec.seed);
  const share = spec.share ?? 'row';
  if (share !== 'row' && share !== 'block' && share !== 'batch') {
    throw new RangeError(`spec.share must be 'row', 'block' or 'batch', got ${JSON.stringify(share)}`);
  }
  if (share === 'block') checkCount('spec.blockRows', spec.blockRows ?? Number.NaN);
  else if (spec.blockRows !== undefined) checkCount('spec.blockRows', spec.blockRows);
  switch (spec.kind) {
    case 'uniform':
      return;
    case 'popularity':
      checkAliasTable(spec.table, spec.numItems);
      return;
    case 'inBatch':
      inBatchCandidates(spec);
      return;
    default:
      throw new RangeError(
        `spec.kind must be 'uniform', 'popularity' or 'inBatch', got ${JSON.stringify((spec as { kind: unknown }).kind)}`,
      );
  }
}

/**
 * The in-batch candidates: the batch's valid targets (those ≠ ignoreIndex) in row order, as a
 * Uint32Array of numValid items; throws naming `spec.targets[i]` for an id outside [0, numItems).
 */
export function inBatchCandidates(spec: InBatchSpec): Uint32Array {
  const { targets, numItems } = spec;
  const ignore = spec.ignoreIndex ?? -1;
  if (targets === null || typeof targets !== 'object' || typeof targets.length !== 'number') {
    throw new TypeError('spec.targets must be an array of item ids');
  }
  let numValid = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] as number;
    if (t === ignore) continue;
    if (!Number.isInteger(t) || t < 0 || t >= numItems) {
      throw new RangeError(
        `spec.targets[${i}] must be an item id in [0, ${numItems}) or ignoreIndex (${ignore}), got ${t}`,
      );
    }
    numValid++;
  }
  const out = new Uint32Array(numValid);
  let p = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] as number;
    if (t !== ignore) out[p++] = t;
  }
  return out;
}

/**
 * Natural log of q per in-batch candidate position: log(count of candidates[p] among the
 * candidates / numValid), float64.
 */
export function inBatchLogQ(candidates: Uint32Array): Float64Array {
  const counts = new Map<number, number>();
  for (const c of candidates) counts.set(c, (counts.get(c) ?? 0) + 1);
  const n = candidates.length;
  const out = new Float64Array(n);
  for (let p = 0; p < n; p++) out[p] = Math.log(counts.get(candidates[p]!)! / n);
  return out;
}

/**
 * `sampleLogQ(spec)` returns item ↦ natural log of q(item), float64: −log C for uniform, log of the
 * alias table's exact q for popularity, log(count in batch / numValid) for inBatch (−∞ for an item
 * the sampler never draws). The reference loss subtracts log(K) + this.
 */
export function sampleLogQ(spec: SamplerSpec): (item: number) => number {
  checkSpec(spec);
  const C = spec.numItems;
  const checkItem = (item: number) => {
    if (!Number.isInteger(item) || item < 0 || item >= C) {
      throw new RangeError(`sampleLogQ: item must be an integer in [0, ${C}), got ${item}`);
    }
  };
  if (spec.kind === 'uniform') {
    const lq = -Math.log(C);
    return (item) => {
      checkItem(item);
      return lq;
    };
  }
  if (spec.kind === 'popularity') {
    const q = spec.table.q;
    return (item) => {
      checkItem(item);
      return Math.log(q[item]!);
    };
  }
  const cand = inBatchCandidates(spec);
  const counts = new Map<number, number>();
  for (const c of cand) counts.set(c, (counts.get(c) ?? 0) + 1);
  const n = cand.length;
  return (item) => {
    checkItem(item);
    const k = counts.get(item) ?? 0;
    return Math.log(k / n);
  };
}

/**
 * Host generation of negatives: an Int32Array of rows×K item ids, row-major, exactly the items the
 * WGSL and CUDA kernels draw for (spec, row, j, stream). For inBatch with no valid target every
 * entry is −1 (there is nothing to draw; no row uses them).
 */
export function negatives(spec: SamplerSpec, rows: number, K: number, stream: number): Int32Array {
  checkSpec(spec);
  if (!Number.isInteger(rows) || rows < 0 || rows > 0xffffffff) {
    throw new RangeError(`rows must be an integer in [0, 2^32), got ${rows}`);
  }
  checkCount('K', K);
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) {
    throw new RangeError(`stream must be an integer in [0, 2^32), got ${stream}`);
  }
  const [k0, k1] = seedKey(spec.seed);
  const share = spec.share ?? 'row';
  const blockRows = spec.blockRows ?? 1;
  const out = new Int32Array(rows * K);
  const w = new Uint32Array(4);
  const draw = drawer(spec);
  if (draw === undefined) {
    out.fill(-1);
    return out;
  }
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
      out[r * K + j] = draw(w[0]!, w[1]!);
    }
  }
  return out;
}

/** The item of a draw from Philox words (w0, w1) for a checked spec; undefined when nothing can be drawn. */
function drawer(spec: SamplerSpec): ((w0: number, w1: number) => number) | undefined {
  const C = spec.numItems;
  if (spec.kind === 'uniform') return (w0) => mulhi32(w0, C);
  if (spec.kind === 'popularity') {
    const { prob, alias } = spec.table;
    return (w0, w1) => {
      const col = mulhi32(w0, C);
      return w1 < prob[col]! ? col : alias[col]!;
    };
  }
  const cand = inBatchCandidates(spec);
  const n = cand.length;
  if (n === 0) return undefined;
  return (w0) => cand[mulhi32(w0, n)]!;
}

/**
 * A checked spec's draw function: (group, j, stream) ↦ the item the kernels' `cutrec_draw`
 * returns (−1 for inBatch with no candidates). Checks the spec once; for tests and spot checks.
 */
export function drawerOf(spec: SamplerSpec): (group: number, j: number, stream: number) => number {
  checkSpec(spec);
  const [k0, k1] = seedKey(spec.seed);
  const draw = drawer(spec);
  const w = new Uint32Array(4);
  return (group, j, stream) => {
    if (draw === undefined) return -1;
    philox4x32_10(group, j, stream, 0, k0, k1, w);
    return draw(w[0]!, w[1]!);
  };
}

/** One draw of a spec at (group, j, stream): the item (see `drawerOf`, which checks the spec once for many draws). */
export function drawItem(spec: SamplerSpec, group: number, j: number, stream: number): number {
  return drawerOf(spec)(group, j, stream);
}
