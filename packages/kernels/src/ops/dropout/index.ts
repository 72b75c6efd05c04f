/** Dropout: the mask definition shared by every engine, and its device form for CUDA ops. */
export {
  DROPOUT_TAG,
  type DropoutDraw,
  type DropoutSpec,
  dropoutMaskHost,
  dropoutMultiplier,
  keepThreshold,
} from './mask.js';
export { DROPOUT_SITE_BYTES, type DeviceDropout, packDropoutSite } from './site.js';
