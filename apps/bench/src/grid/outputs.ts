/**
 * The grid's files besides grid.json: grid.md (the table and the memory-budget view) and the SVGs
 * (heat maps of test NDCG@10, peak memory and time to converge; the budget step plot).
 */
import type { BenchEnvironment } from '../env.js';
import { budgetMarkdown, gridMarkdown } from '../report/markdown.js';
import { writeResult } from '../setup.js';
import { budgetSvg, budgetView, cceBytes } from './budget.js';
import { type HeatCell, type HeatMetric, heatmapSvg, NDCG_METRIC } from './heatmap.js';
import type { GridDoc, GridRow } from './results.js';

const MiB = 2 ** 20;
const MIB_METRIC: HeatMetric = {
  legend: 'MiB',
  format: (x) => x.toFixed(0),
  scale: 'log',
  legendFormat: ',.0f',
};

/** A row as a heat-map cell showing `value`. */
function heat(r: GridRow, value: number | null | undefined): HeatCell {
  return {
    negatives: r.negatives,
    batchSize: r.batchSize,
    maxLen: r.maxLen,
    value: value ?? null,
    overBudget: r.overBudget,
    trained: r.result !== null,
    ...(r.result?.error ? { error: r.result.error } : {}),
  };
}

/** The heat maps: file name, metric, title, and each row's value. */
function heatmaps(
  what: string,
): { file: string; metric: HeatMetric; title: string; value: (r: GridRow) => number | null | undefined }[] {
  return [
    {
      file: 'grid-ndcg.svg',
      metric: NDCG_METRIC,
      title: `test NDCG@10 at the best validation epoch, ${what}`,
      value: (r) => r.result?.ndcg10,
    },
    {
      file: 'grid-memory.svg',
      metric: MIB_METRIC,
      title: `peak device memory (MiB) of the engine, measured (predicted where not), ${what}`,
      value: (r) => {
        const b = cceBytes(r);
        return b === null ? null : b / MiB;
      },
    },
    {
      file: 'grid-memory-baseline.svg',
      metric: MIB_METRIC,
      title: `predicted peak (MiB) of the tfjs naive sampled-CE baseline, ${what}`,
      value: (r) => (r.baselineBytes === undefined ? null : r.baselineBytes / MiB),
    },
    {
      file: 'grid-time.svg',
      metric: { legend: 's to best', format: (x) => x.toFixed(0) },
      title: `seconds to the best validation epoch, ${what}`,
      value: (r) => r.result?.secondsToBest,
    },
  ];
}

/** Writes grid.md and the SVGs of `doc` into `dir`; returns grid.md's text. */
export async function writeGridOutputs(
  dir: string,
  doc: GridDoc,
  what: string,
  env?: BenchEnvironment,
): Promise<string> {
  const view = budgetView(doc.rows);
  const md = `${gridMarkdown(doc.rows, doc.spec, doc.wallSeconds, env)}\n${budgetMarkdown(view)}`;
  writeResult(dir, 'grid.md', md);
  for (const h of heatmaps(what)) {
    writeResult(
      dir,
      h.file,
      await heatmapSvg(
        doc.rows.map((r) => heat(r, h.value(r))),
        h.title,
        h.metric,
      ),
    );
  }
  writeResult(dir, 'grid-budget.svg', await budgetSvg(view, `best cell within a memory budget, ${what}`));
  return md;
}
