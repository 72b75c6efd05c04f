/** The DropoutSite struct the CUDA layer ops take by value (src/ops/common.cuh), packed byte for byte. */
import { seedKey } from '@cutrec/sampler';
import { addressOf, type DevicePtr } from '../ptr.js';
import { keepThreshold } from './mask.js';

/** sizeof(DropoutSite): k0 k1 site threshold (u32) · scale (f32) · enabled (i32) · step pointer. */
export const DROPOUT_SITE_BYTES = 32;

/** A dropout site on the device: rate 0 (or no site) is the identity; `step` points at the u32 stream. */
export interface DeviceDropout {
  seed: number;
  site: number;
  rate: number;
  /** Device u32 holding the stream (the training step): read by the kernel at run time. */
  step: DevicePtr;
}

/** The 32 bytes of DropoutSite for `d` (undefined or rate 0: disabled). */
export function packDropoutSite(d: DeviceDropout | undefined): Uint8Array {
  const buf = new ArrayBuffer(DROPOUT_SITE_BYTES);
  const v = new DataView(buf);
  if (d && d.rate > 0) {
    if (!(d.rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${d.rate}`);
    const [k0, k1] = seedKey(d.seed);
    v.setUint32(0, k0 >>> 0, true);
    v.setUint32(4, k1 >>> 0, true);
    v.setUint32(8, d.site >>> 0, true);
    v.setUint32(12, keepThreshold(d.rate), true);
    v.setFloat32(16, 1 / (1 - d.rate), true);
    v.setInt32(20, 1, true);
    v.setBigUint64(24, addressOf(d.step), true);
  }
  return new Uint8Array(buf);
}
