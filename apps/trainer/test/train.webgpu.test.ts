/**
 * `cutrec train --backend webgpu` on a tiny synthetic set (lavapipe is enough): the asynchronous
 * training step of src/train/step.ts, the fused top-k/rank evaluation, the GPU memory meter.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const { device } = await webgpuForTests();
device?.destroy();

describe.skipIf(!device)('cutrec train on WebGPU', () => {
  it('trains, reports peak GPU memory, and recommends', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cutrec-webgpu-')), 'run');
    const args = [
      ...['train', '--backend', 'webgpu', '--json', '--out', out, '--epochs', '2', '--seed', '3'],
      ...[
        '--synth-users',
        '120',
        '--synth-items',
        '40',
        '--synth-min-length',
        '6',
        '--synth-max-length',
        '10',
      ],
      ...['--hidden', '8', '--blocks', '1', '--heads', '1', '--batch-size', '16', '--negatives', '8'],
    ];
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'start', backend: 'webgpu' });
    const done = events.at(-1);
    expect(done).toMatchObject({ event: 'done', runDir: out });
    expect(done.peakGpuBytes).toBeGreaterThan(0);
    expect(done.test['ndcg@10']).toBeGreaterThan(0);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const l of lines.slice(0, 2)) {
      expect(Number.isFinite(l.trainLoss)).toBe(true);
      expect(l.peakGpuBytes).toBeGreaterThan(0);
    }
    const rec = spawnSync(process.execPath, [cli, 'recommend', out, '--user', '5', '--k', '4', '--json'], {
      encoding: 'utf8',
    });
    expect(rec.status, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout).items).toHaveLength(4);
  });
});
