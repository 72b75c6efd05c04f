/** Dropout: the mask definition shared by every engine, and its device form for CUDA ops. */
export {
  DROPOUT_TAG,
  type DropoutDraw,
  type DropoutSpec,
  dropoutMaskHost,
  dropoutMultiplier,
  keepThreshold,
} from './mask.js';
export { type DeviceDropout, DROPOUT_SITE_BYTES, packDropoutSite } from './site.js';
