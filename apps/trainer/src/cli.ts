#!/usr/bin/env node
import { runCli } from './program.js';

runCli(process.argv).then(
  () => {
    // Dawn keeps handles open; exit once the command is done.
    process.exit(process.exitCode ?? 0);
  },
  (err: unknown) => {
    console.error(`cutrec: ${(err as Error).message}`);
    process.exit(1);
  },
);
