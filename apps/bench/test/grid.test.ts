import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticDataset, trainingBatches } from '@cutrec/data';
import { setupTfjs } from '@cutrec/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CellSpec, runCell } from '../src/grid/cell.js';
import { loadState, saveState } from '../src/grid/cell-state.js';
import { cellEngine } from '../src/grid/engine.js';
import { cellLabel, heatmapSvg } from '../src/grid/heatmap.js';
import { fusedStepBytes, type GridSpec, planGrid, predictStepBytes } from '../src/grid/plan.js';
import { mapParallel } from '../src/grid/run.js';
import { gridMarkdown } from '../src/report/markdown.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

const spec: GridSpec = {
  negatives: [16, 256],
  batchSizes: [64, 256],
  maxLens: [50, 200],
  numItems: 12101,
  hidden: 64,
  numBlocks: 2,
  numHeads: 1,
  share: 'row',
  blockRows: 64,
  budgetImpl: 'tfjs-naive-sampled',
  budgetBytes: 1024 * 2 ** 20,
};

describe('grid planning', () => {
  it('one cell per combination, length outermost, and the budget marks the large naive cells', () => {
    const cells = planGrid(spec);
    expect(cells.map((c) => `${c.maxLen}/${c.negatives}/${c.batchSize}`)).toEqual([
      '50/16/64',
      '50/16/256',
      '50/256/64',
      '50/256/256',
      '200/16/64',
      '200/16/256',
      '200/256/64',
      '200/256/256',
    ]);
    // naive sampled K=256, B=256, L=50: the [N, K, D] gather alone is 12800·256·64·4 B = 800 MiB, twice with its gradient
    expect(cells.find((c) => c.maxLen === 50 && c.negatives === 256 && c.batchSize === 256)!.overBudget).toBe(
      true,
    );
    expect(cells.find((c) => c.maxLen === 50 && c.negatives === 16 && c.batchSize === 64)!.overBudget).toBe(
      false,
    );
    // with the fused loss only the body's activations decide: every L = 50 cell fits
    const fused = planGrid({ ...spec, budgetImpl: 'wgsl' });
    expect(fused.filter((c) => c.maxLen === 50).every((c) => !c.overBudget)).toBe(true);
    expect(fused.find((c) => c.maxLen === 200 && c.batchSize === 256)!.overBudget).toBe(true);
    // the calibration point: B = 128, L = 50, D = 64 measured 325 MiB
    const mib = predictStepBytes({ ...spec, budgetImpl: 'wgsl' }, 64, 128, 50) / 2 ** 20;
    expect(mib).toBeGreaterThan(250);
    expect(mib).toBeLessThan(400);
    expect(predictStepBytes({ ...spec, budgetImpl: 'wgsl' }, 16, 64, 50)).toBe(
      predictStepBytes({ ...spec, budgetImpl: 'wgsl' }, 4096, 64, 50),
    );
    expect(predictStepBytes(spec, 256, 64, 50)).toBeGreaterThan(predictStepBytes(spec, 16, 64, 50));
    // every cell carries the naive sampled-CE baseline's prediction, whatever the budget's model
    expect(fused.map((c) => c.baselineBytes)).toEqual(
      cells.map((c) => predictStepBytes(spec, c.negatives, c.batchSize, c.maxLen)),
    );
  });

  it("the fused engine's plan does not grow with K, and bf16 activations are smaller", () => {
    const f = { ...spec, budgetImpl: 'fused' as const };
    expect(predictStepBytes(f, 16, 256, 50)).toBe(predictStepBytes(f, 4096, 256, 50));
    expect(predictStepBytes(f, 16, 512, 50)).toBeGreaterThan(predictStepBytes(f, 16, 256, 50));
    expect(fusedStepBytes({ ...f, precision: 'bf16' }, 1024, 50)).toBeLessThan(fusedStepBytes(f, 1024, 50));
    // far below the naive sampled CE at K = 4096, B = 1024
    expect(predictStepBytes(f, 4096, 1024, 50) * 20).toBeLessThan(predictStepBytes(spec, 4096, 1024, 50));
  });

  it('runs at most P cells at once, in order', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapParallel([1, 2, 3, 4, 5], 2, async (x) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5 * (6 - x)));
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50]);
    expect(most).toBe(2);
  });
});

describe('grid cell and heat map on a tiny synthetic run', () => {
  const cell: CellSpec = {
    data: 'synthetic',
    format: 'auto',
    syntheticUsers: 60,
    syntheticItems: 30,
    negatives: 4,
    batchSize: 16,
    maxLen: 8,
    epochs: 6,
    patience: 2,
    hidden: 8,
    numBlocks: 1,
    numHeads: 1,
    dropout: 0,
    lr: 0.01,
    loss: 'cce-',
    share: 'row',
    blockRows: 64,
    impl: 'tfjs',
    engine: 'fused',
    device: 'host',
    precision: 'fp32',
    removeSeen: true,
    seed: 3,
  };

  it('the fused engine (host) trains to early stopping, validated every epoch, and reports the best epoch', async () => {
    const r = await runCell(cell);
    expect(r.error).toBeUndefined();
    expect(r.engine).toBe('fused');
    expect(r.device).toBe('host');
    expect(r.complete).toBe(true);
    expect(r.epochs).toBeLessThanOrEqual(6);
    expect(r.steps).toBe(4 * r.epochs!); // 60 users / 16
    expect(r.history).toHaveLength(r.epochs!);
    const valid = r.history!.map((h) => h.validNdcg10!);
    // the chosen epoch is the first with the best validation NDCG@10, and it is what is reported
    expect(r.bestEpoch).toBe(valid.indexOf(Math.max(...valid)) + 1);
    expect(r.validNdcg10).toBe(Math.max(...valid));
    if (r.stoppedBy === 'patience') expect(r.epochs).toBe(r.bestEpoch! + 2);
    else expect(r.stoppedBy).toBe('epochs');
    expect(r.ndcg10).toBeGreaterThanOrEqual(0);
    expect(r.hr10).toBeGreaterThanOrEqual(r.ndcg10!);
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    expect(r.measuredPeakBytes).toBeNull(); // the host has no device meter
    expect(r.predictedPeakBytes).toBeGreaterThan(64 * 2 ** 20); // fusedBytes: its fixed workspaces and the rest
    expect(r.secondsToBest).toBeLessThanOrEqual(r.trainSeconds + r.evalSeconds);
    expect(r.evalExamples).toBe(60);
  });

  it('both engines put the kept (best) parameters back exactly', async () => {
    const { split, dataset } = syntheticDataset({ numUsers: 40, numItems: 30, seed: 5 });
    const batches = [...trainingBatches(split.train, { batchSize: 16, maxLen: 8, numItems: 30, seed: 5 }, 0)];
    for (const engine of ['fused', 'tfjs'] as const) {
      const e = cellEngine({
        engine,
        device: 'host',
        precision: 'fp32',
        model: { numItems: dataset.numItems, maxLen: 8, hidden: 8, numBlocks: 1, numHeads: 1, dropout: 0 },
        loss: { kind: 'cce-', negatives: 4, impl: 'tfjs' },
        optimizer: { lr: 0.05 },
        seed: 5,
        batchSize: 16,
      });
      const ranks = () => e.trainer.evaluate(split.valid, { ks: [10, 30], removeSeen: false });
      await e.step(batches[0]!);
      await e.losses();
      await e.keepBest();
      const kept = await ranks();
      for (const b of batches) await e.step(b);
      await e.losses();
      expect(await ranks()).not.toEqual(kept);
      await e.restoreBest();
      expect(await ranks()).toEqual(kept);
      e.dispose();
    }
  });

  it('a cut cell continues from its saved state as if never cut (fused engine, host)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutrec-cell-'));
    const stateFile = join(dir, 'cells', 'cell');
    const whole = await runCell(cell);
    // a deadline already past: no epoch runs, the state (step 0) is saved
    const cut = await runCell({ ...cell, stateFile, deadline: Date.now() - 1 });
    expect(cut.complete).toBe(false);
    expect(cut.stoppedBy).toBe('deadline');
    expect(existsSync(`${stateFile}.json`) && existsSync(`${stateFile}.bin`)).toBe(true);
    const rest = await runCell({ ...cell, stateFile });
    expect(rest.resumedAtEpoch).toBe(0);
    expect(existsSync(`${stateFile}.json`)).toBe(false); // finished: removed
    for (const k of ['ndcg10', 'hr10', 'validNdcg10', 'bestEpoch', 'epochs', 'steps', 'history'] as const)
      expect(rest[k]).toEqual(whole[k]);
  });

  it('the fused engine saves and restores its whole state exactly (host)', async () => {
    const { split, dataset } = syntheticDataset({ numUsers: 40, numItems: 30, seed: 5 });
    const batches = [...trainingBatches(split.train, { batchSize: 16, maxLen: 8, numItems: 30, seed: 5 }, 0)];
    const make = () =>
      cellEngine({
        engine: 'fused',
        device: 'host',
        precision: 'fp32',
        model: { numItems: dataset.numItems, maxLen: 8, hidden: 8, numBlocks: 1, numHeads: 1, dropout: 0.3 },
        loss: { kind: 'cce-', negatives: 4 },
        optimizer: { lr: 0.05 },
        seed: 5,
        batchSize: 16,
      });
    const a = make();
    for (const b of batches) await a.step(b);
    await a.losses();
    await a.keepBest();
    const path = join(mkdtempSync(join(tmpdir(), 'cutrec-state-')), 's');
    const saved = await a.saveState!();
    saveState(path, { meta: { step: saved.step }, arrays: saved.arrays });
    for (const b of batches) await a.step(b);
    const lossesA = await a.losses();
    const b = make();
    const back = loadState<{ step: number }>(path)!;
    b.loadState!({ step: back.meta.step, arrays: back.arrays });
    for (const x of batches) await b.step(x);
    // same step numbers: the same negatives and dropout. The host computes in float64 and the
    // state is float32, so "exactly" is to float32 rounding here (on a float32 device, bit for bit).
    const lossesB = await b.losses();
    expect(lossesB).toHaveLength(lossesA.length);
    for (const [i, l] of lossesB.entries()) expect(l).toBeCloseTo(lossesA[i]!, 6);
    await a.restoreBest();
    await b.restoreBest();
    const ranks = (e: typeof a) => e.trainer.evaluate(split.valid, { ks: [10, 30], removeSeen: false });
    const [ma, mb] = [await ranks(a), await ranks(b)];
    for (const k of Object.keys(ma)) expect(mb[k]).toBeCloseTo(ma[k]!, 6);
    a.dispose();
    b.dispose();
  });

  it('the tfjs engine runs the same loop (CPU backend, fixed epochs)', async () => {
    const r = await runCell({ ...cell, engine: 'tfjs', epochs: 1, patience: 0 });
    expect(r.device).toBe('tfjs-cpu');
    expect(r.steps).toBe(4);
    expect(r.bestEpoch).toBe(1);
    expect(r.predictedPeakBytes).toBeNull();
    expect(r.validNdcg10).toBeGreaterThanOrEqual(0);
  });

  it('draws heat maps and writes the table', async () => {
    const cells = [
      { negatives: 4, batchSize: 16, maxLen: 8, value: 0.0123, overBudget: false, trained: true },
      { negatives: 64, batchSize: 16, maxLen: 8, value: null, overBudget: true, trained: false },
      { negatives: 4, batchSize: 32, maxLen: 8, value: 0.05, overBudget: true, trained: true },
      {
        negatives: 64,
        batchSize: 32,
        maxLen: 8,
        value: null,
        overBudget: false,
        trained: true,
        error: 'boom',
      },
    ];
    expect(cells.map((c) => cellLabel(c))).toEqual(['0.0123', '> budget', '0.0500 *', 'error']);
    const svg = await heatmapSvg(cells, 'tiny');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const s of ['&gt; budget', '0.0500 *', 'batch size', 'negatives K', 'NDCG@10'])
      expect(svg).toContain(s);
    const mem = await heatmapSvg(cells, 'tiny', { legend: 'peak MiB', format: (x) => x.toFixed(2) });
    expect(mem).toContain('peak MiB');
    expect(mem).toContain('0.01');

    const r = await runCell({ ...cell, epochs: 1, patience: 0 });
    const md = gridMarkdown(
      [
        {
          negatives: 4,
          batchSize: 16,
          maxLen: 8,
          predictedBytes: 2 ** 20,
          baselineBytes: 3 * 2 ** 20,
          overBudget: false,
          result: r,
        },
        {
          negatives: 64,
          batchSize: 16,
          maxLen: 8,
          predictedBytes: 2 ** 30,
          baselineBytes: 2 ** 31,
          overBudget: true,
          result: null,
        },
      ],
      { data: 'synthetic' },
      1.5,
    );
    expect(md).toContain(`| 8 | 4 | 16 | ${r.ndcg10!.toFixed(4)} |`);
    expect(md).toContain('| 3.0 | fits | epochs |');
    expect(md).toContain('not trained (over budget)');
  });
});
