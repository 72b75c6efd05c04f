/** float32 → bfloat16 copies. */
export { type CudaCastToBf16Args, cudaCastToBf16 } from './cuda.js';
export { type CastToBf16Args, castToBf16 } from './reference.js';
