#!/usr/bin/env node
import * as tf from '@tensorflow/tfjs';
import { formatError } from './errors.js';
import { runCli } from './program.js';

// No tfjs banners or debug checks in the command's output.
tf.enableProdMode();

runCli(process.argv).then(
  () => {
    // Dawn keeps handles open; exit once the command is done.
    process.exit(process.exitCode ?? 0);
  },
  (err: unknown) => {
    const e = err as Error & { exitCode?: number };
    console.error(`cutrec: ${formatError(err, process.argv.includes('--verbose'))}`);
    process.exit(typeof e.exitCode === 'number' ? e.exitCode : 1);
  },
);
