/**
 * The 'wgsl' implementation of the CCE- loss: fused WebGPU kernels (see implementation.ts), and
 * internal tuning knobs for tests and benchmarks.
 */
export { wgslImplementation } from './implementation.js';
export {
  type PassTimestamps,
  setTuning as setWgslTuning,
  tuning as wgslTuning,
  type WgslTuning,
} from './tuning.js';
