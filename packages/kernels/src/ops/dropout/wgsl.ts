/** The WebGPU dropout-mask program (dropout.wgsl.ts): a float32 mask of n elements from Philox on the device. */

import { seedKey } from '@cutrec/sampler';
import type { BindingKind, ParamValues, WgslProgram } from '../../wgsl/program.js';
import { Runner } from '../../wgsl/runner.js';
import { DROPOUT_MASK_FIELDS, DROPOUT_WORKGROUP_SIZE, dropoutMaskWGSL } from './dropout.wgsl.js';
import { type DropoutDraw, keepThreshold } from './mask.js';

/** mask[e] = dropoutMaskHost(n, rate, draw)[e], bit for bit. Bindings: params, mask (rw f32 [n]). */
export class DropoutMaskProgram implements WgslProgram {
  readonly key = 'dropout/mask';
  readonly workgroupSize = DROPOUT_WORKGROUP_SIZE;
  readonly bindings: readonly BindingKind[] = ['uniform', 'rw'];
  readonly paramFields = DROPOUT_MASK_FIELDS;

  code(): string {
    return dropoutMaskWGSL();
  }

  /** The dispatch's params and work units for a mask of n elements. */
  static dispatch(
    n: number,
    rate: number,
    draw: DropoutDraw,
  ): { program: DropoutMaskProgram; params: ParamValues; units: number } {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`dropout mask: n must be an integer ≥ 0, got ${n}`);
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout mask: rate must be in [0, 1), got ${rate}`);
    // The site is on even at rate 0: dropoutMaskHost compares with the threshold at every rate.
    const [k0, k1] = seedKey(draw.seed);
    const site = {
      d_k0: k0,
      d_k1: k1,
      d_site: draw.site >>> 0,
      d_thr: keepThreshold(rate),
      d_scale: 1 / (1 - rate),
      d_on: 1,
    };
    return {
      program: new DropoutMaskProgram(),
      params: { n, stream: draw.stream >>> 0, ...site },
      units: Math.ceil(n / 4 / DROPOUT_WORKGROUP_SIZE),
    };
  }
}

/** Writes the mask of n elements for (rate, draw) into `mask` (f32, ≥ n elements) on `device`. */
export function wgslDropoutMask(
  device: GPUDevice,
  a: { mask: GPUBufferBinding | GPUBuffer; n: number; rate: number; draw: DropoutDraw },
): void {
  const d = DropoutMaskProgram.dispatch(a.n, a.rate, a.draw);
  Runner.of(device).submit([{ ...d, buffers: [a.mask] }], 'dropout/mask');
}
