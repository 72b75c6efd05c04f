/**
 * WebGPU launcher of the mean loss (meanloss.wgsl.ts): returns the dispatch of one call.
 * Arguments mean what they mean for cudaMeanLoss (cuda.ts; EngineOps.meanLoss).
 */
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { Binder, checkInt, opBindings, type WgslView } from '../wgsl-view.js';
import { MEANLOSS_BUFFERS, MEANLOSS_FIELDS, MEANLOSS_WORKGROUP, meanLossWGSL } from './meanloss.wgsl.js';

/** out[step % ring] = mean of the valid rows' values; dValues = 1/count on them (or 1, with gradScale = 1/count). */
export class MeanLossProgram implements WgslProgram {
  readonly key = 'meanloss';
  readonly workgroupSize = MEANLOSS_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(MEANLOSS_BUFFERS);
  readonly paramFields = MEANLOSS_FIELDS;
  code = meanLossWGSL;
}

/** Arguments of {@link wgslMeanLoss} (as CudaMeanLossArgs). */
export interface WgslMeanLossArgs {
  /** float32 [N]. */
  values: WgslView;
  /** int32 [N]. */
  targets: WgslView;
  N: number;
  ignoreIndex: number;
  /** float32 [ring]: the mean goes to out[step % ring]. */
  out: WgslView;
  ring: number;
  /** u32 step counter. */
  step: WgslView;
  /** float32 [N] out: 1/count on valid rows (1 with gradScale), 0 elsewhere. */
  dValues: WgslView;
  /**
   * float32 [1] out, optional (the f16 engine's loss scaling): given, dValues = 1 on valid rows
   * (the sum's gradient) and gradScale[0] = 1/count (0 when no row is valid), for the optimizer
   * to unscale with (wgslGradNormSquared / wgslAdamwUpdate's gradScale). The mean is unchanged.
   */
  gradScale?: WgslView;
}

/** The mean loss's dispatch (one workgroup; N = 0 writes a mean of 0). */
export function wgslMeanLoss(device: GPUDevice, a: WgslMeanLossArgs): Step[] {
  const op = 'wgslMeanLoss';
  checkInt(op, 'N', a.N, 0);
  checkInt(op, 'ring', a.ring, 1);
  const b = new Binder(device, op, MEANLOSS_BUFFERS)
    .view('values', a.values, a.N)
    .view('targets', a.targets, a.N)
    .view('out', a.out, a.ring)
    .view('dValues', a.dValues, a.N)
    .view('gradScale', a.gradScale, 1)
    .view('step_ctr', a.step, 1);
  return [
    {
      program: new MeanLossProgram(),
      params: b.with({ N: a.N, ignore: a.ignoreIndex, ring: a.ring, has_scale: a.gradScale ? 1 : 0 }),
      buffers: b.buffers,
      units: 1,
    },
  ];
}
