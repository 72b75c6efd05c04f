/** The `--all` flags of `cutrec recommend` and their action. */
import type { Command } from 'commander';
import { formatRecommendAll, type RecommendAllOptions, recommendAll } from './all.js';

/** Adds the flags of `cutrec recommend --all` to the recommend command. */
export function addRecommendAllOptions(cmd: Command): Command {
  return cmd
    .option('--all', 'top-k for every user (or those of --users) into --out FILE')
    .option('--out <file>', 'with --all: .jsonl (a user a line), .csv or .parquet (a recommendation a row)')
    .option('--users <file>', 'with --all: only these users (one original id a line)')
    .option(
      '--remove-seen',
      "with --all: leave out each user's history items (the default; --include-seen keeps them)",
    )
    .option('--batch-size <n>', 'with --all: users per forward pass (default 256)')
    .option(
      '--engine <engine>',
      'with --all: auto (the fused engine on CUDA, else on WebGPU, where usable), fused or tfjs',
    );
}

/** Runs `cutrec recommend RUN --all ...`; throws when flags of the single-user form are given with it. */
export async function recommendAllCommand(
  run: string,
  opts: RecommendAllOptions & { user?: string; items?: string; json?: boolean },
): Promise<void> {
  if (opts.user !== undefined || opts.items !== undefined)
    throw new Error('--all recommends for every user; drop --user / --items (or use --users FILE)');
  if (opts.includeSeen && opts.removeSeen)
    throw new Error('--include-seen and --remove-seen contradict each other; drop one');
  const r = await recommendAll(run, opts);
  process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatRecommendAll(r)}\n`);
}

/** Throws when a flag that only `--all` reads is given without it. */
export function checkWithoutAll(opts: RecommendAllOptions): void {
  const given = (['out', 'users', 'removeSeen', 'batchSize', 'engine'] as const).filter(
    (f) => opts[f] !== undefined,
  );
  if (given.length) {
    const flags = given.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    throw new Error(`${flags.join(', ')} ${given.length > 1 ? 'go' : 'goes'} with --all`);
  }
}
