#!/usr/bin/env node
import * as tf from '@tensorflow/tfjs';
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
    console.error(`cutrec: ${e.message}`);
    process.exit(typeof e.exitCode === 'number' ? e.exitCode : 1);
  },
);
