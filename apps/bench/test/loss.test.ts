import { setupTfjs } from '@cutrec/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { isOutOfMemory, planLossCases, runLossBench, skipReason } from '../src/loss/bench.js';
import { parseShape, shapeByName } from '../src/shapes.js';
import { summarize } from '../src/stats.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

const small = { name: 's', N: 20, C: 30, D: 4, K: 3 };

describe('loss benchmark plumbing', () => {
  it('parses shapes and names the bad part', () => {
    expect(parseShape('32_768,152043,256,511')).toMatchObject({ N: 32768, C: 152043, D: 256, K: 511 });
    expect(() => parseShape('1,2,3')).toThrow(/N,C,D,K/);
    expect(() => parseShape('1,0,3,4')).toThrow(/C must be a positive integer/);
    expect(shapeByName('zvuk')).toMatchObject({ C: 893022, K: 2047 });
    expect(() => shapeByName('nope')).toThrow(/unknown shape "nope"/);
  });

  it('summarizes repeats by median and spread', () => {
    expect(summarize([3, 1, 2])).toEqual({ ms: 2, msSpread: 2, msMin: 1, msMax: 3 });
    expect(summarize([4, 1, 2, 3]).ms).toBe(2.5);
  });

  it('plans naive CE once per shape and never naive sampled with share all', () => {
    const cases = planLossCases(
      [small],
      ['tfjs-naive-ce', 'tfjs-naive-sampled', 'cuda'],
      ['row', 'all'],
      ['float32', 'bfloat16'],
    );
    expect(cases.map((c) => `${c.impl}/${c.share}/${c.dtype}`)).toEqual([
      'tfjs-naive-ce/all/float32',
      'tfjs-naive-sampled/row/float32',
      'cuda/row/float32',
      'cuda/row/bfloat16',
      'cuda/all/float32',
      'cuda/all/bfloat16',
    ]);
  });

  it('predicts OOM before running and names the limit', () => {
    const env = {
      backend: 'webgpu',
      maxBindingBytes: 128 * 2 ** 20,
      memoryLimitBytes: 8 * 2 ** 30,
      blockRows: 64,
    };
    const beauty = shapeByName('beauty');
    expect(skipReason({ impl: 'tfjs-naive-ce', share: 'all', shape: beauty, dtype: 'float32' }, env)).toMatch(
      /^OOM: logits \[32768, 152043\] is 19005 MiB, over the device's maxStorageBufferBindingSize 128 MiB/,
    );
    expect(
      skipReason(
        { impl: 'tfjs-naive-sampled', share: 'batch', shape: beauty, dtype: 'float32' },
        { ...env, maxBindingBytes: 2 ** 40, memoryLimitBytes: 2 ** 20 },
      ),
    ).toMatch(/^OOM: predicted peak \d+ MiB exceeds the memory limit 1 MiB/);
    expect(skipReason({ impl: 'wgsl', share: 'row', shape: beauty, dtype: 'float32' }, env)).toBeUndefined();
    expect(
      skipReason({ impl: 'wgsl', share: 'row', shape: beauty, dtype: 'float32' }, { ...env, backend: 'cpu' }),
    ).toMatch(/^unavailable/);
    expect(
      skipReason(
        { impl: 'cuda', share: 'row', shape: beauty, dtype: 'float32' },
        { ...env, cudaUnavailable: 'no driver' },
      ),
    ).toBe('unavailable: no driver');
    expect(isOutOfMemory(new Error('CUDA_ERROR_OUT_OF_MEMORY'))).toBe(true);
    expect(isOutOfMemory(new Error('shape mismatch'))).toBe(false);
  });

  it('skips over-limit cases as OOM with null numbers and runs the rest (CPU backend)', async () => {
    const results = await runLossBench({
      shapes: [small],
      impls: ['tfjs-naive-ce', 'tfjs-naive-sampled', 'tfjs', 'wgsl'],
      shares: ['row', 'batch'],
      blockRows: 8,
      warmup: 1,
      repeats: 2,
      memoryLimitBytes: 4 * (20 + 30) * 4 + 64 * 2 ** 20 + 1, // tfjs fits; naive CE and naive sampled do not
      cudaDtypes: ['float32'],
      seed: 1,
      device: null,
      webgpuName: 'cpu',
      cudaName: 'cuda',
    });
    const by = (impl: string, share: string) => results.find((r) => r.impl === impl && r.share === share)!;
    expect(results).toHaveLength(1 + 2 + 2 + 2);
    expect(by('tfjs', 'row').ms).toBeGreaterThan(0);
    expect(by('tfjs', 'row').times).toHaveLength(2);
    expect(by('wgsl', 'row')).toMatchObject({ ms: null, peakBytes: null });
    expect(by('wgsl', 'row').skipped).toMatch(/^unavailable/);
    const results2 = await runLossBench({
      shapes: [small],
      impls: ['tfjs-naive-ce'],
      shares: ['row'],
      blockRows: 8,
      warmup: 0,
      repeats: 1,
      memoryLimitBytes: 1000,
      cudaDtypes: ['float32'],
      seed: 1,
      device: null,
      webgpuName: 'cpu',
      cudaName: 'cuda',
    });
    expect(results2[0]).toMatchObject({
      impl: 'tfjs-naive-ce',
      share: 'all',
      ms: null,
      msSpread: null,
      peakBytes: null,
    });
    expect(results2[0]!.skipped).toMatch(/^OOM: predicted peak/);
  });
});

describe('case time budget', () => {
  it('keeps every repeat where it fits and at least one timed pass where it does not', async () => {
    const { caseRepeats } = await import('../src/loss/repeats.js');
    expect(caseRepeats({ warmup: 2, repeats: 7, caseSeconds: 30 }, 0.1)).toEqual({ warmup: 2, repeats: 7 });
    expect(caseRepeats({ warmup: 2, repeats: 7, caseSeconds: 30 }, 10)).toEqual({ warmup: 1, repeats: 2 });
    expect(caseRepeats({ warmup: 2, repeats: 7, caseSeconds: 30 }, 60)).toEqual({ warmup: 1, repeats: 1 });
  });
});
