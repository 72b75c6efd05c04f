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
}

/** A query set that compute passes write pairs of timestamps into, from `used` on. */
export interface PassTimestamps {
  querySet: GPUQuerySet;
  /** Pairs written so far (the next pass writes queries 2·used and 2·used + 1). */
  used: number;
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
