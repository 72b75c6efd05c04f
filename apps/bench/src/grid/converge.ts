/**
 * A grid cell's training loop to early stopping: epochs until validation NDCG@10 has not improved
 * for `patience` epochs (or `epochs`, a step cap or a deadline ends it). Model selection sees the
 * validation split only: the engine keeps a copy of the parameters of the best validation epoch
 * and the test split is evaluated once, on those, at the end (an engine that cannot keep them is
 * tested whenever validation improves instead); test metrics are only reported. The engine is
 * behind a few callbacks, so the loop is tested with scripted metrics.
 */

/** Ranking metrics by name ('ndcg@10', 'hr@10'). */
export type Metrics = Record<string, number>;

/** What the loop drives. */
export interface ConvergeEngine {
  /** Trains epoch `epoch` (0-based), at most `maxSteps` steps; resolves to the steps taken and their mean loss. */
  trainEpoch(epoch: number, maxSteps: number): Promise<{ steps: number; meanLoss: number }>;
  validate(): Promise<Metrics>;
  test(): Promise<Metrics>;
  /** Copies the current parameters aside (called when validation improves). */
  keepBest?(): Promise<void>;
  /** Puts the kept parameters back (called once, before the test evaluation). */
  restoreBest?(): Promise<void>;
}

/** Options of {@link converge}. */
export interface ConvergeOptions {
  /** At most this many epochs. */
  epochs: number;
  /** Stop after this many epochs without a better validation NDCG@10; 0: train every epoch, then evaluate once. */
  patience: number;
  /** Cap on steps over all epochs; 0 = none. */
  maxSteps?: number;
  /** Start no epoch after this time (ms, `now()`'s clock). */
  deadline?: number;
  /** The clock (ms); default `Date.now`. */
  now?: () => number;
  /** Continue a run that the deadline cut (its result; the engine's state restored by the caller). */
  resume?: ConvergeResult;
}

/** One epoch as the loop saw it. */
export interface EpochRow {
  /** 1-based. */
  epoch: number;
  loss: number;
  /** Validation NDCG@10 (absent when not validated, patience 0). */
  validNdcg10?: number;
}

/** Why the loop ended. */
export type StopReason = 'patience' | 'epochs' | 'steps' | 'deadline';

/** What {@link converge} found. */
export interface ConvergeResult {
  /** The epoch (1-based) whose validation NDCG@10 was best; 0 when no epoch ran. */
  bestEpoch: number;
  epochsRun: number;
  steps: number;
  /** Validation and test metrics of the model at `bestEpoch` (null when no epoch ran). */
  valid: Metrics | null;
  test: Metrics | null;
  stoppedBy: StopReason;
  /** Training seconds, validation seconds, test seconds (and keeping the best parameters: reporting only), and training + validation up to the best epoch. */
  trainSeconds: number;
  validSeconds: number;
  testSeconds: number;
  secondsToBest: number;
  /** Epochs since the best one (what patience counts). */
  sinceBest: number;
  history: EpochRow[];
}

const ndcg = (m: Metrics) => m['ndcg@10'] ?? Number.NaN;

/** Trains to early stopping (see the module comment). */
export async function converge(e: ConvergeEngine, o: ConvergeOptions): Promise<ConvergeResult> {
  const now = o.now ?? Date.now;
  const cap = o.maxSteps || Number.POSITIVE_INFINITY;
  const r: ConvergeResult = o.resume ? { ...structuredClone(o.resume), stoppedBy: 'epochs' } : fresh();
  const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
    const t0 = performance.now();
    const v = await f();
    return [v, (performance.now() - t0) / 1e3];
  };
  for (let epoch = r.epochsRun; epoch < o.epochs; epoch++) {
    if (r.steps >= cap) r.stoppedBy = 'steps';
    else if (o.deadline !== undefined && now() >= o.deadline) r.stoppedBy = 'deadline';
    else if (o.patience > 0 && r.sinceBest >= o.patience) r.stoppedBy = 'patience';
    if (r.stoppedBy !== 'epochs') break;
    const [t, ts] = await timed(() => e.trainEpoch(epoch, cap - r.steps));
    r.steps += t.steps;
    r.trainSeconds += ts;
    r.epochsRun = epoch + 1;
    const row: EpochRow = { epoch: epoch + 1, loss: t.meanLoss };
    r.history.push(row);
    if (o.patience === 0) continue;
    const [valid, vs] = await timed(() => e.validate());
    r.validSeconds += vs;
    row.validNdcg10 = ndcg(valid);
    if (r.valid === null || ndcg(valid) > ndcg(r.valid)) {
      r.valid = valid;
      r.bestEpoch = epoch + 1;
      r.secondsToBest = r.trainSeconds + r.validSeconds;
      r.sinceBest = 0;
      const [, s] = await timed(() => (e.keepBest ? e.keepBest() : testNow(e, r)));
      r.testSeconds += s;
    } else r.sinceBest++;
  }
  if (r.stoppedBy === 'deadline') return r;
  if (o.patience === 0 && r.epochsRun > 0) await closeFixed(e, r, timed);
  else if (e.keepBest && r.bestEpoch > 0) {
    const [, s] = await timed(async () => {
      await e.restoreBest?.();
      await testNow(e, r);
    });
    r.testSeconds += s;
  }
  return r;
}

function fresh(): ConvergeResult {
  return {
    bestEpoch: 0,
    epochsRun: 0,
    steps: 0,
    valid: null,
    test: null,
    stoppedBy: 'epochs',
    trainSeconds: 0,
    validSeconds: 0,
    testSeconds: 0,
    secondsToBest: 0,
    sinceBest: 0,
    history: [],
  };
}

async function testNow(e: ConvergeEngine, r: ConvergeResult): Promise<void> {
  r.test = await e.test();
}

/** Fixed epochs (patience 0): the last epoch is the chosen one; validation and test once. */
async function closeFixed(
  e: ConvergeEngine,
  r: ConvergeResult,
  timed: <T>(f: () => Promise<T>) => Promise<[T, number]>,
): Promise<void> {
  const [valid, vs] = await timed(() => e.validate());
  r.valid = valid;
  r.validSeconds += vs;
  r.bestEpoch = r.epochsRun;
  r.history[r.history.length - 1]!.validNdcg10 = ndcg(valid);
  r.secondsToBest = r.trainSeconds + r.validSeconds;
  const [test, ts] = await timed(() => e.test());
  r.test = test;
  r.testSeconds += ts;
}
