/**
 * Splits of a Dataset into training sequences and validation/test examples: leave-one-out (the
 * protocol of SASRec and the published Beauty numbers) and the global temporal split.
 */
import type { Dataset } from './dataset.js';

/** One evaluation case: the user's items before the target (time order) and the target item. */
export interface Example {
  user: number;
  history: Int32Array;
  target: number;
}

/** Per-user training sequences (indexed by dense user id) and the evaluation examples. */
export interface Split {
  train: Int32Array[];
  valid: Example[];
  test: Example[];
}

/**
 * Leave-one-out: for a user with n ≥ 3 items the last is the test target (history: the n-1 items
 * before it, validation item included), the one before it the validation target (history: the
 * n-2 before it), and the first n-2 items are the training sequence. Users with fewer than 3
 * items keep every item for training and get no validation or test example (as SASRec does).
 */
export function leaveOneOut(ds: Dataset): Split {
  const train: Int32Array[] = new Array(ds.numUsers);
  const valid: Example[] = [];
  const test: Example[] = [];
  for (let u = 0; u < ds.numUsers; u++) {
    const s = ds.sequences[u]!;
    const n = s.length;
    if (n < 3) {
      train[u] = s.slice();
      continue;
    }
    train[u] = s.slice(0, n - 2);
    valid.push({ user: u, history: s.slice(0, n - 2), target: s[n - 2]! });
    test.push({ user: u, history: s.slice(0, n - 1), target: s[n - 1]! });
  }
  return { train, valid, test };
}

/** Options of `temporalSplit` (timestamps in the dataset's unit, e.g. Unix seconds). */
export interface TemporalSplitOptions {
  /** Interactions strictly after this time are test time. */
  threshold: number;
  /** Optional earlier threshold: interactions in (validThreshold, threshold] are validation time. */
  validThreshold?: number;
}

/**
 * Global temporal split. Training sequences hold every user's interactions at or before the
 * training cut (`validThreshold` when given, else `threshold`). Test users are those with an
 * interaction after `threshold`: their last item is the target, everything before it (in time
 * order, including other post-threshold items) the history. Validation users (only with
 * `validThreshold`) are those with an interaction in (validThreshold, threshold]: the last such item
 * is the target, everything before it the history. Examples with an empty history are dropped.
 */
export function temporalSplit(ds: Dataset, options: TemporalSplitOptions): Split {
  if (!ds.timestamps) throw new Error('temporalSplit needs a dataset with timestamps (this one has none)');
  const { threshold, validThreshold } = options;
  if (!Number.isFinite(threshold))
    throw new RangeError(`threshold must be a finite number, got ${threshold}`);
  if (validThreshold !== undefined && !(Number.isFinite(validThreshold) && validThreshold < threshold)) {
    throw new RangeError(
      `validThreshold must be a finite number below threshold (${threshold}), got ${validThreshold}`,
    );
  }
  const trainCut = validThreshold ?? threshold;
  const train: Int32Array[] = new Array(ds.numUsers);
  const valid: Example[] = [];
  const test: Example[] = [];
  for (let u = 0; u < ds.numUsers; u++) {
    const s = ds.sequences[u]!;
    const ts = ds.timestamps[u]!;
    const n = s.length;
    let nTrain = 0;
    while (nTrain < n && ts[nTrain]! <= trainCut) nTrain++;
    train[u] = s.slice(0, nTrain);
    let nUpTo = nTrain;
    while (nUpTo < n && ts[nUpTo]! <= threshold) nUpTo++;
    if (validThreshold !== undefined && nUpTo > nTrain && nUpTo - 1 > 0) {
      valid.push({ user: u, history: s.slice(0, nUpTo - 1), target: s[nUpTo - 1]! });
    }
    if (n > nUpTo && n - 1 > 0) test.push({ user: u, history: s.slice(0, n - 1), target: s[n - 1]! });
  }
  return { train, valid, test };
}

/** The q-quantile (0 ≤ q ≤ 1, nearest rank) of all timestamps of a dataset, to pick thresholds. */
export function timeQuantile(ds: Dataset, q: number): number {
  if (!ds.timestamps) throw new Error('timeQuantile needs a dataset with timestamps (this one has none)');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q must be in [0, 1], got ${q}`);
  let n = 0;
  for (const t of ds.timestamps) n += t.length;
  if (n === 0) throw new Error('timeQuantile: the dataset has no interactions');
  const all = new Float64Array(n);
  let k = 0;
  for (const t of ds.timestamps) {
    all.set(t, k);
    k += t.length;
  }
  all.sort();
  return all[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
}
