#!/usr/bin/env node
/** `cutrec-bench`: loss, roofline, train and grid benchmarks (see the README). */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerGrid } from './commands/grid.js';
import { registerLoss } from './commands/loss.js';
import { registerRoofline } from './commands/roofline.js';
import { registerTrain } from './commands/train.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command('cutrec-bench')
  .description(
    'Time and peak memory of the cutrec losses and training steps, the roofline, and the negatives × batch-size grid',
  )
  .version(version, '-V, --version');
registerLoss(program);
registerRoofline(program);
registerTrain(program);
registerGrid(program);

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`cutrec-bench: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
