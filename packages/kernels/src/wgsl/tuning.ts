import type { WgslLayout } from './layout.js';

/**
 * Internal knobs of the WGSL implementation, for tests and benchmarks: force small chunk and
 * dispatch limits so that the chunking paths run on small inputs, or pick kernel variants.
 */
export interface WgslTuning {
  /** Largest bytes bound per storage binding (default: the device's maxStorageBufferBindingSize). */
  maxBindingBytes?: number;
  /** Largest workgroup count per dispatch dimension (default: the device's limit). */
  maxWorkgroupsPerDim?: number;
  /** Fill forward outputs with NaN before the kernels run, so an element no kernel writes shows up in tests. */
  poison?: boolean;
  /** Benchmarks: every compute pass the runner encodes writes its begin/end timestamps here (device needs 'timestamp-query'). */
  timestamps?: PassTimestamps;
  /** Kernel layout for every device (layout.ts; default: 'cpu' on software adapters, else 'gpu'). */
  layout?: WgslLayout;
  /**
   * How the tile kernels' grad-items adds into dItems for sampled negatives (default: 'gather' in
   * layout 'gpu', else 'cas'; $CUTREC_WGSL_GRAD_ITEMS forces one for benchmarks); 'gather' needs
   * the workgroup-memory tile kernel (gather.ts).
   */
  gradItems?: 'gather' | 'cas';
  /** Scratch budget of the gather's partial sums in bytes (default gather.ts GATHER_SCRATCH_BYTES). */
  gatherScratchBytes?: number;
}

/** A query set that compute passes write pairs of timestamps into, from `used` on. */
export interface PassTimestamps {
  querySet: GPUQuerySet;
  /** Pairs written so far (the next pass writes queries 2·used and 2·used + 1). */
  used: number;
  /**
   * Profiling: when present, every dispatch gets a pass of its own and its program's key is
   * pushed here (labels[p] names pair p), so a step's time splits by kernel.
   */
  labels?: string[];
}

let current: WgslTuning = {};

/** The knobs in force. */
export function tuning(): WgslTuning {
  return current;
}

/** Replaces the knobs; returns the previous ones (so a test can restore them). */
export function setTuning(t: WgslTuning): WgslTuning {
  const prev = current;
  current = { ...t };
  return prev;
}

/**
 * Benchmarks: the GPU milliseconds of each labelled pass written into `ts` (labels[p] names pair
 * p), read back once; the caller destroys the query set.
 */
export async function readPassTimestamps(
  device: GPUDevice,
  ts: PassTimestamps,
): Promise<{ label: string; ms: number }[]> {
  if (ts.used === 0) return [];
  const bytes = 16 * ts.used;
  const resolve = device.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    enc.resolveQuerySet(ts.querySet, 0, 2 * ts.used, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, read, 0, bytes);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    return Array.from({ length: ts.used }, (_, p) => ({
      label: ts.labels?.[p] ?? '',
      ms: Number(t[2 * p + 1]! - t[2 * p]!) / 1e6,
    }));
  } finally {
    resolve.destroy();
    read.destroy();
  }
}
