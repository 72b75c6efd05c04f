/** Markdown writers: a header naming the environment, and the tables of each command. */
import type { BenchEnvironment } from '../env.js';
import type { LossResult } from '../loss/bench.js';
import { NAMED_SHAPES } from '../shapes.js';

const MiB = 2 ** 20;

/** A Markdown table from a header row, alignments ('l' | 'r') and rows of cells (pipes escaped). */
export function markdownTable(
  header: readonly string[],
  align: readonly ('l' | 'r')[],
  rows: readonly (readonly string[])[],
): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The lines every result file starts with: card, driver, versions, date, command. */
export function environmentMarkdown(env: BenchEnvironment): string {
  const v = Object.entries(env.versions)
    .map(([k, x]) => `${k} ${x}`)
    .join(', ');
  return [
    `- card: ${env.card}`,
    `- driver: ${env.driver}`,
    `- tfjs backend: ${env.backend}${env.webgpu ? ` (WebGPU adapter: ${env.webgpu.vendor} ${env.webgpu.architecture} ${env.webgpu.description})` : ''}`,
    ...(env.cuda
      ? [`- CUDA device: ${env.cuda.name} (cc ${env.cuda.computeCapability})`]
      : env.cudaUnavailable
        ? [`- CUDA: ${env.cudaUnavailable}`]
        : []),
    `- versions: ${v}`,
    `- date: ${env.date}`,
    `- command: \`${env.command}\``,
    '',
  ].join('\n');
}

/** x with 3 significant digits (no exponent below 1e21). */
const sig = (x: number) =>
  x === 0 ? '0' : Math.abs(x) >= 1000 ? num(x, 0) : Number(x.toPrecision(3)).toString();

const num = (x: number, digits: number) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The loss table: one row per result, "OOM …"/"unavailable …" in place of numbers where skipped. */
export function lossMarkdown(results: readonly LossResult[], env?: BenchEnvironment): string {
  const rows = results.map((r) => {
    const triton = NAMED_SHAPES.find((s) => s.name === r.shapeName);
    const share = r.share === 'block' ? `block (${r.blockRows})` : r.share;
    const shape = `${r.shapeName} (${r.shape.N}, ${r.shape.C}, ${r.shape.D}, ${r.shape.K})`;
    if (r.ms === null) {
      return [
        shape,
        r.impl,
        share,
        r.dtype,
        r.skipped?.startsWith('OOM') ? 'OOM' : 'skipped',
        '',
        '',
        '',
        '',
        r.skipped ?? '',
      ];
    }
    const peak = r.peakBytes === null ? 'n/a' : num(r.peakBytes / MiB, 1);
    const work = r.peakBytes === null ? 'n/a' : num(Math.max(0, r.peakBytes - r.gradBytes) / MiB, 1);
    const vs = triton ? `${num((100 * r.ms) / triton.tritonMs, 0)}%` : '';
    return [
      shape,
      r.impl,
      share,
      r.dtype,
      num(r.ms, 3),
      num(r.msSpread ?? 0, 3),
      peak,
      work,
      vs,
      r.timing ?? '',
    ];
  });
  const table = markdownTable(
    [
      'shape (N, C, D, K)',
      'impl',
      'share',
      'dtype',
      'fwd+bwd ms (median)',
      'spread ms',
      'peak MiB',
      'beyond grads MiB',
      'vs Triton H200 time',
      'timing / note',
    ],
    ['l', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
    rows,
  );
  const head = env ? `# cutrec-bench loss\n\n${environmentMarkdown(env)}\n` : '';
  const foot =
    '\n"peak MiB": bytes allocated during forward+backward beyond the inputs, gradient outputs included; ' +
    '"beyond grads": the same less the gradients 4·(N + C)·D. "spread": max − min of the timed repeats. ' +
    'Triton: the published CCE- kernel, fp16 on an H200 (18.3 / 57.6 / 185 / 304 ms).\n';
  return `${head}${table}${foot}`;
}

/** The roofline table: limits first, then each kernel's bytes, FLOPs, bound and fraction reached. */
export function rooflineMarkdown(
  rows: readonly import('../roofline.js').RooflineRow[],
  limits: {
    webgpu: import('../roofline.js').DeviceLimits | null;
    cuda: import('../roofline.js').DeviceLimits | null;
  },
  env?: BenchEnvironment,
): string {
  const lim: string[][] = [];
  for (const [name, l] of [
    ['WebGPU', limits.webgpu],
    ['CUDA', limits.cuda],
  ] as const) {
    if (!l) continue;
    lim.push([
      name,
      `${sig(l.copyBytesPerSec / 1e9)} GB/s`,
      l.copyHow,
      `${sig(l.matmulFlopsPerSec / 1e12)} TFLOP/s`,
      l.matmulHow,
    ]);
    if (l.tensorFlopsPerSec)
      lim.push([
        `${name} tensor cores`,
        l.theoreticalBytesPerSec ? `${num(l.theoreticalBytesPerSec / 1e9, 0)} GB/s` : '',
        'theoretical DRAM',
        `${num(l.tensorFlopsPerSec / 1e12, 1)} TFLOP/s`,
        'theoretical dense bf16',
      ]);
  }
  const head = env ? `# cutrec-bench roofline\n\n${environmentMarkdown(env)}\n` : '';
  const t1 = markdownTable(
    ['device', 'bandwidth', 'how', 'matmul rate', 'how'],
    ['l', 'r', 'l', 'r', 'l'],
    lim,
  );
  const t2 = markdownTable(
    [
      'shape',
      'impl',
      'share',
      'dtype',
      'GFLOP',
      'GB moved',
      'FLOP/byte',
      'ms',
      'bound ms',
      'bound by',
      'fraction of roofline',
    ],
    ['l', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'r'],
    rows.map((r) => [
      r.shapeName,
      r.impl,
      r.share,
      r.dtype,
      sig(r.flops / 1e9),
      sig(r.bytes / 1e9),
      sig(r.intensity),
      num(r.ms, 3),
      num(r.boundMs, 3),
      r.bound,
      `${num(100 * r.fraction, 1)}%`,
    ]),
  );
  return `${head}## Device limits\n\n${t1}\n## Kernels\n\n${t2}\nBytes and FLOPs are the compulsory traffic and arithmetic of each algorithm (apps/bench/README.md, "Formulas"); "bound ms" = max(bytes / bandwidth, FLOPs / matmul rate).\n`;
}

/** The train table: steps/s, step, body and loss milliseconds, and peak memory per loss. */
export function trainMarkdown(
  r: {
    bodyMs: number;
    bodyPeakBytes: number | null;
    results: readonly import('../train/bench.js').TrainResult[];
  },
  config: string,
  env?: BenchEnvironment,
): string {
  const head = env ? `# cutrec-bench train\n\n${environmentMarkdown(env)}\n` : '';
  const f = (x: number | null, d = 2) => (x === null ? '' : num(x, d));
  const mib = (x: number | null) => (x === null ? 'n/a' : num(x / MiB, 1));
  const t = markdownTable(
    [
      'loss',
      'steps/s',
      'step ms (median)',
      'spread ms',
      'body ms',
      'loss in step ms',
      'loss alone ms',
      'peak MiB',
      'note',
    ],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    [
      [
        '(body: trivial loss)',
        num(1000 / r.bodyMs, 2),
        num(r.bodyMs, 2),
        '',
        num(r.bodyMs, 2),
        '',
        '',
        mib(r.bodyPeakBytes),
        '',
      ],
      ...r.results.map((x) => [
        x.loss,
        f(x.stepsPerSec),
        f(x.stepMs),
        f(x.stepSpreadMs),
        f(x.bodyMs),
        f(x.lossInStepMs),
        f(x.lossMs),
        x.skipped ? (x.skipped.startsWith('OOM') ? 'OOM' : 'skipped') : mib(x.peakBytes),
        x.skipped ?? JSON.stringify(x.spec),
      ]),
    ],
  );
  return `${head}${config}\n\n${t}\n"body": the same step with mean(hidden) as its loss (forward, backward, AdamW); "loss in step" = step − body; "loss alone": the loss's forward+backward on random [B·L, D] hidden states against the item table. Times are wall-clock and wait for the device.\n`;
}

/** The grid table: each cell's quality at its best validation epoch, how long it took, and its memory. */
export function gridMarkdown(
  rows: readonly import('../grid/results.js').GridRow[],
  spec: Record<string, unknown>,
  wallSeconds: number,
  env?: BenchEnvironment,
): string {
  const head = env ? `# cutrec-bench grid\n\n${environmentMarkdown(env)}\n` : '';
  const f = (x: number | null | undefined, d: number) => (x === null || x === undefined ? '' : num(x, d));
  const mib = (x: number | null | undefined) => f(x === null || x === undefined ? x : x / MiB, 1);
  const note = (r: (typeof rows)[number]) =>
    r.result?.error ??
    (!r.result
      ? r.overBudget
        ? 'not trained (over budget)'
        : 'not trained yet'
      : r.result.complete === false
        ? `cut by the deadline (${r.result.stoppedBy})`
        : (r.result.stoppedBy ?? ''));
  const t = markdownTable(
    [
      'max len',
      'K',
      'batch',
      'test NDCG@10',
      'test HR@10',
      'valid NDCG@10',
      'best epoch',
      'epochs',
      's to best',
      's in all',
      'steps/s',
      'peak MiB',
      'predicted MiB',
      'baseline MiB',
      'budget',
      'stopped by / note',
    ],
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l'],
    rows.map((r) => [
      String(r.maxLen),
      String(r.negatives),
      String(r.batchSize),
      f(r.result?.ndcg10, 4),
      f(r.result?.hr10, 4),
      f(r.result?.validNdcg10, 4),
      r.result?.bestEpoch === undefined ? '' : String(r.result.bestEpoch),
      r.result?.epochs === undefined ? '' : String(r.result.epochs),
      f(r.result?.secondsToBest, 1),
      f(r.result?.totalSeconds, 1),
      f(r.result?.stepsPerSec, 1),
      mib(r.result?.measuredPeakBytes),
      mib(r.result?.predictedPeakBytes ?? r.predictedBytes),
      mib(r.baselineBytes),
      r.overBudget ? 'over' : 'fits',
      note(r),
    ]),
  );
  const cfg = Object.entries(spec)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join('; ');
  return `${head}${cfg}\n\nwall time ${num(wallSeconds, 1)} s for the grid (the calls that wrote it, added up).\n\n${t}\n"test NDCG@10", "test HR@10": the model at the best validation epoch ("best epoch", 1-based; chosen by validation NDCG@10 only). "s to best": training and validation seconds up to that epoch; "s in all": the cell's child process from start to result (start-up, data loading and test evaluations included). "peak MiB": the engine's peak device memory by the device's meter over the whole cell (blank where there is none: the host, tfjs on the CPU); "predicted MiB": the fused engine's own plan (\`fusedBytes\`) or, for the tfjs engine, the budget's memory model; "baseline MiB": the predicted peak of the same step with the tfjs engine and the naive sampled cross-entropy, which materialises the [B·L, K, D] gathered embeddings.\n`;
}

/** The memory-budget view: for each budget the best cell by validation NDCG@10 for CCE- and for the baseline. */
export function budgetMarkdown(view: readonly import('../grid/budget.js').BudgetRow[]): string {
  const pick = (p: import('../grid/budget.js').BudgetPick | null) =>
    p
      ? [
          `K ${p.negatives} · B ${p.batchSize}${p.maxLen === 50 ? '' : ` · L ${p.maxLen}`}`,
          num(p.validNdcg10, 4),
          p.ndcg10 === null ? '' : num(p.ndcg10, 4),
        ]
      : ['none fits', '', ''];
  const t = markdownTable(
    [
      'budget',
      'CCE- cell',
      'valid NDCG@10',
      'test NDCG@10',
      'baseline cell',
      'valid NDCG@10',
      'test NDCG@10',
    ],
    ['r', 'l', 'r', 'r', 'l', 'r', 'r'],
    view.map((v) => [
      v.budgetBytes >= 2 ** 30 ? `${v.budgetBytes / 2 ** 30} GiB` : `${v.budgetBytes / MiB} MiB`,
      ...pick(v.cce),
      ...pick(v.baseline),
    ]),
  );
  return `## Memory budget\n\nFor each device-memory budget, the cell with the best validation NDCG@10 among those that fit: CCE- by the fused engine's measured peak ("peak MiB", its prediction where unmeasured), the baseline by its predicted peak ("baseline MiB"; both train the same model, so a cell's quality is the same, only whether it fits differs). The test NDCG@10 is that cell's, reported, never used to choose.\n\n${t}`;
}

/** The fused engine's rows as a Markdown table. */
export function fusedMarkdown(
  rows: readonly import('../train/fused.js').FusedTrainResult[],
  config: string,
): string {
  const f = (x: number | null, d = 2) => (x === null ? '' : num(x, d));
  const mib = (x: number | null) => (x === null ? 'n/a' : num(x / MiB, 1));
  const deviceOf = (x: { device: string }) => (x.device === 'cuda' ? 'CUDA' : 'WebGPU');
  const kinds = [...new Set(rows.map(deviceOf))];
  const devices = kinds.join(', ');
  return `## fused engine (${devices || 'CUDA'}), ${config}\n\n${markdownTable(
    [
      'precision',
      'loss',
      'step ms (median, waited)',
      'spread ms',
      'step ms (queued)',
      'peak MiB',
      'graph nodes',
      'last loss',
      'note',
    ],
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    rows.map((x) => [
      kinds.length > 1 ? `${x.precision} (${deviceOf(x)})` : x.precision,
      x.loss,
      f(x.stepMs, 3),
      f(x.stepSpreadMs, 3),
      f(x.pipelinedMs, 3),
      mib(x.peakBytes),
      x.graphNodes === null ? '' : String(x.graphNodes),
      f(x.lossValue, 4),
      x.skipped ?? '',
    ]),
  )}\n`;
}
