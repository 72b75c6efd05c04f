/** Embedding lookup with scale, positions, dropout and padding mask; its scatter-add backward. */
export {
  type CudaEmbeddingBackwardArgs,
  type CudaEmbeddingForwardArgs,
  cudaEmbeddingBackward,
  cudaEmbeddingForward,
} from './cuda.js';
export {
  type EmbeddingBackwardArgs,
  type EmbeddingForwardArgs,
  embeddingBackward,
  embeddingForward,
} from './reference.js';
export {
  EmbeddingForwardProgram,
  EmbeddingPosGradProgram,
  EmbeddingTableGradProgram,
  type WgslEmbeddingBackwardArgs,
  type WgslEmbeddingForwardArgs,
  wgslEmbeddingBackward,
  wgslEmbeddingForward,
} from './wgsl.js';
