/**
 * @cutrec/models — SASRec on tfjs, its training step with any loss, full-catalog top-k scoring
 * and safetensors checkpoints.
 */

// The top-k kernel and its reference live in @cutrec/kernels (src/ops/topk); re-exported for callers of the earlier API.
export {
  better,
  DROPOUT_TAG,
  type DropoutDraw,
  dropoutMaskHost,
  dropoutMaskWGSL,
  keepThreshold,
  TOPK_CUDA_MAX_K,
  TOPK_WGSL_MAX_K,
  TopKProgram,
  type TopKShaderParams,
  topKReference,
  topKWGSL,
} from '@cutrec/kernels';
export {
  CHECKPOINT_FORMAT,
  type Checkpointable,
  type CheckpointInfo,
  checkpointArrays,
  checkpointBytes,
  loadCheckpoint,
  loadModel,
  readCheckpoint,
  saveCheckpoint,
  type TrainingState,
  writeFileAtomic,
} from './checkpoint/checkpoint.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  SAFETENSORS_DTYPES,
  type SafeTensor,
  type SafetensorsDtype,
} from './checkpoint/safetensors.js';
export { type ResolvedSASRecConfig, resolveConfig, type SASRecConfig } from './config.js';
export { tfjsDevice } from './device.js';
export { DropoutMaskProgram } from './dropout/dropout-mask-program.js';
export type { EngineEvaluateOptions, EngineName, TrainingEngine } from './engine.js';
export { type EvaluateModelOptions, evaluateModel } from './eval/evaluate.js';
export { type RankOptions, rankOfTarget } from './eval/rank.js';
export { rankTargets, recommend, sliceSeen } from './eval/scoring.js';
export { checkSeen, isSeen, type SeenItems, seenFromHistories } from './eval/seen.js';
export { topKItems } from './eval/topk.js';
export { topKTfjs } from './eval/topk-tfjs.js';
export type { TopK, TopKOptions } from './eval/topk-types.js';
export {
  allocateStepBuffers,
  type BlockActivations,
  bufferSpecs,
  type StepBuffers,
  type StepShapes,
  stepBufferBytes,
  stepShapes,
} from './fused/buffers.js';
export { loadFusedCheckpoint } from './fused/checkpoint.js';
export {
  type CreateFusedDeviceOptions,
  createFusedDevice,
  type FusedDeviceKind,
  fusedDeviceKind,
  fusedWebGpuUnavailableReason,
} from './fused/choose-device.js';
export {
  type CudaBuf,
  CudaDevice,
  type CudaDeviceOptions,
  FUSED_CUDA_OPS,
  fusedCudaUnavailableReason,
} from './fused/cuda-device.js';
export {
  type FusedDevice,
  FusedTrainer,
  type FusedTrainerOptions,
  fusedBytes,
  stepLoss,
} from './fused/engine.js';
export { type EvaluateFusedOptions, evaluateFused } from './fused/evaluate.js';
export { HostDevice } from './fused/host-device.js';
export { HostOps, type HostOpsOptions } from './fused/host-ops.js';
export {
  entryOf,
  LAYOUT_ALIGN,
  type LayoutEntry,
  type ParamLayout,
  packFlat,
  paramLayout,
  unpackFlat,
} from './fused/layout.js';
export type {
  Activation,
  BufferKind,
  Drop,
  EngineOps,
  RowMask,
  StepLoss,
  StepOptimizer,
} from './fused/ops.js';
export { backward, forward, lossForward, type StepContext, trainStep, update } from './fused/step.js';
export {
  FUSED_WEBGPU_STORAGE_BUFFERS,
  type WebGpuBuf,
  WebGpuDevice,
  type WebGpuDeviceOptions,
  webGpuUnsupported,
} from './fused/webgpu-device.js';
export { computeLoss, type LossContext } from './losses/loss.js';
export { gbceBeta, type SampledBceOptions, sampledBce } from './losses/sampled-bce.js';
export {
  type BceLoss,
  type CceMinusLoss,
  type CeLoss,
  type CustomLoss,
  checkLossSpec,
  type GbceLoss,
  type LossSpec,
} from './losses/types.js';
export { AdamW, type AdamWConfig, type ResolvedAdamWConfig, resolveAdamW } from './optim/adamw.js';
export { checkSchedule, type LrSchedule, learningRate } from './optim/schedule.js';
export {
  checkInputIds,
  type ForwardOptions,
  initialValues,
  type NamedParameter,
  type ParameterInit,
  type ParameterSpec,
  parameterSpecs,
  SASRec,
} from './sasrec.js';
export { type Batch, checkBatch, Trainer, type TrainerOptions } from './train.js';
