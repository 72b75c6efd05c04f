/**
 * Ctrl-C when started as the README says (`npx cutrec train`): SIGINT sent to the npx process alone,
 * or to its whole process group (what a terminal does), reaches the trainer, which stops after a
 * checkpoint and prints a resume command that works as printed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
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
