/**
 * Tile shapes of the WGSL attention kernels (attention.wgsl.ts). A workgroup owns `rows` rows
 * (queries in the forward and dq passes, keys in the dK/dV pass) and streams the other side in
 * tiles of `cols` rows through workgroup memory; its threads hold two register tiles:
 *
 * - scores (S = A·Bᵀ over the head size): thread (tx, ty) owns rows ty + a·ty_n (a < rm) and the
 *   rn contiguous columns tx·rn … tx·rn + rn − 1 (so four neighbouring keys share one Philox draw);
 * - outputs (O += M·X over the streamed rows): thread (ox, oy) owns rows oy + a·oy_n (a < om) and
 *   columns ox + c·ox_n (c < od) of the head.
 *
 * Workgroup-memory rows are `pd` floats (the head padded to od·ox_n, plus one so neighbouring rows
 * fall in different banks) and row-side arrays have `rowsP` rows (the larger of the two layouts'
 * extents); padding is zero-filled so neither register loop needs a bounds check.
 */

/** Which kernel a tiling is for (its workgroup-memory arrays differ). */
export type AttentionKernel = 'forward' | 'dq' | 'dkv';

/** One kernel's tile and thread layout. */
export interface AttentionTiling {
  rows: number;
  cols: number;
  /** Threads per workgroup. */
  nt: number;
  tx: number;
  ty: number;
  rm: number;
  rn: number;
  ox: number;
  oy: number;
  om: number;
  od: number;
  rowsP: number;
  pd: number;
}

/** (rows, cols) tried largest first; the first whose workgroup memory fits is used. */
const CANDIDATES: readonly (readonly [number, number])[] = [
  [64, 32],
  [64, 16],
  [32, 32],
  [32, 16],
  [32, 8],
  [16, 32],
  [16, 16],
  [16, 8],
  [8, 8],
  [8, 4],
  [4, 4],
  [2, 2],
  [1, 1],
];

const pow2ceil = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** The thread layout of a (rows, cols) tile at head size dh. */
export function attentionLayout(rows: number, cols: number, dh: number): AttentionTiling {
  const nt = Math.min(128, Math.max(16, (rows * cols) / 4));
  const rn = Math.min(4, cols, Math.max(1, (rows * cols) / nt));
  const tx = cols / rn;
  const ty = nt / tx;
  const rm = Math.ceil(rows / ty);
  const ox = Math.min(32, pow2ceil(dh), nt);
  const oy = nt / ox;
  const om = Math.ceil(rows / oy);
  const od = Math.ceil(dh / ox);
  return {
    rows,
    cols,
    nt,
    tx,
    ty,
    rm,
    rn,
    ox,
    oy,
    om,
    od,
    rowsP: Math.max(rm * ty, om * oy),
    pd: od * ox + 1,
  };
}

/** Workgroup-memory words of every kernel's first-real-key search (FIRST_REAL_DECLS in attention.wgsl.ts). */
const FIRST_REAL_WORDS = 2;

/** Workgroup-memory bytes of `kernel` at tiling t (the arrays of attention.wgsl.ts). */
export function attentionBytes(kernel: AttentionKernel, t: AttentionTiling): number {
  const { rowsP, cols, pd, tx } = t;
  const floats =
    kernel === 'forward'
      ? rowsP * pd + cols * pd + rowsP * cols + rowsP * tx + 3 * rowsP + cols
      : kernel === 'dq'
        ? 2 * rowsP * pd + cols * pd + rowsP * cols + 2 * rowsP + cols
        : 2 * rowsP * pd + 2 * cols * pd + 2 * rowsP * cols + 2 * cols + rowsP;
  return 4 * (floats + FIRST_REAL_WORDS);
}

/** The largest tiling of `kernel` at head size dh whose workgroup memory fits `limit` bytes. */
export function attentionTiling(kernel: AttentionKernel, dh: number, limit: number): AttentionTiling {
  for (const [rows, cols] of CANDIDATES) {
    const t = attentionLayout(rows, cols, dh);
    if (attentionBytes(kernel, t) <= limit) return t;
  }
  throw new RangeError(
    `attention ${kernel}: head size ${dh} needs more than ${limit} bytes of workgroup memory`,
  );
}

/** A tiling's cache-key suffix. */
export const tilingKey = (t: AttentionTiling) => `${t.rows}x${t.cols}`;
