/**
 * Ctrl-C when started as the README says (`npx cutrec train`): SIGINT sent to the npx process alone,
 * or to its whole process group (what a terminal does), reaches the trainer, which stops after a
 * checkpoint and prints a resume command that works as printed. SIGTERM during the validation and
 * the test evaluation on the CPU backend (whose reads never yield by themselves) stops there too,
 * and the resumed run ends with the same metrics as an uninterrupted one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

const TINY = [
  '--synth-users', '120', '--synth-items', '40', '--synth-min-length', '6', '--synth-max-length', '10',
  '--hidden', '8', '--blocks', '1', '--heads', '1', '--batch-size', '16', '--negatives', '8',
  '--epochs', '3', '--backend', 'cpu', '--patience', '0', '--json',
]; // biome-ignore format: flag pairs

/** Starts `npx cutrec train` in its own process group; interrupts it (`target`) at its start event. */
function interruptViaNpx(out: string, target: 'npx' | 'group') {
  return new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn('npx', ['cutrec', 'train', ...TINY, '--out', out], { cwd: root, detached: true });
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      if (!sent && d.toString().includes('"event":"start"')) {
        sent = true;
        process.kill(target === 'npx' ? child.pid! : -child.pid!, 'SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe.each(['npx', 'group'] as const)('SIGINT to the %s of `npx cutrec train`', (target) => {
  it('stops after a checkpoint with a resume command that works as printed', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cutrec-npx-')), 'run');
    const r = await interruptViaNpx(out, target);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/cutrec: interrupted \(SIGINT\) after step \d+ \(epoch 1\)/);
    expect(existsSync(join(out, 'checkpoints', 'last.safetensors'))).toBe(true);
    const resume = /resume with: (.*)$/m.exec(r.stderr)?.[1];
    expect(resume).toBe(`npx cutrec train --resume ${out}`);
    const again = spawnSync('bash', ['-c', resume!], { cwd: root, encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^resuming SASRec/m);
    expect(existsSync(join(out, 'test-metrics.json'))).toBe(true);
  });
});

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** 1,500 users scored 8 at a time: a validation of ~190 batches (seconds on the CPU backend). */
const EVAL = [
  '--synth-users', '1500', '--synth-items', '2000', '--synth-min-length', '6', '--synth-max-length', '10',
  '--hidden', '8', '--blocks', '1', '--heads', '1', '--batch-size', '256', '--negatives', '8',
  '--epochs', '1', '--backend', 'cpu', '--patience', '0', '--seed', '3', '--json',
]; // biome-ignore format: flag pairs

/** Runs the CLI; sends SIGTERM when a stdout line contains `at` (never when null). */
function termAt(args: string[], at: string | null) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      const had = stdout;
      stdout += d.toString();
      if (at && !had.includes(at) && stdout.includes(at)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The rows of a run's metrics.jsonl without timings, and its test metrics. */
function outcome(dir: string) {
  const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map(({ epochTimeSec: _t, evalTimeSec: _e, positionsPerSec: _p, peakGpuBytes: _g, ...r }) => r);
  return { rows, test: JSON.parse(readFileSync(join(dir, 'test-metrics.json'), 'utf8')).test };
}

describe('SIGTERM during evaluation on the CPU backend', () => {
  it('stops in the validation and in the test evaluation; the resumed run ends as an uninterrupted one', {
    timeout: 180_000,
  }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'cutrec-eval-signal-'));
    const config = join(work, 'eval.json');
    writeFileSync(config, JSON.stringify({ eval: { batchSize: 8 } }));
    const reference = join(work, 'reference');
    const ref = await termAt(['train', '--config', config, ...EVAL, '--out', reference], null);
    expect(ref.code, ref.stderr).toBe(0);

    // The epoch event comes just before the validation; the run stops inside it.
    const out = join(work, 'run');
    const inValid = await termAt(['train', '--config', config, ...EVAL, '--out', out], '"event":"epoch"');
    expect(inValid.code, inValid.stderr).toBe(143);
    expect(inValid.stderr).toMatch(
      /cutrec: interrupted \(SIGTERM\) after step \d+ \(epoch 1\) during validation/,
    );
    expect(inValid.stdout).not.toContain('"split":"valid"');
    expect(/resume with: (.*)$/m.exec(inValid.stderr)?.[1]).toBe(`npx cutrec train --resume ${out}`);

    // Resumed: the epoch is validated again; the last checkpoint comes just before the test evaluation.
    const inTest = await termAt(['train', '--resume', out, '--json'], '"kind":"last"');
    expect(inTest.code, inTest.stderr).toBe(143);
    expect(inTest.stdout).toContain('"split":"valid"');
    expect(inTest.stderr).toMatch(/cutrec: interrupted \(SIGTERM\) .* during the test evaluation/);
    expect(inTest.stdout).not.toContain('"split":"test"');
    expect(existsSync(join(out, 'test-metrics.json'))).toBe(false);

    const done = await termAt(['train', '--resume', out, '--json'], null);
    expect(done.code, done.stderr).toBe(0);
    expect(outcome(out)).toEqual(outcome(reference));
  });
});
