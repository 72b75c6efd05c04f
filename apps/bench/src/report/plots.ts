/** The loss benchmark's plots: time and peak memory against K and against C, one line per implementation and share mode. */
import type { TopLevelSpec } from 'vega-lite';
import type { LossResult } from '../loss/bench.js';
import { renderSvg } from './svg.js';

/** One plotted point. */
interface Point {
  series: string;
  group: string;
  K: number;
  C: number;
  ms: number;
  MiB: number | null;
}

function points(results: readonly LossResult[]): Point[] {
  return results
    .filter((r) => r.ms !== null)
    .map((r) => ({
      series: `${r.impl} ${r.share === 'block' ? `block(${r.blockRows})` : r.share}${r.dtype !== 'float32' ? ` ${r.dtype}` : ''}`,
      group: '',
      K: r.shape.K,
      C: r.shape.C,
      ms: r.ms!,
      MiB: r.peakBytes === null ? null : r.peakBytes / 2 ** 20,
    }));
}

/** A log-log line chart of `y` against `x`, a line per series (and per group of the other dimensions). */
export function lineSpec(
  data: readonly object[],
  x: { field: string; title: string },
  y: { field: string; title: string },
  title: string,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: 320,
    data: { values: data as object[] },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: x.field, type: 'quantitative', title: x.title, scale: { type: 'log' } },
      y: { field: y.field, type: 'quantitative', title: y.title, scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: 'impl / share', legend: { labelLimit: 400 } },
      detail: { field: 'group', type: 'nominal' },
      shape: { field: 'group', type: 'nominal', title: 'other dims' },
    },
  };
}

/**
 * SVGs by file name: time-vs-K.svg, memory-vs-K.svg (points grouped by N, C, D) and time-vs-C.svg,
 * memory-vs-C.svg (grouped by N, D, K). Skipped runs are left out.
 */
export async function lossPlots(results: readonly LossResult[]): Promise<Record<string, string>> {
  const base = points(results);
  const byK = base.map((p, i) => {
    const r = results.filter((x) => x.ms !== null)[i]!;
    return { ...p, group: `N=${r.shape.N} C=${r.shape.C} D=${r.shape.D}` };
  });
  const byC = base.map((p, i) => {
    const r = results.filter((x) => x.ms !== null)[i]!;
    return { ...p, group: `N=${r.shape.N} D=${r.shape.D} K=${r.shape.K}` };
  });
  const withMem = (xs: Point[]) => xs.filter((p) => p.MiB !== null && p.MiB > 0);
  const ms = { field: 'ms', title: 'forward+backward ms (median)' };
  const mib = { field: 'MiB', title: 'peak extra MiB (gradients included)' };
  return {
    'time-vs-K.svg': await renderSvg(
      lineSpec(byK, { field: 'K', title: 'negatives K' }, ms, 'Loss time against K'),
    ),
    'memory-vs-K.svg': await renderSvg(
      lineSpec(withMem(byK), { field: 'K', title: 'negatives K' }, mib, 'Loss peak memory against K'),
    ),
    'time-vs-C.svg': await renderSvg(
      lineSpec(byC, { field: 'C', title: 'catalog size C' }, ms, 'Loss time against C'),
    ),
    'memory-vs-C.svg': await renderSvg(
      lineSpec(withMem(byC), { field: 'C', title: 'catalog size C' }, mib, 'Loss peak memory against C'),
    ),
  };
}

/** A roofline chart: achieved GFLOP/s against arithmetic intensity, with the device's roof. */
export async function rooflinePlot(
  rows: readonly {
    impl: string;
    share: string;
    dtype: string;
    intensity: number;
    flopsPerSec: number;
    shapeName: string;
  }[],
  limits: { copyBytesPerSec: number; matmulFlopsPerSec: number },
  title: string,
): Promise<string> {
  const xs = rows.map((r) => r.intensity);
  const lo = Math.min(0.1, ...xs) / 2;
  const hi = Math.max(1000, ...xs) * 2;
  const roof: { intensity: number; gflops: number }[] = [];
  for (let x = lo; x <= hi; x *= 1.25) {
    roof.push({ intensity: x, gflops: Math.min(x * limits.copyBytesPerSec, limits.matmulFlopsPerSec) / 1e9 });
  }
  const points = rows.map((r) => ({
    intensity: r.intensity,
    gflops: r.flopsPerSec / 1e9,
    series: `${r.impl} ${r.share}${r.dtype !== 'float32' ? ` ${r.dtype}` : ''}`,
    shape: r.shapeName,
  }));
  const x = {
    field: 'intensity',
    type: 'quantitative' as const,
    title: 'FLOPs per byte',
    scale: { type: 'log' as const },
  };
  const y = {
    field: 'gflops',
    type: 'quantitative' as const,
    title: 'GFLOP/s',
    scale: { type: 'log' as const },
  };
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: 340,
    layer: [
      { data: { values: roof }, mark: { type: 'line', color: '#888' }, encoding: { x, y } },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x,
          y,
          color: { field: 'series', type: 'nominal', title: 'impl / share', legend: { labelLimit: 400 } },
          shape: { field: 'shape', type: 'nominal' },
        },
      },
    ],
  });
}
