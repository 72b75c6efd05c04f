/** Vega-Lite charts of a run rendered to SVG strings offline (no canvas, no network, no script in the output). */
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import * as vl from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = {
  font: 'system-ui, sans-serif',
  labelFont: 'system-ui, sans-serif',
  titleFont: 'system-ui, sans-serif',
};

/** Training loss per epoch. */
export function lossChart(points: { epoch: number; loss: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Training loss',
    width: 420,
    height: 220,
    config: { font: FONT.font },
    data: { values: points },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'loss', type: 'quantitative', title: 'mean loss', scale: { zero: false } },
    },
  };
}

/** Validation metrics per epoch, with the popularity baseline as dashed rules. */
export function validationChart(
  points: { epoch: number; metric: string; value: number }[],
  baseline: { metric: string; value: number }[],
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Validation metrics (dashed: popularity baseline)',
    width: 420,
    height: 220,
    config: { font: FONT.font },
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative', title: 'value' },
          color: { field: 'metric', type: 'nominal' },
        },
      },
      {
        data: { values: baseline },
        mark: { type: 'rule', strokeDash: [4, 4] },
        encoding: {
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'metric', type: 'nominal' },
        },
      },
    ],
  };
}

/** Final test metrics of the model against the popularity baseline, grouped by metric. */
export function testChart(rows: { metric: string; model: string; value: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Test metrics: SASRec vs popularity',
    width: { step: 18 },
    height: 220,
    config: { font: FONT.font },
    data: { values: rows },
    mark: 'bar',
    encoding: {
      column: {
        field: 'metric',
        type: 'nominal',
        title: null,
        header: { labelOrient: 'bottom' },
        sort: [...new Set(rows.map((r) => r.metric))],
      },
      x: { field: 'model', type: 'nominal', axis: null },
      y: { field: 'value', type: 'quantitative', title: 'value' },
      color: { field: 'model', type: 'nominal', title: 'model' },
    },
  };
}
