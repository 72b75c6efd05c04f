/** Causal multi-head attention with key padding and dropout on the probabilities: reference and CUDA (online softmax, no L×L tensor). */
export {
  ATTENTION_MAX_DH,
  ATTENTION_MAX_L,
  attentionKeepWords,
  type CudaAttentionBackwardArgs,
  type CudaAttentionForwardArgs,
  type CudaAttentionShape,
  cudaAttentionBackward,
  cudaAttentionForward,
} from './cuda.js';
export {
  type AttentionBackwardArgs,
  type AttentionForwardArgs,
  type AttentionShape,
  attentionBackward,
  attentionForward,
} from './reference.js';
export { type AttentionKernel, type AttentionTiling, attentionBytes, attentionTiling } from './tiles.js';
export {
  ATTENTION_WGSL_MAX_DH,
  ATTENTION_WGSL_MAX_L,
  AttentionDeltaProgram,
  AttentionDkvKeysProgram,
  AttentionDkvProgram,
  AttentionDqProgram,
  AttentionForwardProgram,
  laneRowsShape,
  type WgslAttentionBackwardArgs,
  type WgslAttentionForwardArgs,
  type WgslAttentionShape,
  wgslAttentionBackward,
  wgslAttentionForward,
} from './wgsl.js';
