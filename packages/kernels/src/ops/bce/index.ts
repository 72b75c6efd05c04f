/** SASRec's BCE / gBCE over uniform sampled negatives: forward per-row losses and backward. */
export {
  BCE_ARGS_BYTES,
  type CudaBceInputs,
  cudaBceBackward,
  cudaBceForward,
  packBceArgs,
} from './cuda.js';
export { type BceInputs, bceBackward, bceForward, checkBceInputs } from './reference.js';
export {
  BCE_WGSL_MAX_D,
  BceBackwardProgram,
  BceForwardProgram,
  type WgslBceInputs,
  wgslBceBackward,
  wgslBceForward,
} from './wgsl.js';
