/**
 * The grid's heat maps: one value per cell (test NDCG@10, peak memory, time to converge) by
 * negatives (rows) × batch size (columns), a panel per sequence length; cells over the budget marked.
 */
import { renderSvg } from '../report/svg.js';

/** One cell as a heat map shows it. */
export interface HeatCell {
  negatives: number;
  batchSize: number;
  maxLen: number;
  /** The value drawn (null: not trained, failed, or not measured). */
  value: number | null;
  overBudget: boolean;
  /** Trained although over the budget (with --train-over-budget). */
  trained: boolean;
  error?: string;
}

/** What a heat map shows: the legend's title and how a value is written in its cell. */
export interface HeatMetric {
  legend: string;
  format: (x: number) => string;
  /** The colour scale: linear (default) or log (values spanning orders of magnitude, e.g. bytes). */
  scale?: 'linear' | 'log';
  /** d3 format of the legend's labels (default: Vega's). */
  legendFormat?: string;
}

/** NDCG@10 with 4 decimals (the default metric). */
export const NDCG_METRIC: HeatMetric = { legend: 'NDCG@10', format: (x) => x.toFixed(4) };

/** The text shown in a cell: the value, "> budget", "error", with "*" where a trained cell is over the budget. */
export function cellLabel(c: HeatCell, metric: HeatMetric = NDCG_METRIC): string {
  if (c.error) return 'error';
  if (c.value === null) return c.overBudget ? '> budget' : '';
  return `${metric.format(c.value)}${c.overBudget ? ' *' : ''}`;
}

/** A heat map of `cells` as an SVG string. */
export async function heatmapSvg(
  cells: readonly HeatCell[],
  title: string,
  metric: HeatMetric = NDCG_METRIC,
): Promise<string> {
  const values = cells.map((c) => ({
    negatives: c.negatives,
    batchSize: c.batchSize,
    maxLen: `max length ${c.maxLen}`,
    value: c.value,
    label: cellLabel(c, metric),
  }));
  const x = { field: 'batchSize', type: 'ordinal' as const, title: 'batch size', sort: 'ascending' as const };
  const y = {
    field: 'negatives',
    type: 'ordinal' as const,
    title: 'negatives K',
    sort: 'descending' as const,
  };
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    facet: { column: { field: 'maxLen', type: 'nominal', title: null } },
    spec: {
      width: 90 * Math.max(1, new Set(cells.map((c) => c.batchSize)).size),
      height: 60 * Math.max(1, new Set(cells.map((c) => c.negatives)).size),
      layer: [
        {
          mark: { type: 'rect', stroke: 'white' },
          encoding: {
            x,
            y,
            color: {
              condition: { test: 'datum.value === null', value: '#d0d0d0' },
              field: 'value',
              type: 'quantitative',
              title: metric.legend,
              scale: { scheme: 'viridis', type: metric.scale ?? 'linear' },
              ...(metric.legendFormat ? { legend: { format: metric.legendFormat } } : {}),
            },
          },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            x,
            y,
            text: { field: 'label', type: 'nominal' },
            color: { condition: { test: 'datum.value === null', value: 'black' }, value: 'white' },
          },
        },
      ],
    },
  });
}
