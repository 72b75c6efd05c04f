import type { CudaDeviceInfo } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import { lossWork } from '../src/formulas.js';
import type { LossResult } from '../src/loss/bench.js';
import { rooflineMarkdown } from '../src/report/markdown.js';
import { rooflinePlot } from '../src/report/plots.js';
import { cudaTheoretical, roofline } from '../src/roofline.js';

const base: LossResult = {
  impl: 'wgsl',
  share: 'row',
  dtype: 'float32',
  shapeName: 'beauty',
  shape: { N: 32768, C: 152043, D: 256, K: 511 },
  ms: 100,
  msSpread: 1,
  peakBytes: 1,
  gradBytes: 1,
  device: 'x',
};

describe('roofline', () => {
  it('places a kernel under the tighter of the two limits', () => {
    const limits = { copyBytesPerSec: 1e12, copyHow: '', matmulFlopsPerSec: 1e13, matmulHow: '' };
    const [r] = roofline([base, { ...base, ms: null, skipped: 'OOM' }], limits, null);
    const w = lossWork('wgsl', 'row', { name: '', ...base.shape });
    expect(r!.flops).toBe(w.flops);
    expect(r!.bytes).toBe(w.bytes);
    const memMs = (w.bytes / 1e12) * 1e3;
    const compMs = (w.flops / 1e13) * 1e3;
    expect(r!.boundMs).toBeCloseTo(Math.max(memMs, compMs), 9);
    expect(r!.bound).toBe(memMs >= compMs ? 'memory' : 'compute');
    expect(r!.fraction).toBeCloseTo(r!.boundMs / 100, 12);
    expect(r!.intensity).toBeCloseTo(w.flops / w.bytes, 12);
  });

  it('CUDA rows: tensor-core roof for tile kernels, CUDA cores for the row kernel, half-size inputs for bf16', () => {
    const cuda = {
      copyBytesPerSec: 3e12,
      copyHow: '',
      matmulFlopsPerSec: 6e13,
      matmulHow: '',
      tensorFlopsPerSec: 9.6e14,
    };
    const rows = roofline(
      [
        { ...base, impl: 'cuda', share: 'block', blockRows: 64, dtype: 'bfloat16' },
        { ...base, impl: 'cuda', share: 'row', dtype: 'bfloat16' },
        { ...base, impl: 'wgsl' },
      ],
      null,
      cuda,
    );
    expect(rows).toHaveLength(2); // no WebGPU limits: the wgsl row is left out
    expect(rows[0]!.bytes).toBe(
      lossWork('cuda', 'block', { name: '', ...base.shape }, { elementBytes: 2 }).bytes,
    );
    const compute = (r: (typeof rows)[number], rate: number) => (r.flops / rate) * 1e3;
    expect(rows[0]!.boundMs).toBeGreaterThanOrEqual(compute(rows[0]!, 9.6e14) - 1e-9);
    expect(rows[1]!.boundMs).toBeGreaterThanOrEqual(compute(rows[1]!, 6e13) - 1e-9);
  });

  it('theoretical H100 SXM rates from its properties', () => {
    const h100 = {
      major: 9,
      minor: 0,
      smCount: 132,
      clockKHz: 1_980_000,
      memoryClockKHz: 2_619_000,
      memoryBusWidth: 5120,
    } as CudaDeviceInfo;
    const t = cudaTheoretical(h100);
    expect(t.fp32 / 1e12).toBeCloseTo(66.9, 0);
    expect(t.tensor / 1e12).toBeCloseTo(1070, -1);
    expect(t.dram / 1e12).toBeCloseTo(3.35, 2);
  });

  it('writes the table and the plot', async () => {
    const limits = { copyBytesPerSec: 1e12, copyHow: 'copy', matmulFlopsPerSec: 1e13, matmulHow: 'mm' };
    const rows = roofline([base], limits, null);
    const md = rooflineMarkdown(rows, { webgpu: limits, cuda: null });
    expect(md).toContain('| WebGPU | 1,000 GB/s | copy | 10 TFLOP/s | mm |');
    expect(md).toMatch(/\| beauty \| wgsl \| row \| float32 \|/);
    const svg = await rooflinePlot(rows, limits, 'roof');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('FLOPs per byte');
  });
});
