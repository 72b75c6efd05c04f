/**
 * The grid's memory-budget view, the paper's point: for each device-memory budget, the best cell
 * that CCE- could train within it (by the fused engine's measured peak) against the best the tfjs
 * naive sampled-CE baseline could (by its predicted peak, which grows with K·B). "Best" is the
 * highest VALIDATION NDCG@10; the test NDCG@10 of that cell is what is reported.
 */
import { renderSvg } from '../report/svg.js';
import type { GridRow } from './results.js';

const MiB = 2 ** 20;

/** The cell a budget allows. */
export interface BudgetPick {
  negatives: number;
  batchSize: number;
  maxLen: number;
  validNdcg10: number;
  ndcg10: number | null;
  hr10: number | null;
  /** The bytes that were compared with the budget. */
  bytes: number;
}

/** One budget's best cells. */
export interface BudgetRow {
  budgetBytes: number;
  cce: BudgetPick | null;
  baseline: BudgetPick | null;
}

/** Budgets from `fromMiB` doubling up to `toMiB` (default 64 MiB … 64 GiB), in bytes. */
export function budgetLadder(fromMiB = 64, toMiB = 64 * 1024): number[] {
  const out: number[] = [];
  for (let m = fromMiB; m <= toMiB; m *= 2) out.push(m * MiB);
  return out;
}

/** CCE-'s bytes for a row: the measured peak, else the fused engine's prediction; null without a result. */
export function cceBytes(row: GridRow): number | null {
  const r = row.result;
  return r?.measuredPeakBytes ?? r?.predictedPeakBytes ?? null;
}

/** The rows a budget view may choose from: finished, not failed, with a validation NDCG@10. */
function chosenFrom(rows: readonly GridRow[]): GridRow[] {
  return rows.filter(
    (r) =>
      r.result &&
      !r.result.error &&
      r.result.complete !== false &&
      typeof r.result.validNdcg10 === 'number' &&
      Number.isFinite(r.result.validNdcg10),
  );
}

/** The row of highest validation NDCG@10 among those whose bytes fit `budget` (ties: fewer bytes). */
function best(rows: readonly GridRow[], bytes: (r: GridRow) => number | null, budget: number) {
  let pick: BudgetPick | null = null;
  for (const r of rows) {
    const b = bytes(r);
    if (b === null || b > budget) continue;
    const v = r.result!.validNdcg10!;
    if (pick && (v < pick.validNdcg10 || (v === pick.validNdcg10 && b >= pick.bytes))) continue;
    pick = {
      negatives: r.negatives,
      batchSize: r.batchSize,
      maxLen: r.maxLen,
      validNdcg10: v,
      ndcg10: r.result!.ndcg10,
      hr10: r.result!.hr10,
      bytes: b,
    };
  }
  return pick;
}

/** For each budget, the best cell by validation NDCG@10 under CCE-'s peak and under the baseline's. */
export function budgetView(
  rows: readonly GridRow[],
  budgets: readonly number[] = budgetLadder(),
): BudgetRow[] {
  const ok = chosenFrom(rows);
  return budgets.map((budgetBytes) => ({
    budgetBytes,
    cce: best(ok, cceBytes, budgetBytes),
    baseline: best(ok, (r) => r.baselineBytes ?? null, budgetBytes),
  }));
}

/** "64 MiB", "2 GiB". */
export const budgetLabel = (bytes: number): string =>
  bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)} GiB` : `${bytes / MiB} MiB`;

/** The budget view as an SVG step plot: test NDCG@10 of each budget's pick, CCE- against the baseline. */
export async function budgetSvg(view: readonly BudgetRow[], title: string): Promise<string> {
  const values = view.flatMap((v) =>
    (
      [
        ['CCE- (measured peak)', v.cce],
        ['naive sampled CE (predicted peak)', v.baseline],
      ] as const
    )
      .filter(([, p]) => p !== null && p.ndcg10 !== null)
      .map(([who, p]) => ({
        budgetMiB: v.budgetBytes / MiB,
        who,
        ndcg: p!.ndcg10,
        cell: `K ${p!.negatives} · B ${p!.batchSize}`,
      })),
  );
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: 260,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after', point: true },
    encoding: {
      x: {
        field: 'budgetMiB',
        type: 'quantitative',
        title: 'device memory budget (MiB)',
        scale: { type: 'log', base: 2 },
      },
      y: {
        field: 'ndcg',
        type: 'quantitative',
        title: 'test NDCG@10 of the best cell (by validation)',
        scale: { zero: false },
      },
      color: { field: 'who', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
      tooltip: [{ field: 'cell' }, { field: 'ndcg', format: '.4f' }],
    },
  });
}
