/** Causal multi-head attention with key padding and dropout on the probabilities: reference and CUDA (online softmax, no L×L tensor). */
export {
  ATTENTION_MAX_DH,
  ATTENTION_MAX_L,
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
