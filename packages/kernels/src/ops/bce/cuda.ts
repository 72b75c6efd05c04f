/**
 * BCE / gBCE CUDA launchers (bce.cu): queued on a stream, never synchronising. The negatives'
 * stream is read from the device step counter, so a captured graph draws fresh negatives each replay.
 */
import { seedKey } from '@cutrec/sampler';
import { launch } from '@cutrec/tensor';
import { opModule } from '../module.js';
import { addressOf, checkBytes, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';

/** sizeof(BceArgs) in bce.cu. */
export const BCE_ARGS_BYTES = 48;
const WARPS = 4;

/** The inputs of the CUDA BCE loss. */
export interface CudaBceInputs {
  /** [N, D] of `dtype`. */
  hidden: DevicePtr;
  /** [C, D] of `dtype`. */
  items: DevicePtr;
  /** int32 [N]: item ids in [0, C), or ignoreIndex. */
  targets: DevicePtr;
  N: number;
  C: number;
  D: number;
  /** Negatives per row. */
  K: number;
  beta: number;
  seed: number;
  /** Device u32: the negatives' stream (the training step). */
  step: DevicePtr;
  removeAccidentalHits: boolean;
  ignoreIndex: number;
  /** Storage type of hidden and items (arithmetic is float32). */
  dtype: 'float32' | 'bfloat16';
}

/** The 48 bytes of BceArgs (bce.cu) for `a`. */
export function packBceArgs(
  a: Pick<CudaBceInputs, 'N' | 'C' | 'D' | 'K' | 'beta' | 'seed' | 'removeAccidentalHits' | 'ignoreIndex'> & {
    step: DevicePtr | bigint;
  },
): Uint8Array {
  const buf = new ArrayBuffer(BCE_ARGS_BYTES);
  const v = new DataView(buf);
  const [k0, k1] = seedKey(a.seed);
  v.setUint32(0, a.N, true);
  v.setUint32(4, a.C, true);
  v.setUint32(8, a.D, true);
  v.setUint32(12, a.K, true);
  v.setUint32(16, k0, true);
  v.setUint32(20, k1, true);
  v.setInt32(24, a.ignoreIndex, true);
  v.setInt32(28, a.removeAccidentalHits ? 1 : 0, true);
  v.setFloat32(32, a.beta, true);
  v.setBigUint64(40, typeof a.step === 'bigint' ? a.step : addressOf(a.step), true);
  return new Uint8Array(buf);
}

function check(a: CudaBceInputs): { suffix: 'f32' | 'bf16'; sharedBytes: number; grid: number } {
  for (const [name, v, lo] of [
    ['N', a.N, 0],
    ['C', a.C, 1],
    ['D', a.D, 1],
    ['K', a.K, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < lo || v > 0xffffffff) {
      throw new RangeError(`cudaBce: ${name} must be an integer in [${lo}, 2^32), got ${v}`);
    }
  }
  if (!Number.isInteger(a.ignoreIndex) || a.ignoreIndex < -(2 ** 31) || a.ignoreIndex >= 2 ** 31) {
    throw new RangeError(`cudaBce: ignoreIndex must be an int32, got ${a.ignoreIndex}`);
  }
  if (a.dtype !== 'float32' && a.dtype !== 'bfloat16') {
    throw new RangeError(`cudaBce: dtype must be 'float32' or 'bfloat16', got ${JSON.stringify(a.dtype)}`);
  }
  const eb = a.dtype === 'float32' ? 4 : 2;
  checkBytes('hidden', a.hidden, a.N * a.D * eb);
  checkBytes('items', a.items, a.C * a.D * eb);
  checkBytes('targets', a.targets, a.N * 4);
  checkBytes('step', a.step, 4);
  const sharedBytes = WARPS * a.K * 8;
  if (sharedBytes > 200 * 1024) throw new RangeError(`cudaBce: K = ${a.K} needs too much shared memory`);
  return { suffix: a.dtype === 'float32' ? 'f32' : 'bf16', sharedBytes, grid: Math.ceil(a.N / WARPS) };
}

/** rowLoss (float32 [N], written) = β·softplus(−pos) + Σ keep·softplus(s_j) per row, 0 for ignored rows (reference.ts bceForward). */
export function cudaBceForward(a: CudaBceInputs & { rowLoss: DevicePtr }, call: OpCall = {}): void {
  const { suffix, sharedBytes, grid } = check(a);
  checkBytes('rowLoss', a.rowLoss, a.N * 4);
  if (a.N === 0) return;
  launch(
    opModule('bce').kernel(`bce_fwd_${suffix}`),
    { grid, block: WARPS * 32, sharedBytes, stream: call.stream ?? null },
    [ptrArg(a.hidden), ptrArg(a.items), ptrArg(a.targets), ptrArg(a.rowLoss), { bytes: packBceArgs(a) }],
  );
}

/**
 * Gradients of Σ dRow[i]·loss_i (reference.ts bceBackward): dHidden (float32 [N, D]) written, 0 on
 * ignored rows; dItems (float32 [C, D]) accumulated with atomicAdd (zero it first for a fresh gradient).
 */
export function cudaBceBackward(
  a: CudaBceInputs & { dRow: DevicePtr; dHidden: DevicePtr; dItems: DevicePtr },
  call: OpCall = {},
): void {
  const { suffix, sharedBytes, grid } = check(a);
  checkBytes('dRow', a.dRow, a.N * 4);
  checkBytes('dHidden', a.dHidden, a.N * a.D * 4);
  checkBytes('dItems', a.dItems, a.C * a.D * 4);
  if (a.N === 0) return;
  launch(
    opModule('bce').kernel(`bce_bwd_${suffix}`),
    { grid, block: WARPS * 32, sharedBytes, stream: call.stream ?? null },
    [
      ptrArg(a.hidden),
      ptrArg(a.items),
      ptrArg(a.targets),
      ptrArg(a.dRow),
      ptrArg(a.dHidden),
      ptrArg(a.dItems),
      { bytes: packBceArgs(a) },
    ],
  );
}
