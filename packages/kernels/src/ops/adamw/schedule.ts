/** Learning-rate schedules: constant, or linear warmup followed by cosine or linear decay. */

/** A learning-rate schedule; `lr` of the optimizer is its peak. */
export type LrSchedule =
  | { kind: 'constant'; warmupSteps?: number }
  | {
      kind: 'cosine' | 'linear';
      /** Steps of linear warmup from 0 to the peak. Default 0. */
      warmupSteps?: number;
      /** Step at which decay ends (the schedule stays at `minLr` afterwards). */
      totalSteps: number;
      /** Floor as a fraction of the peak. Default 0. */
      minRatio?: number;
    };

/** Checks a schedule; throws naming the field and its limit. */
export function checkSchedule(s: LrSchedule): void {
  const warm = s.warmupSteps ?? 0;
  if (!Number.isInteger(warm) || warm < 0) {
    throw new RangeError(`schedule.warmupSteps must be an integer ≥ 0, got ${warm}`);
  }
  if (s.kind === 'constant') return;
  if (s.kind !== 'cosine' && s.kind !== 'linear') {
    throw new RangeError(
      `schedule.kind must be 'constant', 'cosine' or 'linear', got ${JSON.stringify((s as { kind: unknown }).kind)}`,
    );
  }
  if (!Number.isInteger(s.totalSteps) || s.totalSteps <= warm) {
    throw new RangeError(
      `schedule.totalSteps must be an integer > warmupSteps (${warm}), got ${s.totalSteps}`,
    );
  }
  const m = s.minRatio ?? 0;
  if (!(m >= 0 && m <= 1)) throw new RangeError(`schedule.minRatio must be in [0, 1], got ${m}`);
}

/** The learning rate at 0-based `step` for peak `lr` under schedule `s`. */
export function learningRate(lr: number, s: LrSchedule, step: number): number {
  const warm = s.warmupSteps ?? 0;
  if (step < warm) return (lr * (step + 1)) / warm;
  if (s.kind === 'constant') return lr;
  const minLr = lr * (s.minRatio ?? 0);
  const progress = Math.min(1, (step - warm) / (s.totalSteps - warm));
  const shape = s.kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return minLr + (lr - minLr) * shape;
}
