#!/usr/bin/env node
import { runCli } from './program.js';

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
