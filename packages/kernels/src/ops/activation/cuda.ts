/**
 * CUDA launchers of the activation op (activation.cu): queued on `call.stream`, never
 * synchronising or allocating, so they can be captured into a CUDA graph.
 */
import { launch } from '@cutrec/tensor';
import { type DeviceDropout, packDropoutSite } from '../dropout/index.js';
import { opModule } from '../module.js';
import { aligned, checkBytes, contextOf, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';
import type { ActivationKind } from './reference.js';

/** Arguments of {@link cudaActivationForward}. */
export interface CudaActivationForwardArgs {
  /** [n] pre-activations (`dtype`). */
  pre: DevicePtr;
  /** [n] out (`dtype`); may be `pre` itself. */
  out: DevicePtr;
  n: number;
  kind: ActivationKind;
  dtype: 'float32' | 'bfloat16';
  dropout?: DeviceDropout;
}

/** Arguments of {@link cudaActivationBackward}. */
export interface CudaActivationBackwardArgs {
  pre: DevicePtr;
  /** [n] gradient of `out` (`dtype`). */
  dOut: DevicePtr;
  /** [n] out (`dtype`); may be `dOut` or `pre` itself. */
  dPre: DevicePtr;
  n: number;
  kind: ActivationKind;
  dtype: 'float32' | 'bfloat16';
  dropout?: DeviceDropout;
}

const BLOCK = 256;

function checkN(name: string, n: number, kind: string): number {
  if (!(Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 4)) {
    throw new RangeError(`${name}: n must be an integer in [0, 2^31 − 4], got ${n}`);
  }
  if (kind !== 'relu' && kind !== 'gelu') throw new RangeError(`${name}: unknown activation kind '${kind}'`);
  return kind === 'relu' ? 0 : 1;
}

/** out = act(pre) · dropout on the device. */
export function cudaActivationForward(a: CudaActivationForwardArgs, call: OpCall = {}): void {
  const { n, dtype } = a;
  const kind = checkN('cudaActivationForward', n, a.kind);
  const eb = dtype === 'float32' ? 4 : 2;
  checkBytes('pre', a.pre, n * eb);
  checkBytes('out', a.out, n * eb);
  if (n === 0) return;
  const vec = aligned(a.pre, 4 * eb) && aligned(a.out, 4 * eb);
  const kernel = opModule('activation', contextOf(a.out)).kernel(
    `activation_forward_${dtype === 'float32' ? 'f32' : 'bf16'}`,
  );
  launch(kernel, { grid: Math.ceil(n / 4 / BLOCK), block: BLOCK, stream: call.stream ?? null }, [
    ptrArg(a.pre),
    ptrArg(a.out),
    { i32: n },
    { i32: kind },
    { bytes: packDropoutSite(a.dropout) },
    { i32: vec ? 1 : 0 },
  ]);
}

/** dPre = dOut · dropout · act'(pre) on the device. */
export function cudaActivationBackward(a: CudaActivationBackwardArgs, call: OpCall = {}): void {
  const { n, dtype } = a;
  const kind = checkN('cudaActivationBackward', n, a.kind);
  const eb = dtype === 'float32' ? 4 : 2;
  checkBytes('pre', a.pre, n * eb);
  checkBytes('dOut', a.dOut, n * eb);
  checkBytes('dPre', a.dPre, n * eb);
  if (n === 0) return;
  const vec = aligned(a.pre, 4 * eb) && aligned(a.dOut, 4 * eb) && aligned(a.dPre, 4 * eb);
  const kernel = opModule('activation', contextOf(a.dPre)).kernel(
    `activation_backward_${dtype === 'float32' ? 'f32' : 'bf16'}`,
  );
  launch(kernel, { grid: Math.ceil(n / 4 / BLOCK), block: BLOCK, stream: call.stream ?? null }, [
    ptrArg(a.pre),
    ptrArg(a.dOut),
    ptrArg(a.dPre),
    { i32: n },
    { i32: kind },
    { bytes: packDropoutSite(a.dropout) },
    { i32: vec ? 1 : 0 },
  ]);
}
