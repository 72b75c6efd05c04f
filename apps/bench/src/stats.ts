/** Summary statistics of repeated timings. */

/** Median, min, max and spread (max − min) of a non-empty list of milliseconds. */
export function summarize(times: readonly number[]): {
  ms: number;
  msSpread: number;
  msMin: number;
  msMax: number;
} {
  if (times.length === 0) throw new RangeError('summarize: times must not be empty');
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const ms = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { ms, msSpread: s[s.length - 1]! - s[0]!, msMin: s[0]!, msMax: s[s.length - 1]! };
}
