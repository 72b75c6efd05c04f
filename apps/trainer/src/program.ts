import { Command } from 'commander';
import { collectInfo, formatInfo } from './info.js';
import { VERSION } from './version.js';

/** The `cutrec` command line, without running it (tests parse with it). */
export function buildProgram(): Command {
  const program = new Command('cutrec')
    .description('Train, evaluate and serve transformer sequential recommenders (SASRec) with the CCE- loss')
    .version(VERSION, '-V, --version')
    .showHelpAfterError();

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
