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
