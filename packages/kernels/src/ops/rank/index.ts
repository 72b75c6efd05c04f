/** The rank of each user's target among all items (full-catalog evaluation), seen items excluded, no users × C matrix. */
export {
  type CudaRankOfTargetsArgs,
  type CudaRankSeen,
  cudaRankOfTargets,
  RANK_MAX_C,
  RANK_MAX_D,
  rankChunks,
} from './cuda.js';
export { checkRankArgs, type RankOfTargetsArgs, type RankSeen, rankOfTargets } from './reference.js';
export { RankProgram, type WgslRankOfTargetsArgs, wgslRankOfTargets } from './wgsl.js';
