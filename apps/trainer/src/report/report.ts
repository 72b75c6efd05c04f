/** `report.html` of a run folder: learning curves and final metrics vs the popularity baseline, as inline SVG (readable offline). */
import { existsSync, writeFileSync } from 'node:fs';
import type { TrainConfig } from '../config/schema.js';
import type { EpochRecord, Metrics, TestRecord } from '../train/events.js';
import { type RunPaths, readJson, readMetrics } from '../train/run-folder.js';
import { lossChart, renderSvg, testChart, validationChart } from './charts.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

function metricsTable(test: Metrics, popularity: Metrics): string {
  const names = Object.keys(test)
    .filter((k) => /^(ndcg|hr|mrr)@/.test(k))
    .sort(
      (a, b) =>
        a.split('@')[0]!.localeCompare(b.split('@')[0]!) || Number(a.split('@')[1]) - Number(b.split('@')[1]),
    );
  const rows = names
    .map(
      (k) =>
        `<tr><td>${esc(k)}</td><td>${num(test[k])}</td><td>${num(popularity[k])}</td><td>${
          popularity[k] ? `${num(test[k]! / popularity[k]!, 2)}×` : '–'
        }</td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>metric</th><th>SASRec (test)</th><th>popularity</th><th>ratio</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function epochTable(epochs: EpochRecord[], key: string): string {
  const rows = epochs
    .map(
      (r) =>
        `<tr><td>${r.epoch + 1}</td><td>${num(r.trainLoss)}</td><td>${num(r.valid?.[key])}</td><td>${num(
          r.epochTimeSec,
          1,
        )}</td><td>${Math.round(r.positionsPerSec)}</td><td>${
          r.peakGpuBytes === null ? 'n/a' : `${(r.peakGpuBytes / 2 ** 20).toFixed(1)} MiB`
        }</td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>epoch</th><th>train loss</th><th>valid ${esc(key)}</th><th>time (s)</th><th>positions/s</th><th>peak GPU</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** The report's HTML from a run's records (no scripts, no external resources). */
export async function reportHtml(
  config: TrainConfig,
  epochs: EpochRecord[],
  test: TestRecord | undefined,
  baselines: { popularity: { valid: Metrics; test: Metrics }; plantedBest?: { test: Metrics } },
  backend?: { name: string; device: string | null },
): Promise<string> {
  const key = config.train.metric;
  const shown = [...new Set([key, 'ndcg@10', 'hr@10'])];
  const lossSvg = await renderSvg(lossChart(epochs.map((r) => ({ epoch: r.epoch + 1, loss: r.trainLoss }))));
  const validPoints = epochs.flatMap((r) =>
    shown
      .filter((m) => r.valid?.[m] !== undefined)
      .map((m) => ({ epoch: r.epoch + 1, metric: m, value: r.valid![m]! })),
  );
  const validSvg = await renderSvg(
    validationChart(
      validPoints,
      shown
        .filter((m) => baselines.popularity.valid[m] !== undefined)
        .map((m) => ({ metric: m, value: baselines.popularity.valid[m]! })),
    ),
  );
  let testSection = '<p>No test metrics yet (the run has not finished).</p>';
  if (test) {
    const byK = (a: string, b: string) =>
      a.split('@')[0]!.localeCompare(b.split('@')[0]!) || Number(a.split('@')[1]) - Number(b.split('@')[1]);
    const names = Object.keys(test.test)
      .filter((k) => /^(ndcg|hr)@/.test(k))
      .sort(byK);
    const rows = names.flatMap((m) => [
      { metric: m, model: 'SASRec', value: test.test[m]! },
      { metric: m, model: 'popularity', value: test.popularity[m] ?? 0 },
    ]);
    const testSvg = await renderSvg(testChart(rows));
    const planted = baselines.plantedBest
      ? `<p>Synthetic data: the planted structure's best achievable NDCG@10 is ${num(baselines.plantedBest.test['ndcg@10'])} (HR@10 ${num(baselines.plantedBest.test['hr@10'])}); this run reached ${num(((test.test['ndcg@10'] ?? 0) / baselines.plantedBest.test['ndcg@10']!) * 100, 1)}% of it.</p>`
      : '';
    testSection = `<p>Best checkpoint: epoch ${test.bestEpoch + 1} (by validation ${esc(key)}).</p>
<figure class="chart">${testSvg}</figure>
${metricsTable(test.test, test.popularity)}
${planted}`;
  }
  const l = config.loss;
  const lossText =
    l.kind === 'ce'
      ? 'full cross-entropy'
      : l.kind === 'cce-'
        ? `CCE- (K = ${l.negatives}, share ${l.share}${l.share === 'block' ? ` × ${l.blockRows}` : ''}, ${l.sampler} sampler, logQ ${l.logQ ? 'on' : 'off'})`
        : l.kind === 'bce'
          ? `BCE (K = ${l.negatives})`
          : `gBCE (K = ${l.negatives}, t = ${l.t})`;
  const m = config.model;
  const dataText =
    config.dataset.path ??
    `synthetic (${config.dataset.synthetic.numUsers} users, ${config.dataset.synthetic.numItems} items)`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cutrec run report</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .75rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; }
code { background: #f4f4f4; padding: 0 .2rem; }
</style>
</head>
<body>
<h1>cutrec run report</h1>
<p>SASRec (${m.numBlocks} blocks, ${m.numHeads} heads, hidden ${m.hidden}, max length ${m.maxLen}, ${m.norm}-norm, dropout ${m.dropout}) trained with ${esc(lossText)} on <code>${esc(dataText)}</code>, ${config.split.kind} split, batch size ${config.train.batchSize}, learning rate ${config.optimizer.lr}, backend ${esc(backend ? `${backend.name}${backend.device ? ` (${backend.device})` : ''}` : config.backend)}. Metrics rank the full catalog${config.eval.removeSeen ? ', seen items removed' : ''}.</p>
<h2>Final metrics (test)</h2>
${testSection}
<h2>Learning curves</h2>
<div class="charts">
<figure class="chart">${lossSvg}</figure>
<figure class="chart">${validSvg}</figure>
</div>
${epochTable(epochs, key)}
</body>
</html>
`;
}

/** Writes `report.html` into a run folder from its config, metrics and baselines. */
export async function writeReport(paths: RunPaths): Promise<void> {
  const config = readJson<TrainConfig>(paths.config);
  const records = readMetrics(paths);
  const epochs = records.filter((r): r is EpochRecord => r.type === 'epoch');
  const test = records.filter((r): r is TestRecord => r.type === 'test').pop();
  const baselines = readJson<{
    popularity: { valid: Metrics; test: Metrics };
    plantedBest?: { test: Metrics };
  }>(paths.baselines);
  const backend = existsSync(paths.test)
    ? readJson<{ backend?: { name: string; device: string | null } }>(paths.test).backend
    : undefined;
  writeFileSync(paths.report, await reportHtml(config, epochs, test, baselines, backend));
}
