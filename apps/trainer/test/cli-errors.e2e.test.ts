/**
 * The built `cutrec` on inputs a user gets wrong: one line that names the flag or file and says what
 * to do, no stack trace (unless --verbose), and no run folder made; existing runs never replaced
 * without --overwrite; default folders of runs started together kept apart. Every test makes its
 * own folders, so they run in any order.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cudaKernelsUnavailableReason } from '@cutrec/kernels';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** A tiny synthetic problem on the CPU backend: 8 steps per epoch, a second or two per run. */
const TINY = [
  '--synth-users', '120', '--synth-items', '40', '--synth-min-length', '6', '--synth-max-length', '10',
  '--hidden', '8', '--blocks', '1', '--heads', '1', '--batch-size', '16', '--negatives', '8',
  '--epochs', '2', '--backend', 'cpu', '--patience', '0', '--quiet',
]; // biome-ignore format: flag pairs

const workDir = () => mkdtempSync(join(tmpdir(), 'cutrec-cli-'));

function cutrec(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const ours = r.stderr.split('\n').filter((l) => l.startsWith('cutrec:'));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ours };
}

/** A JavaScript stack frame (Dawn's own native warnings, without a driver, print C++ frames). */
const JS_FRAME = /^\s+at .*(file:|node:|<anonymous>)/m;

/** The command failed with exactly one `cutrec:` line and no stack frame; returns that line. */
function oneLine(r: ReturnType<typeof cutrec>): string {
  expect(r.code, r.stderr).toBe(1);
  expect(r.ours, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(JS_FRAME);
  return r.ours[0]!;
}

describe('cutrec train on bad input', () => {
  it('checks the configuration before anything is made, naming the flags', () => {
    const w = workDir();
    const heads = oneLine(cutrec(w, ['train', '--hidden', '7', '--heads', '2', '--out', 'run']));
    expect(heads).toBe('cutrec: invalid configuration: --hidden: must be divisible by --heads (2), got 7');
    const lr = oneLine(cutrec(w, ['train', '--lr', 'abc', '--out', 'run']));
    expect(lr).toBe('cutrec: invalid configuration: --lr: must be a number, got "abc"');
    const data = oneLine(cutrec(w, ['train', '--data', 'missing.txt', '--out', 'run']));
    expect(data).toContain(`--data ${join(w, 'missing.txt')}: no such file`);
    const both = oneLine(cutrec(w, ['train', '--impl', 'cuda', '--backend', 'webgpu', '--out', 'run']));
    expect(both).toMatch(/--impl: 'cuda' .*--backend cpu.*with --backend webgpu use 'wgsl'/);
    expect(readdirSync(w)).toEqual([]);
  });

  it.skipIf(cudaKernelsUnavailableReason() === undefined)(
    'refuses --impl cuda without a GPU before the run folder is made',
    () => {
      const w = workDir();
      const line = oneLine(cutrec(w, ['train', ...TINY, '--impl', 'cuda', '--out', 'run']));
      expect(line).toMatch(/^cutrec: --impl cuda: CUDA unavailable: .*; use --impl auto/);
      expect(readdirSync(w)).toEqual([]);
    },
  );

  it('without a Vulkan driver, --backend webgpu says to use --backend cpu', () => {
    const w = workDir();
    const env = { VK_ICD_FILENAMES: '/nonexistent.json', VK_DRIVER_FILES: '/nonexistent.json' };
    const r = cutrec(w, ['train', '--backend', 'webgpu', '--epochs', '1', '--out', 'run'], env);
    const line = oneLine(r);
    expect(line).toMatch(
      /^cutrec: --backend webgpu: no WebGPU adapter .*use --backend cpu, or install a Vulkan driver$/,
    );
    expect(r.stderr).not.toContain('setupTfjs');
    // Dawn is asked in a child process first, so its native warnings stay out of the output...
    expect(r.stderr).not.toMatch(/^Warning:|CheckVkSuccessImpl/m);
    expect(readdirSync(w)).toEqual([]);
    const verbose = cutrec(w, ['train', '--backend', 'webgpu', '--epochs', '1', '--verbose'], env);
    expect(verbose.stderr).toMatch(JS_FRAME); // the stack, when asked for
    expect(verbose.stderr).toMatch(/^Dawn printed:\n(.*\n)*\s+at CheckVkSuccessImpl/m); // ...and in it
  });

  it('without a Vulkan driver, --backend auto trains on the CPU with one warning and none of Dawn’s', () => {
    const w = workDir();
    const env = { VK_ICD_FILENAMES: '/nonexistent.json', VK_DRIVER_FILES: '/nonexistent.json' };
    const auto = TINY.map((a) => (a === 'cpu' ? 'auto' : a));
    const r = cutrec(w, ['train', ...auto, '--epochs', '1', '--out', 'run'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.ours).toEqual([
      'cutrec: warning: no WebGPU adapter, training on the CPU: No WebGPU adapter was found.',
    ]);
    expect(r.stderr).not.toMatch(/^Warning:|CheckVkSuccessImpl/m);
  });

  it('--out onto a run refuses and says how to resume; --overwrite replaces the run whole', () => {
    const w = workDir();
    expect(cutrec(w, ['train', ...TINY, '--out', 'run']).code).toBe(0);
    const metrics = readFileSync(join(w, 'run', 'metrics.jsonl'), 'utf8');
    const line = oneLine(cutrec(w, ['train', ...TINY, '--out', 'run']));
    expect(line).toBe(
      'cutrec: --out run already holds a run: continue it with `npx cutrec train --resume run`, choose another --out, or add --overwrite to replace it',
    );
    expect(readFileSync(join(w, 'run', 'metrics.jsonl'), 'utf8')).toBe(metrics);

    writeFileSync(join(w, 'run', 'stale.txt'), 'from the old run');
    const again = cutrec(w, ['train', ...TINY, '--epochs', '1', '--out', 'run', '--overwrite']);
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(w, 'run', 'stale.txt'))).toBe(false);
    const rows = readFileSync(join(w, 'run', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(rows.map((l) => JSON.parse(l).type)).toEqual(['epoch', 'test']);
  });

  it('runs started at the same moment get their own default folders', async () => {
    const w = workDir();
    const start = () =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [cli, 'train', ...TINY], { cwd: w, stdio: 'ignore' });
        child.on('exit', resolve);
      });
    expect(await Promise.all([start(), start(), start()])).toEqual([0, 0, 0]);
    const dirs = readdirSync(join(w, 'runs'));
    expect(dirs).toHaveLength(3);
    for (const d of dirs) {
      const rows = readFileSync(join(w, 'runs', d, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n');
      expect(rows.map((l) => JSON.parse(l).type)).toEqual(['epoch', 'epoch', 'test']);
    }
  });

  it('names a truncated checkpoint and says what to do', () => {
    const w = workDir();
    expect(cutrec(w, ['train', ...TINY, '--out', 'run']).code).toBe(0);
    const last = join(w, 'run', 'checkpoints', 'last.safetensors');
    truncateSync(last, 1000);
    const resume = oneLine(cutrec(w, ['train', '--resume', 'run', '--epochs', '3']));
    expect(resume).toMatch(
      new RegExp(`^cutrec: ${last}: the checkpoint is truncated or corrupt \\(.*\\); train again`),
    );
    const evaluate = oneLine(cutrec(w, ['evaluate', 'run', '--checkpoint', 'last']));
    expect(evaluate).toMatch(/the checkpoint is truncated or corrupt .*try --checkpoint best/);
  });
});

describe('a run whose data file was moved', () => {
  it('resume and evaluate name the file and the config.json that names it', () => {
    const w = workDir();
    const rows = ['user,item'];
    for (let u = 0; u < 40; u++) for (let t = 0; t < 5; t++) rows.push(`${u},${(u + t * 3) % 20}`);
    writeFileSync(join(w, 'log.csv'), `${rows.join('\n')}\n`);
    const args = ['train', ...TINY, '--data', 'log.csv', '--format', 'csv', '--out', 'run'];
    expect(cutrec(w, args).code).toBe(0);
    renameSync(join(w, 'log.csv'), join(w, 'moved.csv'));
    const named = `dataset.path of ${join(w, 'run', 'config.json')} ${join(w, 'log.csv')}: no such file (was it moved?`;
    expect(oneLine(cutrec(w, ['train', '--resume', 'run', '--epochs', '3']))).toContain(named);
    expect(oneLine(cutrec(w, ['evaluate', 'run']))).toContain(named);
  });
});

describe('a split without validation users', () => {
  /** 60 users with 6 interactions at times 1…6: a temporal split at 5 leaves no validation window. */
  function timedCsv(dir: string): string {
    const rows = ['user,item,timestamp'];
    for (let u = 0; u < 60; u++) for (let t = 1; t <= 6; t++) rows.push(`${u},${(u * 7 + t * 3) % 30},${t}`);
    const path = join(dir, 'timed.csv');
    writeFileSync(path, `${rows.join('\n')}\n`);
    return path;
  }
  const args = (data: string) => [
    'train', '--data', data, '--format', 'csv', '--split', 'temporal', '--split-threshold', '5',
    '--hidden', '8', '--blocks', '1', '--heads', '1', '--batch-size', '16', '--negatives', '8',
    '--epochs', '2', '--backend', 'cpu', '--quiet', '--out', 'run',
  ]; // biome-ignore format: flag pairs

  it('is an error that says what to change, and never uses the test split instead', () => {
    const w = workDir();
    const line = oneLine(cutrec(w, args(timedCsv(w))));
    expect(line).toMatch(/the temporal split left no validation users.*never use the test split/);
    expect(line).toMatch(/split\.validThreshold.*or pass --no-validation/);
    expect(existsSync(join(w, 'run'))).toBe(false);
  });

  it('--no-validation trains every epoch and tests the last checkpoint', () => {
    const w = workDir();
    const r = cutrec(w, [...args(timedCsv(w)), '--no-validation']);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(join(w, 'run', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => x.type)).toEqual(['epoch', 'epoch', 'test']);
    expect(rows.slice(0, 2).every((x) => x.valid === undefined)).toBe(true);
    expect(existsSync(join(w, 'run', 'checkpoints', 'best.safetensors'))).toBe(false);
    const test = JSON.parse(readFileSync(join(w, 'run', 'test-metrics.json'), 'utf8'));
    expect(test).toMatchObject({ bestEpoch: 1, checkpoint: join('checkpoints', 'last.safetensors') });
    const valid = oneLine(cutrec(w, ['evaluate', 'run', '--split', 'valid', '--backend', 'cpu']));
    expect(valid).toBe("cutrec: --split valid: the run's temporal split has no valid users");
  });
});
