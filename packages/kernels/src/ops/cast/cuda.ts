/**
 * CUDA launcher of the cast op (cast.cu): queued on `call.stream`, never synchronising or
 * allocating, so it can be captured into a CUDA graph.
 */
import { launch } from '@cutrec/tensor';
import { opModule } from '../module.js';
import { addressOf, checkBytes, contextOf, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';

/** Arguments of {@link cudaCastToBf16}. */
export interface CudaCastToBf16Args {
  /** [n] float32. */
  src: DevicePtr;
  /** [n] bfloat16 out. */
  dst: DevicePtr;
  n: number;
}

const BLOCK = 256;

/** dst = bf16(src), round to nearest even (__float2bfloat16_rn), on the device. */
export function cudaCastToBf16(a: CudaCastToBf16Args, call: OpCall = {}): void {
  const { n } = a;
  if (!(Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 4)) {
    throw new RangeError(`cudaCastToBf16: n must be an integer in [0, 2^31 − 4], got ${n}`);
  }
  checkBytes('src', a.src, n * 4);
  checkBytes('dst', a.dst, n * 2);
  if (n === 0) return;
  const vec = addressOf(a.src) % 16n === 0n && addressOf(a.dst) % 8n === 0n;
  const ctx = contextOf(a.dst);
  launch(
    opModule('cast', ctx).kernel('cast_forward_bf16'),
    { grid: Math.ceil(n / 4 / BLOCK), block: BLOCK, stream: call.stream ?? null },
    [ptrArg(a.src), ptrArg(a.dst), { i32: n }, { i32: vec ? 1 : 0 }],
  );
}
