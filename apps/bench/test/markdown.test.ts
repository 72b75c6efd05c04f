import { describe, expect, it } from 'vitest';
import type { BenchEnvironment } from '../src/env.js';
import type { LossResult } from '../src/loss/bench.js';
import { environmentMarkdown, lossMarkdown, markdownTable } from '../src/report/markdown.js';
import { lossPlots } from '../src/report/plots.js';

const env: BenchEnvironment = {
  card: 'Test Card',
  backend: 'webgpu',
  webgpu: null,
  cuda: null,
  cudaUnavailable: 'CUDA unavailable: no driver',
  driver: 'none',
  versions: { node: 'v20', tfjs: '4.22.0' },
  date: '2026-01-02T03:04:05.000Z',
  command: 'cutrec-bench loss --quick',
};

function row(over: Partial<LossResult>): LossResult {
  return {
    impl: 'wgsl',
    share: 'row',
    dtype: 'float32',
    shapeName: 'beauty',
    shape: { N: 32768, C: 152043, D: 256, K: 511 },
    ms: 9.15,
    msSpread: 0.5,
    peakBytes: 200 * 2 ** 20,
    gradBytes: 180 * 2 ** 20,
    device: 'card',
    timing: 'timestamp-query',
    ...over,
  };
}

describe('Markdown writers', () => {
  it('a table escapes pipes and aligns columns', () => {
    const t = markdownTable(['a', 'b'], ['l', 'r'], [['x|y', '1']]);
    expect(t).toBe('| a | b |\n| --- | ---: |\n| x\\|y | 1 |\n');
  });

  it('the environment header names card, driver, versions, date and command', () => {
    const md = environmentMarkdown(env);
    for (const s of [
      'Test Card',
      'driver: none',
      'tfjs 4.22.0',
      '2026-01-02',
      '`cutrec-bench loss --quick`',
      'no driver',
    ]) {
      expect(md).toContain(s);
    }
  });

  it('the loss table has numbers for runs and the reason for skips', () => {
    const md = lossMarkdown(
      [
        row({}),
        row({
          impl: 'tfjs-naive-sampled',
          ms: null,
          msSpread: null,
          peakBytes: null,
          skipped: 'OOM: predicted peak 35000 MiB exceeds the memory limit 8192 MiB',
        }),
        row({ share: 'block', blockRows: 64, shapeName: 'x', shape: { N: 1, C: 2, D: 3, K: 4 } }),
      ],
      env,
    );
    const lines = md.split('\n').filter((l) => l.startsWith('| '));
    expect(lines).toHaveLength(5);
    expect(lines[2]).toContain('| 9.150 | 0.500 | 200.0 | 20.0 | 50% |'); // 9.15 / 18.3
    expect(lines[3]).toMatch(/\| OOM \|.*predicted peak 35000 MiB/);
    expect(lines[4]).toContain('block (64)');
    expect(md).toContain('# cutrec-bench loss');
  });
});

describe('SVG plots', () => {
  it('draws time and memory against K and C, one series per impl/share', async () => {
    const results = [
      row({}),
      row({ shape: { N: 32768, C: 152043, D: 256, K: 2047 }, ms: 30 }),
      row({ impl: 'tfjs', shape: { N: 32768, C: 15000, D: 256, K: 511 }, ms: 50 }),
      row({ impl: 'tfjs-naive-ce', ms: null, peakBytes: null, skipped: 'OOM' }),
    ];
    const svgs = await lossPlots(results);
    expect(Object.keys(svgs).sort()).toEqual([
      'memory-vs-C.svg',
      'memory-vs-K.svg',
      'time-vs-C.svg',
      'time-vs-K.svg',
    ]);
    for (const svg of Object.values(svgs)) {
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('wgsl row');
    }
    expect(svgs['time-vs-K.svg']).toContain('negatives K');
    expect(svgs['time-vs-C.svg']).toContain('tfjs row');
    expect(svgs['time-vs-K.svg']).not.toContain('tfjs-naive-ce');
  });
});
