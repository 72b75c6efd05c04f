/** The `loss` command: options → shapes and filters → runLossBench → JSON, Markdown, SVG. */
import type { Command } from 'commander';
import { BENCH_IMPLS, BENCH_SHARES, type BenchImpl, type BenchShare } from '../formulas.js';
import { type LossResult, runLossBench } from '../loss/bench.js';
import type { CudaBenchDtype } from '../loss/cuda.js';
import { progress } from '../progress.js';
import { lossMarkdown } from '../report/markdown.js';
import { lossPlots } from '../report/plots.js';
import { benchSetup, outputDir, writeResult } from '../setup.js';
import {
  expandSweeps,
  type LossShape,
  NAMED_SHAPES,
  parseIntList,
  parseShape,
  QUICK_SHAPES,
  shapeByName,
} from '../shapes.js';

/** Parsed options shared by `loss` and `roofline`. */
export interface LossCliOptions {
  shapes?: string;
  shape?: string[];
  impl?: string;
  share?: string;
  blockRows: string;
  ks?: string;
  cs?: string;
  warmup: string;
  repeats: string;
  caseSeconds: string;
  memoryLimitMib?: string;
  cudaDtypes: string;
  seed: string;
  quick?: boolean;
  backend: string;
  json?: boolean;
  out?: string;
}

/** Adds the loss benchmark's options to a command. */
export function lossOptions(cmd: Command): Command {
  return cmd
    .option(
      '--shapes <names>',
      `named shapes, comma-separated (${NAMED_SHAPES.map((s) => s.name).join(', ')}); default all four`,
    )
    .option('--shape <N,C,D,K>', 'a custom shape (repeatable)', (v: string, acc: string[] = []) => [
      ...acc,
      v,
    ])
    .option('--impl <list>', `implementations (${BENCH_IMPLS.join(', ')}); default all`)
    .option('--share <list>', `share modes (${BENCH_SHARES.join(', ')}); default row,block,batch`)
    .option('--block-rows <n>', 'rows per block for share block', '64')
    .option('--ks <list>', 'also run each shape at these K (a sweep for the plots)')
    .option('--cs <list>', 'also run each shape at these C (a sweep for the plots)')
    .option('--warmup <n>', 'untimed passes before timing (the first also measures memory)', '2')
    .option('--repeats <n>', 'timed passes (median and spread reported)', '7')
    .option(
      '--case-seconds <s>',
      'time budget of one case: slow cases get fewer repeats (at least one)',
      '30',
    )
    .option(
      '--memory-limit-mib <n>',
      'skip as OOM where the predicted peak exceeds this (default: the CUDA card’s memory, else 8192)',
    )
    .option('--cuda-dtypes <list>', 'input types of the cuda rows (float32, bfloat16)', 'float32,bfloat16')
    .option('--seed <n>', 'seed of inputs and negatives', '1234')
    .option('--quick', 'small shapes, 1 warm-up and 3 repeats: seconds on a software GPU (CI)')
    .option('--backend <name>', 'tfjs backend: webgpu, cpu or auto', 'auto')
    .option('--json', 'print the results as a JSON array on stdout (no progress output)')
    .option(
      '--out <dir>',
      'write loss.json, loss.md and the SVG plots here (default ./bench-results/<card>-<date>, not with --json alone)',
    );
}

function pickList<T extends string>(
  name: string,
  text: string | undefined,
  all: readonly T[],
  dflt: readonly T[],
): T[] {
  if (!text) return [...dflt];
  const out = text.split(',').map((s) => s.trim());
  for (const s of out) {
    if (!all.includes(s as T))
      throw new RangeError(`${name} must be a list of ${all.join(', ')}; got ${JSON.stringify(s)}`);
  }
  return out as T[];
}

function positiveInt(name: string, text: string, min = 1): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min)
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return v;
}

/** Resolves the shapes of a run: --quick, --shapes and --shape, then the K and C sweeps. */
export function resolveShapes(
  o: Pick<LossCliOptions, 'quick' | 'shapes' | 'shape' | 'ks' | 'cs'>,
): LossShape[] {
  let shapes: LossShape[];
  if (o.quick && !o.shapes && !o.shape?.length) shapes = QUICK_SHAPES.map((s) => ({ ...s }));
  else {
    shapes = o.shapes
      ? o.shapes.split(',').map((n) => shapeByName(n.trim()))
      : o.shape?.length
        ? []
        : NAMED_SHAPES.map((s) => shapeByName(s.name));
    for (const s of o.shape ?? []) shapes.push(parseShape(s));
  }
  return expandSweeps(shapes, parseIntList('--ks', o.ks), parseIntList('--cs', o.cs));
}

/** Runs the loss benchmark as the CLI asked; returns the results and the setup. */
export async function runLossCommand(o: LossCliOptions, quiet: boolean) {
  const setup = await benchSetup(o.backend as 'auto');
  const shapes = resolveShapes(o);
  const impls = pickList<BenchImpl>('--impl', o.impl, BENCH_IMPLS, BENCH_IMPLS);
  const shares = pickList<BenchShare>('--share', o.share, BENCH_SHARES, ['row', 'block', 'batch']);
  const cudaDtypes = pickList<CudaBenchDtype>(
    '--cuda-dtypes',
    o.cudaDtypes,
    ['float32', 'bfloat16'],
    ['float32'],
  );
  const memoryLimitBytes = o.memoryLimitMib
    ? positiveInt('--memory-limit-mib', o.memoryLimitMib) * 2 ** 20
    : (setup.env.cuda?.totalMemory ?? 8 * 2 ** 30);
  const bar = progress(quiet);
  bar.log(`cutrec-bench loss on ${setup.env.card} (tfjs ${setup.env.backend}); ${shapes.length} shape(s)`);
  const results = await runLossBench({
    shapes,
    impls,
    shares,
    blockRows: positiveInt('--block-rows', o.blockRows),
    warmup: o.quick ? 1 : positiveInt('--warmup', o.warmup, 0),
    repeats: o.quick ? 3 : positiveInt('--repeats', o.repeats),
    caseSeconds: positiveInt('--case-seconds', o.caseSeconds),
    memoryLimitBytes,
    cudaDtypes,
    seed: positiveInt('--seed', o.seed, 0),
    device: setup.device,
    webgpuName: setup.webgpuName,
    cudaName: setup.cudaName,
    onProgress: (d, t, l) => bar.update(d, t, l),
  });
  bar.stop();
  return { setup, results, memoryLimitBytes };
}

/** Registers `cutrec-bench loss`. */
export function registerLoss(program: Command): void {
  lossOptions(
    program
      .command('loss')
      .description('forward+backward time and peak memory of every loss implementation and share mode'),
  ).action(async (o: LossCliOptions) => {
    const { setup, results } = await runLossCommand(o, Boolean(o.json));
    if (o.json) process.stdout.write(`${JSON.stringify(results.map(publicRow), null, 2)}\n`);
    if (o.out || !o.json) {
      const dir = outputDir(o.out, setup.env);
      writeResult(dir, 'loss.json', JSON.stringify({ environment: setup.env, results }, null, 2));
      const md = lossMarkdown(results, setup.env);
      writeResult(dir, 'loss.md', md);
      const plots = await lossPlots(results);
      for (const [name, svg] of Object.entries(plots)) writeResult(dir, name, svg);
      if (!o.json) {
        process.stdout.write(md);
        process.stdout.write(`\nwritten to ${dir}: loss.json, loss.md, ${Object.keys(plots).join(', ')}\n`);
      }
    }
  });
}

/** The JSON row of `--json`: `{ impl, share, shape, ms, msSpread, peakBytes, device }` plus details. */
export function publicRow(r: LossResult): LossResult {
  return r;
}
