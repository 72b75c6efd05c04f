/** The grid's heat map: NDCG@10 by negatives (rows) × batch size (columns), a panel per sequence length; cells over the budget marked. */
import { renderSvg } from '../report/svg.js';

/** One cell as the heat map shows it. */
export interface HeatCell {
  negatives: number;
  batchSize: number;
  maxLen: number;
  ndcg10: number | null;
  overBudget: boolean;
  /** Trained although over the budget (with --train-over-budget). */
  trained: boolean;
  error?: string;
}

/** The text shown in a cell: the NDCG@10, "> budget", "error", with "*" where a trained cell is over the budget. */
export function cellLabel(c: HeatCell): string {
  if (c.error) return 'error';
  if (c.ndcg10 === null) return c.overBudget ? '> budget' : '';
  return `${c.ndcg10.toFixed(4)}${c.overBudget ? ' *' : ''}`;
}

/** The heat map as an SVG string. */
export async function heatmapSvg(cells: readonly HeatCell[], title: string): Promise<string> {
  const values = cells.map((c) => ({
    negatives: c.negatives,
    batchSize: c.batchSize,
    maxLen: `max length ${c.maxLen}`,
    ndcg: c.ndcg10,
    label: cellLabel(c),
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
              condition: { test: 'datum.ndcg === null', value: '#d0d0d0' },
              field: 'ndcg',
              type: 'quantitative',
              title: 'NDCG@10',
              scale: { scheme: 'viridis' },
            },
          },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            x,
            y,
            text: { field: 'label', type: 'nominal' },
            color: { condition: { test: 'datum.ndcg === null', value: 'black' }, value: 'white' },
          },
        },
      ],
    },
  });
}
