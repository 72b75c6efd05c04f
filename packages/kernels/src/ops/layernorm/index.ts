/** Layer norm with an optional dropped-out residual and padding row mask; backward with a skip gradient. */
export {
  type CudaLayerNormBackwardArgs,
  type CudaLayerNormForwardArgs,
  type CudaLayerNormRowMask,
  cudaLayerNormBackward,
  cudaLayerNormForward,
} from './cuda.js';
export {
  type LayerNormBackwardArgs,
  type LayerNormForwardArgs,
  type LayerNormRowMask,
  layerNormBackward,
  layerNormForward,
} from './reference.js';
export {
  LayerNormBackwardProgram,
  LayerNormColumnsProgram,
  LayerNormForwardProgram,
  LN_WGSL_MAX_D,
  type WgslLayerNormBackwardArgs,
  type WgslLayerNormForwardArgs,
  type WgslRowMask,
  wgslLayerNormBackward,
  wgslLayerNormForward,
} from './wgsl.js';
