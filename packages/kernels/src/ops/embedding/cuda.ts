/**
 * CUDA launchers of the embedding op (embedding.cu): queued on `call.stream`, never synchronising
 * or allocating, so they can be captured into a CUDA graph.
 */
import { launch } from '@cutrec/tensor';
import { type DeviceDropout, packDropoutSite } from '../dropout/index.js';
import { opModule } from '../module.js';
import { aligned, checkBytes, contextOf, type DevicePtr, type OpCall, ptrArg } from '../ptr.js';

/** Arguments of {@link cudaEmbeddingForward}. */
export interface CudaEmbeddingForwardArgs {
  /** [R] int32 ids (in [0, V) or padId). */
  ids: DevicePtr;
  /** [V, D] float32 item table. */
  table: DevicePtr;
  /** [L, D] float32 positions. */
  pos: DevicePtr;
  /** [R, D] output of `dtype`. */
  out: DevicePtr;
  R: number;
  L: number;
  D: number;
  scale: number;
  padId: number;
  /** Storage type of `out`. */
  dtype: 'float32' | 'bfloat16';
  /** Rows of the table, when known: checked against `table`'s size. */
  V?: number;
  dropout?: DeviceDropout;
}

/** Arguments of {@link cudaEmbeddingBackward}. */
export interface CudaEmbeddingBackwardArgs {
  ids: DevicePtr;
  /** [R, D] gradient of `out`, of `dtype`. */
  dOut: DevicePtr;
  /** [V, D] float32, accumulates (atomicAdd). */
  dTable: DevicePtr;
  /** [L, D] float32, accumulates (atomicAdd). */
  dPos: DevicePtr;
  R: number;
  L: number;
  D: number;
  scale: number;
  padId: number;
  dtype: 'float32' | 'bfloat16';
  V?: number;
  dropout?: DeviceDropout;
}

const BLOCK = 256;

function checkDims(name: string, R: number, L: number, D: number, V: number | undefined): void {
  if (!(Number.isInteger(R) && R >= 0 && Number.isInteger(L) && L >= 1 && Number.isInteger(D) && D >= 1)) {
    throw new RangeError(`${name}: R, L, D must be integers with R ≥ 0, L ≥ 1, D ≥ 1 (got ${R}, ${L}, ${D})`);
  }
  if (R * D > 2 ** 32 - 4) throw new RangeError(`${name}: R·D = ${R * D} exceeds the 32-bit element index`);
  if (V !== undefined && !(Number.isInteger(V) && V >= 1))
    throw new RangeError(`${name}: V must be an integer ≥ 1`);
}

/** out = (table[ids]·scale + pos[t]) · dropout · [id ≠ pad] on the device. */
export function cudaEmbeddingForward(a: CudaEmbeddingForwardArgs, call: OpCall = {}): void {
  const { R, L, D, dtype } = a;
  checkDims('cudaEmbeddingForward', R, L, D, a.V);
  const eb = dtype === 'float32' ? 4 : 2;
  checkBytes('ids', a.ids, R * 4);
  checkBytes('table', a.table, (a.V ?? 1) * D * 4);
  checkBytes('pos', a.pos, L * D * 4);
  checkBytes('out', a.out, R * D * eb);
  if (R === 0) return;
  const vec = D % 4 === 0 && aligned(a.table, 16) && aligned(a.pos, 16) && aligned(a.out, 4 * eb);
  const kernel = opModule('embedding', contextOf(a.out)).kernel(
    `embedding_forward_${dtype === 'float32' ? 'f32' : 'bf16'}`,
  );
  launch(kernel, { grid: Math.ceil((R * D) / 4 / BLOCK), block: BLOCK, stream: call.stream ?? null }, [
    ptrArg(a.ids),
    ptrArg(a.table),
    ptrArg(a.pos),
    ptrArg(a.out),
    { i32: R },
    { i32: L },
    { i32: D },
    { f32: a.scale },
    { i32: a.padId },
    { bytes: packDropoutSite(a.dropout) },
    { i32: vec ? 1 : 0 },
  ]);
}

/** dTable[ids[r]] += scale · g, dPos[t] += g (float atomics) with g = dOut · dropout · [id ≠ pad]. */
export function cudaEmbeddingBackward(a: CudaEmbeddingBackwardArgs, call: OpCall = {}): void {
  const { R, L, D, dtype } = a;
  checkDims('cudaEmbeddingBackward', R, L, D, a.V);
  const eb = dtype === 'float32' ? 4 : 2;
  checkBytes('ids', a.ids, R * 4);
  checkBytes('dOut', a.dOut, R * D * eb);
  checkBytes('dTable', a.dTable, (a.V ?? 1) * D * 4);
  checkBytes('dPos', a.dPos, L * D * 4);
  if (R === 0) return;
  const vec = D % 4 === 0 && aligned(a.dOut, 4 * eb);
  const kernel = opModule('embedding', contextOf(a.dOut)).kernel(
    `embedding_backward_${dtype === 'float32' ? 'f32' : 'bf16'}`,
  );
  launch(kernel, { grid: Math.ceil((R * D) / 4 / BLOCK), block: BLOCK, stream: call.stream ?? null }, [
    ptrArg(a.ids),
    ptrArg(a.dOut),
    ptrArg(a.dTable),
    ptrArg(a.dPos),
    { i32: R },
    { i32: L },
    { i32: D },
    { f32: a.scale },
    { i32: a.padId },
    { bytes: packDropoutSite(a.dropout) },
    { i32: vec ? 1 : 0 },
  ]);
}
