/**
 * @cutrec/sampler — which negatives: a negative is a pure function of (seed, group, j, stream)
 * through Philox4x32-10, computed identically in TypeScript, WGSL and CUDA.
 */

export { type AliasOptions, buildAliasTable, checkAliasTable, encodedProbabilities } from './alias.js';
export { type SamplerBuffers, samplerBuffers } from './buffers.js';
export { cudaHeaders, cudaIncludeDir, philoxCUDA, samplerCUDA } from './cuda.js';
export {
  checkSpec,
  drawerOf,
  drawItem,
  groupOf,
  inBatchCandidates,
  inBatchLogQ,
  negatives,
  sampleLogQ,
} from './negatives.js';
export {
  mulhi32,
  mullo32,
  PHILOX_M0,
  PHILOX_M1,
  PHILOX_W0,
  PHILOX_W1,
  philox4x32_10,
  seedKey,
  uniformItem,
} from './philox.js';
export { philoxWGSL } from './philox.wgsl.js';
export {
  SAMPLER_BINDINGS,
  type SamplerWGSL,
  type SamplerWGSLOptions,
  samplerWGSL,
  shareMode,
} from './sampler.wgsl.js';
export type {
  AliasTable,
  InBatchSpec,
  PopularitySpec,
  SamplerKind,
  SamplerSpec,
  Share,
  UniformSpec,
} from './types.js';
