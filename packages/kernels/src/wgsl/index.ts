/**
 * The 'wgsl' implementation of the CCE- loss: fused WebGPU kernels (see implementation.ts), and
 * internal tuning knobs for tests and benchmarks.
 */
export {
  type CceBackwardBuffers,
  type CceForwardBuffers,
  type CceShape,
  type WgslCceStepOptions,
  wgslCceBackwardSteps,
  wgslCceForwardSteps,
  wgslImplementation,
} from './implementation.js';
export { isSoftwareAdapter, layoutOf as wgslLayoutOf, type WgslLayout } from './layout.js';
export {
  type BindingKind,
  type ParamField,
  type ParamType,
  type ParamValues,
  packParamFields,
  paramsStructWGSL,
  type WgslProgram,
} from './program.js';
export {
  type Clear,
  type Compiled,
  type Copy,
  type Dispatch,
  Recording,
  Runner,
  type Step,
} from './runner.js';
export {
  type PassTimestamps,
  readPassTimestamps,
  setTuning as setWgslTuning,
  tuning as wgslTuning,
  type WgslTuning,
} from './tuning.js';
