/** Linear layer: row-major GEMM with bias (cuBLASLt or our own kernels) and the bias gradient. */
export {
  type CudaBiasGradArgs,
  type CudaMatmulArgs,
  clearGemmPlans,
  cudaBiasGrad,
  cudaMatmul,
  type GemmBackendChoice,
  gemmBackend,
  type LinearDtype,
  ltDescFor,
  setGemmBackend,
} from './cuda.js';
export { type BiasGradArgs, biasGrad, type MatmulArgs, matmul } from './reference.js';
export {
  BiasGradProgram,
  GemmProgram,
  gemmCpuSubgroupSize,
  gemmCpuVariant,
  gemmCpuVec4Ok,
  gemmSplits,
  gemmTile,
  gemmVec4Ok,
  SplitKSumProgram,
  type WgslBiasGradArgs,
  type WgslMatmulArgs,
  wgslBiasGrad,
  wgslMatmul,
} from './wgsl.js';
