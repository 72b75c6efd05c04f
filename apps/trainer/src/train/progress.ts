/** Where a run is: kept in each checkpoint's extra entries, so a resumed run continues exactly. */

/** Training progress at a checkpoint. */
export interface Progress {
  /** The epoch in progress (or the next one when `batch` is 0). */
  epoch: number;
  /** Batches of `epoch` already trained on. */
  batch: number;
  /** Sum and count of the losses of those batches, and their time and positions. */
  lossSum: number;
  lossCount: number;
  epochTime: number;
  epochPositions: number;
  bestValue: number;
  bestEpoch: number;
  badEpochs: number;
}

/** The progress of a run that has not trained yet. */
export const FRESH: Readonly<Progress> = {
  epoch: 0,
  batch: 0,
  lossSum: 0,
  lossCount: 0,
  epochTime: 0,
  epochPositions: 0,
  bestValue: Number.NEGATIVE_INFINITY,
  bestEpoch: -1,
  badEpochs: 0,
};

/** The progress in a checkpoint's extra entries; throws when one is missing. */
export function progressFromExtra(extra: Record<string, string>): Progress {
  const p = { ...FRESH };
  for (const key of Object.keys(FRESH) as (keyof Progress)[]) {
    const v = extra[key];
    if (v === undefined)
      throw new Error(`checkpoint has no '${key}' entry: it was not written by cutrec train`);
    p[key] = Number(v);
  }
  return p;
}

/** The progress as a checkpoint's extra entries (numbers as their exact decimal strings). */
export function progressToExtra(p: Progress): Record<string, string> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, String(v)]));
}

/** The progress at the start of the epoch after `epoch` (best and patience carried over). */
export function nextEpoch(p: Progress, epoch: number): Progress {
  return { ...p, epoch: epoch + 1, batch: 0, lossSum: 0, lossCount: 0, epochTime: 0, epochPositions: 0 };
}
