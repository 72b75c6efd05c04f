/**
 * @cutrec/kernels — the CCE- loss: `cceLoss`, one differentiable tfjs op over four
 * implementations of one contract (DESIGN.md): 'reference' (float64, the oracle), 'tfjs'
 * (portable, chunked), 'wgsl' (fused WebGPU) and 'cuda'.
 */

export { cceLoss } from './cce-loss.js';
export { checkCceInputs } from './check-inputs.js';
export type {
  CceForwardResult,
  CceGradients,
  CceImpl,
  CceImplementation,
  CceOptions,
  ResolvedCceOptions,
} from './options.js';
export {
  type HostCceInputs,
  type ReferenceForward,
  type ReferenceGradients,
  referenceBackward,
  referenceForward,
} from './reference/index.js';
export { getImplementation, hasImplementation, registerImplementation } from './registry.js';
export { type CceShapes, resolveOptions } from './resolve.js';

// The fused CUDA implementation (available where a driver and the built fatbin are).
import { cudaImplementation } from './cuda/index.js';
import { registerImplementation as register } from './registry.js';
// The fused WebGPU implementation registers itself here.
import { wgslImplementation } from './wgsl/index.js';

register(wgslImplementation);

export {
  type BindingKind,
  type CceBackwardBuffers,
  type CceForwardBuffers,
  type CceShape,
  type Clear,
  type Compiled,
  type Copy,
  type Dispatch,
  isSoftwareAdapter,
  type ParamField,
  type ParamType,
  type ParamValues,
  packParamFields,
  paramsStructWGSL,
  Recording,
  Runner,
  readPassTimestamps,
  type Step,
  setWgslTuning,
  type WgslLayout,
  type WgslProgram,
  type WgslTuning,
  wgslCceBackwardSteps,
  wgslCceForwardSteps,
  wgslImplementation,
  wgslLayoutOf,
  wgslTuning,
} from './wgsl/index.js';

register(cudaImplementation);

export * from './cuda/index.js';

// The layer ops of the fused training step (src/ops/README.md).
export * from './ops/index.js';
