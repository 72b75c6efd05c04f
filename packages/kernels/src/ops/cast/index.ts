/** float32 → bfloat16 copies (CUDA), float32 → act (f32 or f16) copies (WebGPU). */
export { type CudaCastToBf16Args, cudaCastToBf16 } from './cuda.js';
export { type CastToBf16Args, castToBf16 } from './reference.js';
export { CastOneBufferProgram, CastProgram, type WgslCastToActArgs, wgslCastToAct } from './wgsl.js';
