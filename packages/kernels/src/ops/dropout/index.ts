/** Dropout: the mask definition shared by every engine, and its device form for CUDA ops. */

export { DROPOUT_MASK_FIELDS, DROPOUT_WORKGROUP_SIZE, dropoutMaskWGSL } from './dropout.wgsl.js';
export {
  DROPOUT_TAG,
  type DropoutDraw,
  type DropoutSpec,
  dropoutMaskHost,
  dropoutMultiplier,
  keepThreshold,
} from './mask.js';
export { type DeviceDropout, DROPOUT_SITE_BYTES, packDropoutSite } from './site.js';
export { DropoutMaskProgram, wgslDropoutMask } from './wgsl.js';
