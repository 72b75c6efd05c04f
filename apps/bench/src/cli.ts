#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command } from 'commander';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

// No benchmark has landed yet (see the package README): the command only answers --help/--version.
new Command('cutrec-bench')
  .description('Time and peak memory of the cutrec losses and training steps (no benchmarks have landed yet)')
  .version(version, '-V, --version')
  .parse(process.argv);
