/**
 * `cutrec-bench train --engine fused` on WebGPU (lavapipe is enough): tiny rows of the fused engine
 * on a WebGPU device (asynchronous steps and loss read-backs), and the CLI picking the device the
 * trainer does (CUDA where usable, else WebGPU). Row shape, not speed. Skips with the printed reason
 * without an adapter; under CI=true a missing adapter fails (webgpuForTests).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fusedDeviceKind } from '@cutrec/models';
import { webgpuForTests } from '@cutrec/tensor/testing';
import { describe, expect, it } from 'vitest';
import { fusedMarkdown } from '../src/report/markdown.js';
import { type FusedTrainResult, runFusedTrainBench } from '../src/train/fused.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = promisify(execFile);
const { device } = await webgpuForTests();

function expectMeasured(r: FusedTrainResult): void {
  expect(r.skipped).toBeUndefined();
  expect(r.engine).toBe('fused');
  expect(r.precision).toBe('fp32');
  expect(r.stepMs).toBeGreaterThan(0);
  expect(r.pipelinedMs).toBeGreaterThan(0);
  expect(Number.isFinite(r.lossValue)).toBe(true);
  expect(r.lossValue).toBeGreaterThan(0);
}

describe.skipIf(!device)('cutrec-bench train --engine fused on WebGPU', () => {
  it('measures a tiny fused step on a WebGPU device, skipping bf16', { timeout: 180_000 }, async () => {
    const rows = await runFusedTrainBench({
      model: { numItems: 37, maxLen: 6, hidden: 8, numBlocks: 1, numHeads: 2, dropout: 0.1 },
      batchSize: 3,
      losses: [
        { name: 'cce- row', spec: { kind: 'cce-', negatives: 5, share: 'row' } },
        { name: 'ce', spec: { kind: 'ce' } },
      ],
      precisions: ['fp32', 'bf16'],
      warmup: 1,
      steps: 2,
      seed: 7,
      device: 'webgpu',
      gpu: device!,
    });
    expect(rows.map((r) => `${r.device} ${r.precision} ${r.loss}`)).toEqual([
      'webgpu fp32 cce- row',
      'webgpu fp32 ce',
      'webgpu bf16 cce- row',
      'webgpu bf16 ce',
    ]);
    for (const r of rows.slice(0, 2)) {
      expectMeasured(r);
      // The engine's buffers go through the WebGPU memory meter.
      expect(r.peakBytes).toBeGreaterThan(0);
      expect(r.graphNodes).toBeNull();
    }
    for (const r of rows.slice(2)) {
      expect(r.skipped).toMatch(/bf16 needs CUDA/);
      expect(r.stepMs).toBeNull();
    }
    expect(fusedMarkdown(rows, 'tiny')).toMatch(/^## fused engine \(WebGPU\), tiny/);
  });

  it('the CLI runs the fused engine where the trainer would (CUDA, else WebGPU)', {
    timeout: 240_000,
  }, async () => {
    const { stdout } = await run(
      process.execPath,
      [cli, 'train', '--engine', 'fused', '--quick', '--json', '--precision', 'fp32', '--losses', 'cce-'],
      { maxBuffer: 64 * 2 ** 20 },
    );
    const out = JSON.parse(stdout) as { results: unknown[]; fused: FusedTrainResult[] };
    expect(out.results).toEqual([]);
    expect(out.fused).toHaveLength(1);
    expect(out.fused[0]!.device).toBe(fusedDeviceKind().device);
    expectMeasured(out.fused[0]!);
  });
});
