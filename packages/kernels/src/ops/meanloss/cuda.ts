/** The mean-loss CUDA launcher (meanloss.cu): queued on a stream, never synchronising; the ring slot comes from the device step counter. */
import { launch } from '@cutrec/tensor';
import { opModule } from '../module.js';
import { checkBytes, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';

/** Arguments of {@link cudaMeanLoss}. */
export interface CudaMeanLossArgs {
  /** float32 [N] per-row losses. */
  values: DevicePtr;
  /** int32 [N]. */
  targets: DevicePtr;
  N: number;
  ignoreIndex: number;
  /** float32 [ring]: the mean is written into out[*step % ring]. */
  out: DevicePtr;
  ring: number;
  /** Device u32: the step counter. */
  step: DevicePtr;
  /** float32 [N] out: 1/count on valid rows, 0 elsewhere. */
  dValues: DevicePtr;
}

/** out[*step % ring] = mean of values over rows with targets ≠ ignoreIndex (0 when none); dValues = their 1/count (reference.ts meanLoss). */
export function cudaMeanLoss(a: CudaMeanLossArgs, call: OpCall = {}): void {
  if (!Number.isInteger(a.N) || a.N < 0 || a.N > 0xffffffff) {
    throw new RangeError(`cudaMeanLoss: N must be an integer in [0, 2^32), got ${a.N}`);
  }
  if (!Number.isInteger(a.ring) || a.ring < 1 || a.ring > 0xffffffff) {
    throw new RangeError(`cudaMeanLoss: ring must be an integer in [1, 2^32), got ${a.ring}`);
  }
  if (!Number.isInteger(a.ignoreIndex) || a.ignoreIndex < -(2 ** 31) || a.ignoreIndex >= 2 ** 31) {
    throw new RangeError(`cudaMeanLoss: ignoreIndex must be an int32, got ${a.ignoreIndex}`);
  }
  checkBytes('values', a.values, a.N * 4);
  checkBytes('targets', a.targets, a.N * 4);
  checkBytes('dValues', a.dValues, a.N * 4);
  checkBytes('out', a.out, a.ring * 4);
  checkBytes('step', a.step, 4);
  launch(
    opModule('meanloss').kernel('meanloss_fwd_f32'),
    { grid: 1, block: 1024, stream: call.stream ?? null },
    [
      ptrArg(a.values),
      ptrArg(a.targets),
      { u32: a.N },
      { i32: a.ignoreIndex },
      ptrArg(a.out),
      { u32: a.ring },
      ptrArg(a.step),
      ptrArg(a.dValues),
    ],
  );
}
