import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('cutrec-bench CLI', () => {
  it('answers --help and --version', () => {
    expect(execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' })).toMatch(
      /Usage: cutrec-bench/,
    );
    expect(execFileSync(process.execPath, [cli, '--version'], { encoding: 'utf8' }).trim()).toMatch(
      /^\d+\.\d+\.\d+$/,
    );
  });
});
