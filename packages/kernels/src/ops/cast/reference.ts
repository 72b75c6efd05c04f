/** float32 → bfloat16 copies (host oracle): round to nearest even, as __float2bfloat16_rn. */
import { packBf16 } from '@cutrec/tensor';

/** Arguments of {@link castToBf16}. */
export interface CastToBf16Args {
  /** [n] float32 values (numbers are first rounded to float32). */
  src: ArrayLike<number>;
  /** [n] out: bf16 bit patterns; a fresh array when omitted. */
  dst?: { [i: number]: number; length: number };
  n: number;
}

/** The bf16 bit patterns of src[0 … n) (round to nearest even), written into dst and returned. */
export function castToBf16(a: CastToBf16Args): Uint16Array {
  const { src, n } = a;
  if (!(Number.isInteger(n) && n >= 0))
    throw new RangeError(`castToBf16: n must be an integer ≥ 0, got ${n}`);
  if (src.length < n) throw new RangeError(`castToBf16: src has ${src.length} entries; it needs ${n}`);
  if (a.dst && a.dst.length < n)
    throw new RangeError(`castToBf16: dst has ${a.dst.length} entries; it needs ${n}`);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = src[i]!;
  const bits = packBf16(f);
  if (a.dst) for (let i = 0; i < n; i++) a.dst[i] = bits[i]!;
  return bits;
}
