/** The `train` command: SASRec step time and memory per loss, body vs loss. */
import { fusedDeviceKind } from '@cutrec/models';
import type { Command } from 'commander';
import { progress } from '../progress.js';
import { fusedMarkdown, trainMarkdown } from '../report/markdown.js';
import { benchSetup, outputDir, writeResult } from '../setup.js';
import { stepConfigByName } from '../shapes.js';
import { lossSpec, runTrainBench, TRAIN_LOSSES, type TrainLossName } from '../train/bench.js';
import { type FusedPrecision, type FusedTrainResult, runFusedTrainBench } from '../train/fused.js';

interface TrainCliOptions {
  items: string;
  batch: string;
  maxLen: string;
  hidden: string;
  blocks: string;
  heads: string;
  negatives: string;
  losses: string;
  share: string;
  blockRows: string;
  impl: string;
  warmup: string;
  steps: string;
  seed: string;
  quick?: boolean;
  backend: string;
  json?: boolean;
  out?: string;
  engine: string;
  config?: string;
  precision: string;
  profile?: boolean;
}

function int(name: string, v: string, min = 1): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min)
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return x;
}

/** Registers `cutrec-bench train`. */
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'steps per second and peak memory of a SASRec training step for each loss, split into body and loss',
    )
    .option('--items <C>', 'catalog size (synthetic batches)', '100000')
    .option('--batch <B>', 'users per batch', '128')
    .option('--max-len <L>', 'sequence length', '200')
    .option('--hidden <D>', 'hidden size', '64')
    .option('--blocks <n>', 'transformer blocks', '2')
    .option('--heads <n>', 'attention heads', '2')
    .option('--negatives <K>', 'negatives for cce-, bce and gbce', '127')
    .option('--losses <list>', `losses (${TRAIN_LOSSES.join(', ')})`, TRAIN_LOSSES.join(','))
    .option('--share <mode>', 'share mode of cce- (row, block, batch)', 'row')
    .option('--block-rows <n>', 'rows per block', '64')
    .option('--impl <name>', 'impl of ce and cce- (auto, tfjs, wgsl, cuda)', 'auto')
    .option('--warmup <n>', 'untimed steps', '2')
    .option('--steps <n>', 'timed steps', '10')
    .option('--seed <n>', 'seed', '7')
    .option('--quick', 'a tiny model and catalog (seconds on a software GPU)')
    .option('--backend <name>', 'tfjs backend: webgpu, cpu or auto', 'auto')
    .option(
      '--engine <list>',
      'engines to time: tfjs (autograd over tfjs ops) and/or fused (our step: one CUDA graph per step, or one WebGPU submission where CUDA is unusable)',
      'tfjs',
    )
    .option(
      '--config <name>',
      'a named configuration (beauty-d64, ml20m, beauty: sets items, hidden, batch, max-len, negatives)',
    )
    .option(
      '--precision <list>',
      "fused engine precisions: fp32, bf16 (CUDA only) and/or f16 (always on WebGPU, adapters with 'shader-f16')",
      'fp32,bf16',
    )
    .option('--profile', 'fused engine on CUDA: also time every op of a few eager steps with CUDA events')
    .option('--json', 'print the results as JSON on stdout (no progress output)')
    .option(
      '--out <dir>',
      'write train.json and train.md here (default ./bench-results/<card>-<date>, not with --json alone)',
    )
    .action(async (o: TrainCliOptions) => {
      const engines = o.engine.split(',').map((s) => s.trim());
      for (const e of engines) {
        if (e !== 'tfjs' && e !== 'fused')
          throw new RangeError(`--engine must be a list of tfjs, fused; got ${JSON.stringify(e)}`);
      }
      const precisions = o.precision.split(',').map((s) => s.trim());
      for (const p of precisions) {
        if (p !== 'fp32' && p !== 'bf16' && p !== 'f16')
          throw new RangeError(`--precision must be a list of fp32, bf16, f16; got ${JSON.stringify(p)}`);
      }
      if (o.config) {
        const c = stepConfigByName(o.config);
        Object.assign(o, {
          items: String(c.C),
          hidden: String(c.D),
          batch: String(c.B),
          maxLen: String(c.L),
          negatives: String(c.K),
        });
      }
      // The fused engine runs where the trainer's would: CUDA where usable (tfjs then needs only
      // its CPU backend), else WebGPU on tfjs's WebGPU device; f16 rows always on WebGPU.
      const fusedKind = engines.includes('fused') ? fusedDeviceKind().device : undefined;
      const fusedWebGpu = fusedKind === 'webgpu' || (fusedKind !== undefined && precisions.includes('f16'));
      const setup = await benchSetup((engines.includes('tfjs') || fusedWebGpu ? o.backend : 'cpu') as 'auto');
      const losses = o.losses.split(',').map((s) => s.trim()) as TrainLossName[];
      for (const l of losses) {
        if (!TRAIN_LOSSES.includes(l))
          throw new RangeError(
            `--losses must be a list of ${TRAIN_LOSSES.join(', ')}; got ${JSON.stringify(l)}`,
          );
      }
      if (!['row', 'block', 'batch'].includes(o.share))
        throw new RangeError(`--share must be row, block or batch, got ${JSON.stringify(o.share)}`);
      if (!['auto', 'tfjs', 'wgsl', 'cuda'].includes(o.impl))
        throw new RangeError(`--impl must be auto, tfjs, wgsl or cuda, got ${JSON.stringify(o.impl)}`);
      const q = o.quick;
      const model = {
        numItems: q ? 500 : int('--items', o.items),
        maxLen: q ? 16 : int('--max-len', o.maxLen),
        hidden: q ? 16 : int('--hidden', o.hidden),
        numBlocks: q ? 1 : int('--blocks', o.blocks, 0),
        numHeads: q ? 1 : int('--heads', o.heads),
        dropout: 0.2,
      };
      const batchSize = q ? 8 : int('--batch', o.batch);
      const negatives = q ? 7 : int('--negatives', o.negatives);
      const bar = progress(Boolean(o.json));
      const config = `SASRec C=${model.numItems} L=${model.maxLen} D=${model.hidden} blocks=${model.numBlocks} heads=${model.numHeads}, batch ${batchSize} (N = ${batchSize * model.maxLen} positions), K=${negatives}, cce- share ${o.share}, impl ${o.impl}`;
      bar.log(`cutrec-bench train on ${setup.env.card} (tfjs ${setup.env.backend}): ${config}`);
      let fused: FusedTrainResult[] = [];
      if (engines.includes('fused')) {
        fused = await runFusedTrainBench({
          model,
          ...(fusedKind ? { device: fusedKind } : {}),
          ...(setup.device ? { gpu: setup.device } : {}),
          batchSize,
          losses: losses.map((name) => ({
            name: name === 'cce-' ? `cce- ${o.share}` : name,
            spec: lossSpec(name, {
              negatives,
              share: o.share as 'row',
              blockRows: int('--block-rows', o.blockRows),
              impl: 'auto',
            }),
          })),
          precisions: precisions as FusedPrecision[],
          profile: Boolean(o.profile),
          warmup: q ? 1 : int('--warmup', o.warmup, 0),
          steps: q ? 3 : int('--steps', o.steps),
          seed: int('--seed', o.seed, 0),
          onProgress: (d, t, l) => bar.update(d, t, l),
        });
        bar.log(fusedMarkdown(fused, config));
      }
      const r = !engines.includes('tfjs')
        ? { bodyMs: Number.NaN, bodyPeakBytes: null, results: [] }
        : await runTrainBench({
            model,
            batchSize,
            losses,
            negatives,
            share: o.share as 'row',
            blockRows: int('--block-rows', o.blockRows),
            impl: o.impl as 'auto',
            warmup: q ? 1 : int('--warmup', o.warmup, 0),
            steps: q ? 3 : int('--steps', o.steps),
            seed: int('--seed', o.seed, 0),
            onProgress: (d, t, l) => bar.update(d, t, l),
          });
      bar.stop();
      const out = {
        environment: setup.env,
        config: { model, batchSize, negatives, share: o.share, impl: o.impl, name: o.config ?? null },
        ...r,
        fused,
      };
      if (o.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      if (o.out || !o.json) {
        const dir = outputDir(o.out, setup.env);
        writeResult(dir, 'train.json', JSON.stringify(out, null, 2));
        const md = `${engines.includes('tfjs') ? trainMarkdown(r, config, setup.env) : ''}${fused.length ? `\n${fusedMarkdown(fused, config)}` : ''}`;
        writeResult(dir, 'train.md', md);
        if (!o.json) process.stdout.write(`${md}\nwritten to ${dir}\n`);
      }
    });
}
