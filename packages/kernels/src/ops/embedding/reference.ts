/**
 * Embedding lookup (float64 oracle): row r of R = B·L rows is position t = r mod L of its sequence;
 *
 *     out[r, d] = (table[ids[r], d] · scale + pos[t, d]) · mul(r·D + d) · [ids[r] ≠ padId]
 *
 * with mul the dropout multiplier of flat element r·D + d of `out` (1 without dropout). The
 * backward scatter-adds g = dOut · mul · [id ≠ pad]: dTable[ids[r]] += scale · g, dPos[t] += g.
 */
import { type DropoutSpec, dropoutMultiplier } from '../dropout/index.js';

/** Arguments of {@link embeddingForward}. */
export interface EmbeddingForwardArgs {
  /** [R] item ids (integers in [0, V) or padId). */
  ids: ArrayLike<number>;
  /** [V, D] item table. */
  table: ArrayLike<number>;
  /** [L, D] learned positions. */
  pos: ArrayLike<number>;
  /** [R, D] output, written completely. */
  out: { [i: number]: number; length: number };
  R: number;
  L: number;
  D: number;
  /** Multiplier of the table rows (√D in SASRec). */
  scale: number;
  /** Rows whose id is padId are 0 (and read no table row). */
  padId: number;
  /** Dropout on `out` (element e = r·D + d). */
  dropout?: DropoutSpec;
}

/** Arguments of {@link embeddingBackward}. */
export interface EmbeddingBackwardArgs {
  ids: ArrayLike<number>;
  /** [R, D] gradient of `out`. */
  dOut: ArrayLike<number>;
  /** [V, D] gradient of the table: accumulates. */
  dTable: { [i: number]: number; length: number };
  /** [L, D] gradient of the positions: accumulates. */
  dPos: { [i: number]: number; length: number };
  R: number;
  L: number;
  D: number;
  scale: number;
  padId: number;
  dropout?: DropoutSpec;
}

function checkShapes(name: string, a: { R: number; L: number; D: number }, ids: ArrayLike<number>): void {
  const { R, L, D } = a;
  if (!(Number.isInteger(R) && R >= 0 && Number.isInteger(L) && L >= 1 && Number.isInteger(D) && D >= 1)) {
    throw new RangeError(`${name}: R, L, D must be integers with R ≥ 0, L ≥ 1, D ≥ 1 (got ${R}, ${L}, ${D})`);
  }
  if (ids.length < R) throw new RangeError(`${name}: ids has ${ids.length} entries; it needs R = ${R}`);
}

function rowOf(name: string, id: number, D: number, tableLength: number): number {
  if (!(Number.isInteger(id) && id >= 0 && (id + 1) * D <= tableLength)) {
    throw new RangeError(`${name}: id ${id} is outside the table (${tableLength / D} rows)`);
  }
  return id * D;
}

/** out = (table[ids]·scale + pos[t]) · dropout · [id ≠ pad]. */
export function embeddingForward(a: EmbeddingForwardArgs): void {
  const { ids, table, pos, out, R, L, D, scale, padId } = a;
  checkShapes('embeddingForward', a, ids);
  if (out.length < R * D)
    throw new RangeError(`embeddingForward: out has ${out.length} entries; needs ${R * D}`);
  if (pos.length < L * D)
    throw new RangeError(`embeddingForward: pos has ${pos.length} entries; needs ${L * D}`);
  const mul = dropoutMultiplier(a.dropout);
  for (let r = 0; r < R; r++) {
    const id = ids[r]!;
    const t = r % L;
    if (id === padId) {
      for (let d = 0; d < D; d++) out[r * D + d] = 0;
      continue;
    }
    const w = rowOf('embeddingForward', id, D, table.length);
    for (let d = 0; d < D; d++) {
      const e = r * D + d;
      out[e] = (table[w + d]! * scale + pos[t * D + d]!) * mul(e);
    }
  }
}

/** dTable[ids[r]] += scale · g, dPos[t] += g with g = dOut · dropout · [id ≠ pad]. */
export function embeddingBackward(a: EmbeddingBackwardArgs): void {
  const { ids, dOut, dTable, dPos, R, L, D, scale, padId } = a;
  checkShapes('embeddingBackward', a, ids);
  if (dOut.length < R * D)
    throw new RangeError(`embeddingBackward: dOut has ${dOut.length} entries; needs ${R * D}`);
  if (dPos.length < L * D)
    throw new RangeError(`embeddingBackward: dPos has ${dPos.length} entries; needs ${L * D}`);
  const mul = dropoutMultiplier(a.dropout);
  for (let r = 0; r < R; r++) {
    const id = ids[r]!;
    if (id === padId) continue;
    const w = rowOf('embeddingBackward', id, D, dTable.length);
    const t = r % L;
    for (let d = 0; d < D; d++) {
      const e = r * D + d;
      const g = dOut[e]! * mul(e);
      dTable[w + d] = dTable[w + d]! + scale * g;
      dPos[t * D + d] = dPos[t * D + d]! + g;
    }
  }
}
