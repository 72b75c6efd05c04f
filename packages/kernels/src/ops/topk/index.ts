export { better, isSeen, topKReference } from './reference.js';
export { TOPK_PARAM_FIELDS, type TopKShaderParams, topKWGSL, topKWorkgroupBytes } from './topk.wgsl.js';
export type { SeenItems, TopK } from './types.js';
export { TOPK_WGSL_MAX_K, TopKProgram, topKWgslUnsupported } from './wgsl.js';
