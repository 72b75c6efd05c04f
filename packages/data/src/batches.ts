/**
 * Sequence batches for training (inputs shifted against targets, left-padded, shuffled per epoch
 * from a seed) and for evaluation (left-padded histories of Examples).
 */
import { checkSeed, permutation } from './random.js';
import type { Example } from './split.js';

/** Options of `trainingBatches`. */
export interface TrainingBatchOptions {
  /** Users per batch (≥ 1). */
  batchSize: number;
  /** Positions per user, L (≥ 1). */
  maxLen: number;
  /** Catalog size; the default padId. */
  numItems: number;
  /** Input id at padded positions (default numItems, the model's padding row). */
  padId?: number;
  /** Target at padded positions (default -1, the loss's ignoreIndex). */
  ignoreIndex?: number;
  /** Shuffle seed, integer in [0, 2^53) (default 0); epoch e uses stream e. */
  seed?: number;
  /** Shuffle users each epoch (default true); false keeps user order. */
  shuffle?: boolean;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/**
 * One training batch, row-major [batchSize, maxLen]: `inputs[b, t]` is an item and
 * `targets[b, t]` the item after it; rows are left-padded (padId / ignoreIndex), so the last
 * column holds each user's last input.
 */
export interface TrainingBatch {
  inputs: Int32Array;
  targets: Int32Array;
  users: Int32Array;
  batchSize: number;
  maxLen: number;
}

function checkIds(ids: Int32Array, numItems: number, name: string): void {
  for (let t = 0; t < ids.length; t++) {
    const v = ids[t]!;
    if (v < 0 || v >= numItems)
      throw new RangeError(`${name}[${t}] = ${v} is outside [0, numItems = ${numItems})`);
  }
}

function checkBatchOptions(o: { batchSize: number; maxLen: number; numItems: number }): void {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
    throw new RangeError(`batchSize must be an integer ≥ 1, got ${o.batchSize}`);
  if (!Number.isInteger(o.maxLen) || o.maxLen < 1)
    throw new RangeError(`maxLen must be an integer ≥ 1, got ${o.maxLen}`);
  if (!Number.isInteger(o.numItems) || o.numItems < 1)
    throw new RangeError(`numItems must be an integer ≥ 1, got ${o.numItems}`);
}

/** Users with at least 2 training items (the only ones with a target to learn), ascending. */
export function trainingUsers(train: readonly Int32Array[]): Int32Array {
  let n = 0;
  for (const s of train) if (s.length >= 2) n++;
  const out = new Int32Array(n);
  let k = 0;
  for (let u = 0; u < train.length; u++) if (train[u]!.length >= 2) out[k++] = u;
  return out;
}

/** Number of batches `trainingBatches` yields per epoch for these sequences and options. */
export function countTrainingBatches(train: readonly Int32Array[], options: TrainingBatchOptions): number {
  checkBatchOptions(options);
  const n = trainingUsers(train).length;
  return options.dropLast ? Math.floor(n / options.batchSize) : Math.ceil(n / options.batchSize);
}

/**
 * Training batches of one epoch. Each user with ≥ 2 training items gives one row from its last
 * L+1 items s: inputs s[0..n-1), targets s[1..n), left-padded to L. Users are visited in a
 * permutation drawn from (seed, epoch), the same on every run; users with < 2 items are skipped.
 */
export function* trainingBatches(
  train: readonly Int32Array[],
  options: TrainingBatchOptions,
  epoch = 0,
): Generator<TrainingBatch> {
  checkBatchOptions(options);
  const { batchSize, maxLen: L, numItems } = options;
  const padId = options.padId ?? numItems;
  const ignoreIndex = options.ignoreIndex ?? -1;
  const seed = options.seed ?? 0;
  checkSeed(seed);
  const users = trainingUsers(train);
  if (options.shuffle ?? true) {
    const p = permutation(users.length, seed, epoch);
    const shuffled = new Int32Array(users.length);
    for (let k = 0; k < users.length; k++) shuffled[k] = users[p[k]!]!;
    users.set(shuffled);
  }
  for (let start = 0; start < users.length; start += batchSize) {
    const B = Math.min(batchSize, users.length - start);
    if (B < batchSize && options.dropLast) break;
    const inputs = new Int32Array(B * L).fill(padId);
    const targets = new Int32Array(B * L).fill(ignoreIndex);
    const batchUsers = users.slice(start, start + B);
    for (let b = 0; b < B; b++) {
      const s = train[batchUsers[b]!]!;
      checkIds(s, numItems, `train[${batchUsers[b]}]`);
      const n = Math.min(L, s.length - 1); // positions with a target
      const row = b * L + (L - n);
      inputs.set(s.subarray(s.length - 1 - n, s.length - 1), row);
      targets.set(s.subarray(s.length - n), row);
    }
    yield { inputs, targets, users: batchUsers, batchSize: B, maxLen: L };
  }
}

/** Options of `evaluationBatches`. */
export interface EvaluationBatchOptions {
  batchSize: number;
  maxLen: number;
  numItems: number;
  /** Input id at padded positions (default numItems). */
  padId?: number;
}

/**
 * One evaluation batch: `inputs` [batchSize, maxLen] holds the last L history items of each
 * example, left-padded with padId (so the model reads its prediction at the last column);
 * `targets`/`users` [batchSize]; `examples` the Examples themselves (for seen-item masks).
 */
export interface EvaluationBatch {
  inputs: Int32Array;
  targets: Int32Array;
  users: Int32Array;
  examples: Example[];
  batchSize: number;
  maxLen: number;
}

/** Evaluation batches over Examples in their given order (the last batch may be smaller). */
export function* evaluationBatches(
  examples: readonly Example[],
  options: EvaluationBatchOptions,
): Generator<EvaluationBatch> {
  checkBatchOptions(options);
  const { batchSize, maxLen: L } = options;
  const padId = options.padId ?? options.numItems;
  for (let start = 0; start < examples.length; start += batchSize) {
    const ex = examples.slice(start, start + batchSize);
    const B = ex.length;
    const inputs = new Int32Array(B * L).fill(padId);
    const targets = new Int32Array(B);
    const users = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const h = ex[b]!.history;
      checkIds(h, options.numItems, `examples[${start + b}].history`);
      const y = ex[b]!.target;
      if (!(Number.isInteger(y) && y >= 0 && y < options.numItems)) {
        throw new RangeError(
          `examples[${start + b}].target = ${y} is outside [0, numItems = ${options.numItems})`,
        );
      }
      const n = Math.min(L, h.length);
      inputs.set(h.subarray(h.length - n), b * L + (L - n));
      targets[b] = ex[b]!.target;
      users[b] = ex[b]!.user;
    }
    yield { inputs, targets, users, examples: ex, batchSize: B, maxLen: L };
  }
}
