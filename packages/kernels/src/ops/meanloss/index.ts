/** Mean of per-row losses over valid rows, and the rows' upstream gradient 1/count. */
export { type CudaMeanLossArgs, cudaMeanLoss } from './cuda.js';
export { type MeanLossArgs, meanLoss } from './reference.js';
export { MeanLossProgram, type WgslMeanLossArgs, wgslMeanLoss } from './wgsl.js';
