/**
 * Range checks of id arrays on the host, the per-step batch check of the training engines: natively
 * (one vectorised pass in the cutrec_cuda addon, wherever it is built; the addon loads without a
 * GPU) or, where it is not, in JavaScript.
 */
import { nativeAddon } from './cuda/native.js';

/**
 * The index of the first entry of `values` outside [lo, hi] that is not `except`, or -1.
 * `lo`, `hi` and `except` are int32; `except` is a value allowed outside the range (a padding or
 * ignore id); its default, `lo`, allows nothing more.
 */
export function firstOutside(values: Int32Array, lo: number, hi: number, except: number = lo): number {
  for (const [name, x] of [
    ['lo', lo],
    ['hi', hi],
    ['except', except],
  ] as const) {
    if (!Number.isInteger(x) || x < -(2 ** 31) || x >= 2 ** 31)
      throw new RangeError(`firstOutside: ${name} must be an int32, got ${x}`);
  }
  if (hi < lo) throw new RangeError(`firstOutside: hi ${hi} is below lo ${lo}`);
  const { addon } = nativeAddon();
  if (addon?.firstOutside) return addon.firstOutside(values, lo, hi, except);
  return firstOutsideJs(values, lo, hi, except);
}

/** {@link firstOutside} in JavaScript (the reference the native pass is tested against). */
export function firstOutsideJs(values: Int32Array, lo: number, hi: number, except: number = lo): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if ((v < lo || v > hi) && v !== except) return i;
  }
  return -1;
}
