/** How many warm-up and timed passes a loss case gets within its time budget. */

/**
 * Warm-ups and repeats left for a case whose first pass took `firstSeconds`: all of them where
 * they fit `caseSeconds`, else as many timed passes as fit (at least one) and no more warm-ups.
 */
export function caseRepeats(
  o: { warmup: number; repeats: number; caseSeconds?: number | undefined },
  firstSeconds: number,
): { warmup: number; repeats: number } {
  const budget = o.caseSeconds ?? 30;
  if (firstSeconds * (o.warmup + o.repeats) <= budget) return { warmup: o.warmup, repeats: o.repeats };
  const repeats = Math.max(
    1,
    Math.min(o.repeats, Math.floor((budget - firstSeconds) / Math.max(firstSeconds, 1e-9))),
  );
  return { warmup: 1, repeats };
}
