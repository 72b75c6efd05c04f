/** The layer ops (see README.md beside this file): one folder per op, each with reference, CUDA kernels and launchers. */
export * from './activation/index.js';
export * from './adamw/index.js';
export * from './attention/index.js';
export * from './bce/index.js';
export * from './cast/index.js';
export {
  dropoutCoreWGSL,
  dropoutFields,
  dropoutParams,
  dropoutSiteWGSL,
  unitWGSL,
  type WgslDropout,
} from './common.wgsl.js';
export * from './dropout/index.js';
export * from './embedding/index.js';
export * from './layernorm/index.js';
export * from './linear/index.js';
export * from './meanloss/index.js';
export { opModule, opUnavailableReason } from './module.js';
export {
  addressOf,
  aligned,
  bytesOf,
  checkBytes,
  contextOf,
  type DevicePtr,
  type DeviceView,
  deviceView,
  type OpCall,
  ptrArg,
} from './ptr.js';
export * from './rank/index.js';
export * from './topk/index.js';
export {
  actBytes,
  actHeaderWGSL,
  Binder,
  checkAct,
  type Decl,
  opBindings,
  sameView,
  type WgslAct,
  type WgslView,
} from './wgsl-view.js';
