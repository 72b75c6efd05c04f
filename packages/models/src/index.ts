/**
 * @cutrec/models — SASRec on tfjs, its training step with any loss, full-catalog top-k scoring
 * and safetensors checkpoints.
 */

export {
  CHECKPOINT_FORMAT,
  type CheckpointInfo,
  checkpointBytes,
  loadCheckpoint,
  loadModel,
  readCheckpoint,
  saveCheckpoint,
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
export { DROPOUT_TAG, dropoutMaskWGSL } from './dropout/dropout-mask.wgsl.js';
export {
  type DropoutDraw,
  DropoutMaskProgram,
  dropoutMaskHost,
  keepThreshold,
} from './dropout/dropout-mask-program.js';
export { type EvaluateModelOptions, evaluateModel } from './eval/evaluate.js';
export { type RankOptions, rankOfTarget } from './eval/rank.js';
export { rankTargets, recommend, sliceSeen } from './eval/scoring.js';
export { checkSeen, isSeen, type SeenItems, seenFromHistories } from './eval/seen.js';
export { topKItems } from './eval/topk.js';
export { type TopKShaderParams, topKWGSL } from './eval/topk.wgsl.js';
export { TOPK_WGSL_MAX_K, TopKProgram } from './eval/topk-program.js';
export { better, topKReference } from './eval/topk-reference.js';
export { topKTfjs } from './eval/topk-tfjs.js';
export type { TopK, TopKOptions } from './eval/topk-types.js';
export { computeLoss, type LossContext } from './losses/loss.js';
export { gbceBeta, type SampledBceOptions, sampledBce } from './losses/sampled-bce.js';
export {
  type BceLoss,
  type CceMinusLoss,
  type CeLoss,
  checkLossSpec,
  type GbceLoss,
  type LossSpec,
} from './losses/types.js';
export { AdamW, type AdamWConfig, type ResolvedAdamWConfig, resolveAdamW } from './optim/adamw.js';
export { checkSchedule, type LrSchedule, learningRate } from './optim/schedule.js';
export { checkInputIds, type ForwardOptions, type NamedParameter, SASRec } from './sasrec.js';
export { type Batch, Trainer, type TrainerOptions } from './train.js';
