/**
 * The fused engine's parameter layout: every SASRec parameter inside one flat float32 buffer (and
 * the gradients, Adam moments and the bf16 copy in buffers of the same layout), so clipping and
 * AdamW are one call each. Names and shapes are the tfjs SASRec's (`model.parameters`); the
 * parameters that get weight decay (rank ≥ 2) come first, so decay applies to [0, nDecay).
 */
import type { ResolvedSASRecConfig } from '../config.js';
import { parameterSpecs } from '../sasrec.js';

/** One parameter's place in the flat buffer. */
export interface LayoutEntry {
  name: string;
  shape: number[];
  /** First element. */
  offset: number;
  /** Elements. */
  size: number;
  /** Gets weight decay (rank ≥ 2). */
  decay: boolean;
}

/** Where every parameter lives in the flat buffers. */
export interface ParamLayout {
  entries: LayoutEntry[];
  byName: Map<string, LayoutEntry>;
  /** Elements of the flat buffer (with alignment gaps, which stay zero). */
  total: number;
  /** Elements [0, nDecay) get weight decay; the rest none. */
  nDecay: number;
}

/** Offsets are multiples of this many elements: 256-byte aligned in float32 and in the bf16 copy (what cuBLASLt assumes). */
export const LAYOUT_ALIGN = 128;

/** The layout of a SASRec of `config`: decayed parameters first (item_emb at offset 0), each aligned. */
export function paramLayout(config: ResolvedSASRecConfig): ParamLayout {
  const shapes = parameterSpecs(config);
  const ordered = [...shapes.filter((s) => s.shape.length >= 2), ...shapes.filter((s) => s.shape.length < 2)];
  const entries: LayoutEntry[] = [];
  let offset = 0;
  let nDecay = 0;
  for (const { name, shape } of ordered) {
    const size = shape.reduce((a, b) => a * b, 1);
    const decay = shape.length >= 2;
    entries.push({ name, shape, offset, size, decay });
    offset += Math.ceil(size / LAYOUT_ALIGN) * LAYOUT_ALIGN;
    if (decay) nDecay = offset;
  }
  return { entries, byName: new Map(entries.map((e) => [e.name, e])), total: offset, nDecay };
}

/** The entry called `name`; throws naming it when there is none. */
export function entryOf(layout: ParamLayout, name: string): LayoutEntry {
  const e = layout.byName.get(name);
  if (!e) throw new Error(`fused layout: no parameter named '${name}'`);
  return e;
}

/** Copies named host arrays into one flat Float32Array of `layout` (gaps zero); every name must be present. */
export function packFlat(layout: ParamLayout, values: Record<string, ArrayLike<number>>): Float32Array {
  const flat = new Float32Array(layout.total);
  for (const e of layout.entries) {
    const v = values[e.name];
    if (!v) throw new Error(`fused layout: no values for parameter '${e.name}'`);
    if (v.length !== e.size) {
      throw new RangeError(
        `fused layout: '${e.name}' has ${v.length} values, its shape [${e.shape}] needs ${e.size}`,
      );
    }
    flat.set(v, e.offset);
  }
  return flat;
}

/** The named arrays of a flat buffer of `layout` (copies). */
export function unpackFlat(layout: ParamLayout, flat: ArrayLike<number>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const e of layout.entries) {
    const a = new Float32Array(e.size);
    for (let i = 0; i < e.size; i++) a[i] = flat[e.offset + i]!;
    out[e.name] = a;
  }
  return out;
}
