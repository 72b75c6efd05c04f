import { SYNTHETIC_DEFAULTS } from '@cutrec/data';
import { Command, Option } from 'commander';
import { evaluateRun, formatEvaluation, formatRecommendation, recommendRun } from './commands.js';
import { ConfigError, isDefaultNegatable, resolveTrainConfig } from './config/load.js';
import { InterruptedError } from './errors.js';
import { exportCommand } from './export/command.js';
import { collectInfo, formatInfo } from './info.js';
import { addRecommendAllOptions, checkWithoutAll, recommendAllCommand } from './recommend/command.js';
import { writeReport } from './report/report.js';
import { Reporter, reporterMode } from './train/reporter.js';
import { runPaths } from './train/run-folder.js';
import { train } from './train/train.js';
import { VERSION } from './version.js';

/** `--keep-seen`: rank the user's history items too (sets removeSeen false; not with --remove-seen). */
function keepSeenOption(): Option {
  return new Option('--keep-seen', "evaluate with the user's history items among the candidates").conflicts(
    'removeSeen',
  );
}

/** Flags of `cutrec train` that are not config fields. */
interface TrainFlags {
  config?: string;
  out?: string;
  resume?: string;
  overwrite?: boolean;
  json?: boolean;
  quiet?: boolean;
  [key: string]: unknown;
}

function addTrainOptions(cmd: Command): Command {
  return (
    cmd
      .option('--config <file>', 'YAML or JSON config file (flags override it)')
      .option('--out <dir>', 'run folder, new or empty (default runs/<timestamp>-<dataset>-<loss>)')
      .option('--overwrite', 'with --out: replace the run already in that folder (its files are removed)')
      .option('--resume <run>', 'continue the run folder RUN exactly where its last checkpoint left it')
      .option('--json', 'print one JSON event per line on stdout (start, epoch, eval, checkpoint, done)')
      .option('--quiet', 'print only the final results')
      // dataset
      .option('--data <path>', 'interaction log (default: the built-in synthetic dataset)')
      .addOption(
        new Option('--format <format>', 'format of --data (default: from the file name)').choices([
          'auto',
          'sasrec',
          'iclrec',
          'text',
          'csv',
          'tsv',
          'movielens',
          'parquet',
        ]),
      )
      .option('--user-col <col>', 'CSV/Parquet: user column (header name or 0-based index)')
      .option('--item-col <col>', 'CSV/Parquet: item column')
      .option('--time-col <col>', 'CSV/Parquet: timestamp column')
      .option('--rating-col <col>', 'CSV/Parquet: rating column')
      .option('--rating-threshold <x>', 'keep interactions with rating ≥ x')
      .option('--delimiter <d>', 'CSV delimiter (default: detected)')
      .option('--min-user-count <n>', 'drop users with fewer interactions (k-core)')
      .option('--min-item-count <n>', 'drop items with fewer interactions (k-core)')
      .option('--synth-users <n>', `synthetic dataset: users (default ${SYNTHETIC_DEFAULTS.numUsers})`)
      .option('--synth-items <n>', `synthetic dataset: items (default ${SYNTHETIC_DEFAULTS.numItems})`)
      .option(
        '--synth-groups <n>',
        `synthetic dataset: latent groups (default ${SYNTHETIC_DEFAULTS.numGroups})`,
      )
      .option(
        '--synth-min-length <n>',
        `synthetic dataset: shortest sequence (default ${SYNTHETIC_DEFAULTS.minLength})`,
      )
      .option(
        '--synth-max-length <n>',
        `synthetic dataset: longest sequence (default ${SYNTHETIC_DEFAULTS.maxLength})`,
      )
      .option(
        '--synth-noise <p>',
        `synthetic dataset: probability of a random step (default ${SYNTHETIC_DEFAULTS.noise})`,
      )
      .option('--synth-seed <n>', `synthetic dataset: seed (default ${SYNTHETIC_DEFAULTS.seed})`)
      .addOption(
        new Option('--split <kind>', 'leave-one-out (default) or temporal').choices([
          'leave-one-out',
          'temporal',
        ]),
      )
      .option('--split-threshold <t>', 'temporal split: test interactions are after time t')
      // model
      .option('--blocks <n>', 'transformer blocks (default 2)')
      .option('--heads <n>', 'attention heads (default 2)')
      .option('--hidden <d>', 'hidden size D (default 64)')
      .option('--dropout <p>', 'dropout rate (default 0.5)')
      .option('--max-len <l>', 'positions per user L (default: min(50, longest training sequence))')
      .addOption(new Option('--norm <where>', 'layer norm placement (default pre)').choices(['pre', 'post']))
      // loss
      .addOption(
        new Option('--loss <kind>', 'training loss (default cce-)').choices(['ce', 'cce-', 'bce', 'gbce']),
      )
      .option('--negatives <k>', 'negatives K for cce-, bce, gbce (default 1024)')
      .addOption(
        new Option('--share <mode>', 'cce-: who shares negatives (default row)').choices([
          'row',
          'block',
          'batch',
        ]),
      )
      .option('--block-rows <n>', 'cce- with --share block: rows per group (default 64)')
      .addOption(
        new Option('--sampler <kind>', 'cce-: negative sampler (default uniform)').choices([
          'uniform',
          'popularity',
          'inBatch',
        ]),
      )
      .option('--no-logq', 'cce-: turn the logQ correction off')
      .option('--gbce-t <t>', 'gbce: calibration t in [0, 1] (default 0.75)')
      .addOption(
        new Option('--impl <impl>', 'loss implementation (default auto)').choices([
          'auto',
          'reference',
          'tfjs',
          'wgsl',
          'cuda',
        ]),
      )
      // optimizer and schedule
      .option('--lr <x>', 'peak learning rate (default 0.002)')
      .option('--weight-decay <x>', 'AdamW decoupled weight decay (default 0)')
      .addOption(
        new Option('--schedule <kind>', 'learning-rate schedule (default constant)').choices([
          'constant',
          'cosine',
          'linear',
        ]),
      )
      .option('--warmup <steps>', 'linear warmup steps (default 0)')
      // loop
      .option('--batch-size <b>', 'users per batch (default 256)')
      .option('--epochs <n>', 'epochs (default 200; early stopping ends most runs sooner)')
      .option('--seed <n>', 'seed of initialisation, dropout, negatives and shuffling (default 0)')
      .option(
        '--patience <n>',
        'early stopping: epochs without a better validation metric (default 15; 0 = off)',
      )
      .option(
        '--metric <name>',
        'validation metric for early stopping and the best checkpoint (default ndcg@10)',
      )
      .option(
        '--no-validation',
        'no validation pass: no early stopping, no best checkpoint; the last checkpoint is tested',
      )
      .option('--ks <list>', 'metric cutoffs, e.g. 1,5,10,20,100')
      .option('--remove-seen', "evaluate without the user's history items among the candidates (default)")
      .addOption(keepSeenOption())
      .addOption(
        new Option(
          '--backend <backend>',
          'tfjs backend (default auto: WebGPU when there is an adapter)',
        ).choices(['auto', 'webgpu', 'cpu']),
      )
      .addOption(
        new Option(
          '--engine <engine>',
          'training step: fused (our CUDA or WGSL step), tfjs, or auto (default: fused on CUDA where usable, else on WebGPU where tfjs runs on WebGPU)',
        ).choices(['auto', 'fused', 'tfjs']),
      )
      .addOption(
        new Option(
          '--precision <p>',
          "fused engine: fp32, bf16 (CUDA, sm_80+) or f16 (the fused engine on WebGPU, adapters with 'shader-f16'); default auto: fp32",
        ).choices(['auto', 'fp32', 'bf16', 'f16']),
      )
  );
}

const RESUMABLE = new Set(['epochs', 'patience', 'json', 'quiet', 'resume', 'verbose']);

async function runTrain(flags: TrainFlags): Promise<void> {
  const reporter = new Reporter(reporterMode(flags));
  try {
    if (flags.resume !== undefined) {
      const others = Object.keys(flags).filter(
        (k) => flags[k] !== undefined && !RESUMABLE.has(k) && !isDefaultNegatable(k, flags[k]),
      );
      if (others.length) {
        throw new Error(
          `--resume continues a run with its saved config.json; only --epochs, --patience, --json and --quiet may be given with it (got ${others.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')})`,
        );
      }
      await train({
        config: resolveTrainConfig(undefined, {}),
        resume: flags.resume,
        resumeOverrides: { epochs: flags.epochs, patience: flags.patience },
        reporter,
      });
      return;
    }
    if (flags.overwrite && flags.out === undefined)
      throw new ConfigError('--overwrite replaces the run in --out DIR; give --out');
    const config = resolveTrainConfig(flags.config, flags);
    await train({
      config,
      ...(flags.out !== undefined ? { out: flags.out } : {}),
      overwrite: flags.overwrite === true,
      reporter,
    });
  } catch (err) {
    // An interruption already said so in its own event.
    if (reporter.mode === 'json' && !(err instanceof InterruptedError)) {
      reporter.emit({ event: 'error', message: (err as Error).message });
    }
    throw err;
  }
}

/** The `cutrec` command line, without running it (tests parse with it). */
export function buildProgram(): Command {
  const program = new Command('cutrec')
    .description('Train, evaluate and serve transformer sequential recommenders (SASRec) with the CCE- loss')
    .version(VERSION, '-V, --version')
    .option('--verbose', 'print the stack trace of an error')
    .showHelpAfterError();

  addTrainOptions(
    program
      .command('train')
      .description(
        'train SASRec (default: on the built-in synthetic dataset) and write a run folder\n' +
          'without --data or --config, a quick preset applies (1 block, 1 head, hidden 32, dropout 0.1,\n' +
          'lr 0.01, batch 64, 6 epochs); flags override it',
      ),
  ).action(async (flags: TrainFlags) => runTrain(flags));

  program
    .command('evaluate')
    .description("a run's test metrics at k = 1, 5, 10, 20, 100, next to the popularity baseline")
    .argument('<run>', 'run folder')
    .option('--json', 'print JSON')
    .option('--checkpoint <which>', 'best (default) or last')
    .option('--split <split>', 'test (default) or valid')
    .option('--ks <list>', 'cutoffs (default 1,5,10,20,100)')
    .option(
      '--remove-seen',
      "remove the user's history items from the candidates (default: the run's setting)",
    )
    .addOption(keepSeenOption())
    .option('--backend <backend>', "auto, webgpu or cpu (default: the run's)")
    .action(async (run: string, opts) => {
      const report = await evaluateRun(run, opts);
      process.stdout.write(
        opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatEvaluation(report)}\n`,
      );
    });

  addRecommendAllOptions(
    program
      .command('recommend')
      .description(
        'top-k items (original ids) for a user of the dataset or for a list of items; with --all, for every user into a file',
      )
      .argument('<run>', 'run folder'),
  )
    .option('--user <id>', "a user's original id: recommend after the whole history")
    .option('--items <ids>', 'comma-separated original item ids, oldest first')
    .option('--k <k>', 'how many items (default 10)')
    .option('--include-seen', 'allow items of the history in the list (with --all too)')
    .option('--json', 'print JSON')
    .option('--checkpoint <which>', 'best (default) or last')
    .option('--backend <backend>', "auto, webgpu or cpu (default: the run's)")
    .action(async (run: string, opts) => {
      if (opts.all) return recommendAllCommand(run, opts);
      checkWithoutAll(opts);
      const r = await recommendRun(run, opts);
      process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatRecommendation(r)}\n`);
    });

  program.addCommand(exportCommand());

  program
    .command('report')
    .description("(re)write a run folder's report.html from its metrics")
    .argument('<run>', 'run folder')
    .action(async (run: string) => {
      const paths = runPaths(run);
      await writeReport(paths);
      process.stdout.write(`${paths.report}\n`);
    });

  program
    .command('info')
    .description('show the devices found, their limits and features, and which backends are usable')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await collectInfo(VERSION);
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInfo(report)}\n`);
    });

  return program;
}

/** Runs the command line on `argv` (as `process.argv`). */
export async function runCli(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
