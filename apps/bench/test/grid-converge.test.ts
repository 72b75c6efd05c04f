/**
 * The converged grid's pure parts, on scripted and hand-made inputs: early stopping and model
 * selection by validation only (converge), the memory-budget view, and resume's row merging.
 */
import { describe, expect, it } from 'vitest';
import { budgetLadder, budgetView } from '../src/grid/budget.js';
import type { CellResult } from '../src/grid/cell.js';
import { type ConvergeEngine, converge } from '../src/grid/converge.js';
import { checkRecipe, type GridRow, mergeRows, needsTraining } from '../src/grid/results.js';

const MiB = 2 ** 20;

/**
 * An engine whose validation and test NDCG@10 after epoch e (1-based) are valid[e-1], test[e-1];
 * with `keep`, it keeps the "parameters" (the epoch) aside and puts them back as asked.
 */
function scripted(valid: number[], test: number[], keep = false) {
  let epoch = 0;
  let kept = 0;
  const calls = { valid: 0, test: [] as number[], kept: [] as number[] };
  const keeping: Pick<ConvergeEngine, 'keepBest' | 'restoreBest'> = {
    async keepBest() {
      kept = epoch;
      calls.kept.push(epoch);
    },
    async restoreBest() {
      epoch = kept;
    },
  };
  const engine: ConvergeEngine = {
    ...(keep ? keeping : {}),
    async trainEpoch(e, maxSteps) {
      epoch = e + 1;
      return { steps: Math.min(10, maxSteps), meanLoss: 5 - epoch / 10 };
    },
    async validate() {
      calls.valid++;
      return { 'ndcg@10': valid[epoch - 1]!, 'hr@10': 2 * valid[epoch - 1]! };
    },
    async test() {
      calls.test.push(epoch);
      return { 'ndcg@10': test[epoch - 1]!, 'hr@10': 2 * test[epoch - 1]! };
    },
  };
  return { engine, calls };
}

describe('converge: early stopping, selection by validation', () => {
  it('stops after `patience` epochs without a better validation NDCG@10 and reports the test of the best validation epoch', async () => {
    // validation peaks at epoch 3; test would peak at epoch 5 — never chosen
    const valid = [0.1, 0.2, 0.3, 0.25, 0.29, 0.28, 0.5, 0.6];
    const test = [0.1, 0.15, 0.2, 0.3, 0.9, 0.2, 0.2, 0.2];
    const { engine, calls } = scripted(valid, test);
    const r = await converge(engine, { epochs: 50, patience: 3 });
    expect(r.stoppedBy).toBe('patience');
    expect(r.epochsRun).toBe(6);
    expect(r.bestEpoch).toBe(3);
    expect(r.valid!['ndcg@10']).toBe(0.3);
    expect(r.test!['ndcg@10']).toBe(0.2);
    expect(calls.valid).toBe(6);
    expect(calls.test).toEqual([1, 2, 3]); // test only where validation improved
    expect(r.steps).toBe(60);
    expect(r.history.map((h) => h.validNdcg10)).toEqual(valid.slice(0, 6));
    expect(r.secondsToBest).toBeLessThanOrEqual(r.trainSeconds + r.validSeconds);
  });

  it('keeping the best parameters: the test split is evaluated once, on the best validation epoch', async () => {
    const valid = [0.1, 0.3, 0.2, 0.25, 0.29];
    const test = [0.5, 0.2, 0.9, 0.9, 0.9];
    const { engine, calls } = scripted(valid, test, true);
    const r = await converge(engine, { epochs: 50, patience: 3 });
    expect(r.bestEpoch).toBe(2);
    expect(r.epochsRun).toBe(5);
    expect(calls.kept).toEqual([1, 2]);
    expect(calls.test).toEqual([2]);
    expect(r.test!['ndcg@10']).toBe(0.2);
  });

  it('a tie is no improvement; the epoch cap and the step cap end the run', async () => {
    const { engine } = scripted([0.2, 0.2, 0.2, 0.2], [0.1, 0.9, 0.9, 0.9]);
    const tie = await converge(engine, { epochs: 4, patience: 10 });
    expect(tie.stoppedBy).toBe('epochs');
    expect(tie.bestEpoch).toBe(1);
    expect(tie.test!['ndcg@10']).toBe(0.1);
    const capped = await converge(scripted([0.1, 0.2, 0.3], [0, 0, 0]).engine, {
      epochs: 9,
      patience: 5,
      maxSteps: 25,
    });
    expect(capped.stoppedBy).toBe('steps');
    expect(capped.steps).toBe(25);
    expect(capped.epochsRun).toBe(3);
  });

  it('patience 0 trains every epoch and evaluates once at the end', async () => {
    const { engine, calls } = scripted([0.1, 0.5, 0.2], [0.3, 0.4, 0.05]);
    const r = await converge(engine, { epochs: 3, patience: 0 });
    expect(r.epochsRun).toBe(3);
    expect(r.bestEpoch).toBe(3);
    expect(calls.valid).toBe(1);
    expect(calls.test).toEqual([3]);
    expect(r.test!['ndcg@10']).toBe(0.05);
  });

  it('a run cut by the deadline continues from its result to the same end as an uncut one', async () => {
    const valid = [0.1, 0.3, 0.2, 0.25, 0.29, 0.2];
    const test = [0.5, 0.2, 0.9, 0.9, 0.9, 0.9];
    const whole = await converge(scripted(valid, test, true).engine, { epochs: 50, patience: 3 });
    let t = 0;
    const cut = await converge(scripted(valid, test, true).engine, {
      epochs: 50,
      patience: 3,
      deadline: 3,
      now: () => t++,
    });
    expect(cut.stoppedBy).toBe('deadline');
    expect(cut.epochsRun).toBe(3);
    expect(cut.test).toBeNull(); // not tested until it is done
    const { engine, calls } = scripted(valid, test, true);
    // the caller restores the engine's state, the kept (epoch 2) parameters included
    await engine.trainEpoch(1, 10);
    await engine.keepBest!();
    const rest = await converge(engine, { epochs: 50, patience: 3, resume: cut });
    expect(calls.valid).toBe(2); // epochs 4 and 5 only
    const strip = (r: typeof whole) => ({
      ...r,
      trainSeconds: 0,
      validSeconds: 0,
      testSeconds: 0,
      secondsToBest: 0,
    });
    expect(strip(rest)).toEqual(strip(whole));
  });

  it('starts no epoch after the deadline', async () => {
    let t = 0;
    const { engine } = scripted([0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0]);
    const r = await converge(engine, { epochs: 4, patience: 2, deadline: 2, now: () => t++ });
    expect(r.stoppedBy).toBe('deadline');
    expect(r.epochsRun).toBe(2);
    expect(r.bestEpoch).toBe(2);
  });
});

/** A finished row: K, B, validation and test NDCG@10, CCE-'s measured peak and the baseline's predicted bytes (MiB). */
function row(K: number, B: number, valid: number, test: number, peakMiB: number | null, baseMiB: number) {
  const result: CellResult = {
    negatives: K,
    batchSize: B,
    maxLen: 50,
    complete: true,
    ndcg10: test,
    hr10: 2 * test,
    validNdcg10: valid,
    steps: 1,
    trainSeconds: 1,
    evalSeconds: 1,
    totalSeconds: 2,
    stepsPerSec: 1,
    measuredPeakBytes: peakMiB === null ? null : peakMiB * MiB,
    predictedPeakBytes: 150 * MiB,
    finalLoss: 1,
  };
  return {
    negatives: K,
    batchSize: B,
    maxLen: 50,
    predictedBytes: 150 * MiB,
    baselineBytes: baseMiB * MiB,
    overBudget: false,
    result,
  } satisfies GridRow;
}

describe('the memory-budget view', () => {
  it('budgets double from 64 MiB to 64 GiB', () => {
    const l = budgetLadder();
    expect(l).toHaveLength(11);
    expect(l[0]).toBe(64 * MiB);
    expect(l.at(-1)).toBe(64 * 1024 * MiB);
  });

  it('picks, per budget, the best cell by validation NDCG@10 that fits, for CCE- and for the baseline', () => {
    const rows: GridRow[] = [
      row(16, 64, 0.03, 0.031, 100, 200),
      row(256, 256, 0.05, 0.045, 120, 3000),
      // best validation, worse test than the one above: still the one chosen
      row(1024, 1024, 0.06, 0.04, 300, 60000),
      // best test of all but poor validation: never chosen
      row(64, 128, 0.02, 0.09, 110, 500),
      // failed and unfinished rows are left out
      {
        ...row(4096, 64, 0.9, 0.9, 90, 90),
        result: { ...row(4096, 64, 0.9, 0.9, 90, 90).result, error: 'x' },
      },
      {
        ...row(4096, 128, 0.9, 0.9, 90, 90),
        result: { ...row(4096, 128, 0.9, 0.9, 90, 90).result, complete: false },
      },
      // no measured peak: the fused engine's prediction (150 MiB) counts
      row(16, 128, 0.04, 0.035, null, 250),
    ];
    const v = budgetView(rows, [64 * MiB, 128 * MiB, 256 * MiB, 1024 * MiB, 4096 * MiB, 65536 * MiB]);
    const cell = (p: { negatives: number; batchSize: number } | null) =>
      p ? `${p.negatives}x${p.batchSize}` : null;
    expect(v.map((b) => cell(b.cce))).toEqual([
      null,
      '256x256',
      '256x256',
      '1024x1024',
      '1024x1024',
      '1024x1024',
    ]);
    expect(v.map((b) => cell(b.baseline))).toEqual([null, null, '16x128', '16x128', '256x256', '1024x1024']);
    expect(v[3]!.cce!.ndcg10).toBe(0.04);
    expect(v[3]!.cce!.validNdcg10).toBe(0.06);
    expect(v[3]!.baseline!.bytes).toBe(250 * MiB);
  });

  it('rows without results give empty budgets', () => {
    const empty = budgetView([{ ...row(16, 64, 0, 0, 1, 1), result: null }]);
    expect(empty.every((b) => b.cce === null && b.baseline === null)).toBe(true);
  });
});

describe('resume', () => {
  it('keeps finished results, retrains failed and cut cells, and keeps cells outside the new plan', () => {
    const done = row(16, 64, 0.03, 0.03, 100, 200);
    const failed = {
      ...row(16, 128, 0, 0, 1, 1),
      result: { ...row(16, 128, 0, 0, 1, 1).result, error: 'OOM' },
    };
    const cut = {
      ...row(64, 64, 0, 0, 1, 1),
      result: { ...row(64, 64, 0, 0, 1, 1).result, complete: false },
    };
    const elsewhere = row(4096, 1024, 0.01, 0.01, 1, 1);
    expect([done, failed, cut, elsewhere].map(needsTraining)).toEqual([false, true, true, false]);
    const plan = [done, failed, cut, row(64, 128, 0, 0, 1, 1)].map(({ result: _r, ...c }) => c);
    const merged = mergeRows(plan, [cut, elsewhere, failed, done]);
    expect(merged.map((r) => `${r.negatives}x${r.batchSize}:${r.result ? 'kept' : 'train'}`)).toEqual([
      '16x64:kept',
      '16x128:train',
      '64x64:train',
      '64x128:train',
      '4096x1024:kept',
    ]);
    expect(merged[0]!.result).toBe(done.result);
  });

  it('refuses another recipe, naming what differs', () => {
    expect(() => checkRecipe({ lr: 0.002, patience: 10 }, { lr: 0.002, patience: 10 })).not.toThrow();
    expect(() => checkRecipe({ lr: 0.001, patience: 10 }, { lr: 0.002, patience: 10 })).toThrow(
      /another recipe \(lr 0\.001 there, 0\.002 now\)/,
    );
  });
});
