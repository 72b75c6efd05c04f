/** ReLU / tanh-GELU followed by dropout, and the backward. */
export {
  type CudaActivationBackwardArgs,
  type CudaActivationForwardArgs,
  cudaActivationBackward,
  cudaActivationForward,
} from './cuda.js';
export {
  type ActivationBackwardArgs,
  type ActivationForwardArgs,
  type ActivationKind,
  activationBackward,
  activationDerivative,
  activationForward,
  activationValue,
} from './reference.js';
export {
  ActivationBackwardProgram,
  ActivationForwardProgram,
  type WgslActivationBackwardArgs,
  type WgslActivationForwardArgs,
  wgslActivationBackward,
  wgslActivationForward,
} from './wgsl.js';
