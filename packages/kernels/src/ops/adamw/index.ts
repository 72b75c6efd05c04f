/** AdamW over one flat buffer: global gradient norm, the update with clipping and the schedule on the device, the step counter. */
export {
  ADAMW_ARGS_BYTES,
  type AdamwConstants,
  type CudaAdamwUpdateArgs,
  cudaAdamwUpdate,
  cudaGradNormSquared,
  cudaStepIncrement,
  packAdamwArgs,
} from './cuda.js';
export {
  type AdamwStepInfo,
  type AdamwUpdateArgs,
  adamwUpdate,
  checkAdamwArgs,
  gradNormSquared,
} from './reference.js';
export { checkSchedule, type LrSchedule, learningRate } from './schedule.js';
export {
  AdamwUpdateProgram,
  GradNormProgram,
  StepIncrementProgram,
  type WgslAdamwUpdateArgs,
  type WgslGradNormSquaredArgs,
  wgslAdamwUpdate,
  wgslGradNormSquared,
  wgslStepIncrement,
} from './wgsl.js';
