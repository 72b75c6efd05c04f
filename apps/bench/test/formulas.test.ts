import { describe, expect, it } from 'vitest';
import { gatheredRows, lossWork, predictMemory } from '../src/formulas.js';

const shape = { name: 't', N: 100, C: 1000, D: 8, K: 3 };

describe('byte and FLOP formulas', () => {
  it('gathered rows per share mode', () => {
    expect(gatheredRows(shape, 'row')).toBe(300);
    expect(gatheredRows(shape, 'block', 64)).toBe(2 * 3); // ⌈100/64⌉ = 2 blocks
    expect(gatheredRows(shape, 'block', 10)).toBe(10 * 3);
    expect(gatheredRows(shape, 'batch')).toBe(3);
    expect(gatheredRows(shape, 'all')).toBe(1000);
  });

  it('fused kernels: 8·N·(K+1)·D FLOPs and the written byte count', () => {
    const w = lossWork('wgsl', 'row', shape);
    expect(w.flops).toBe(8 * 100 * 4 * 8);
    // e = f = 4: 4·8·(400 + 600) + 4·8·(300 + 1000 + 600) + 20·100
    expect(w.bytes).toBe(4 * 8 * 1000 + 4 * 8 * 1900 + 2000);
    expect(lossWork('cuda', 'row', shape)).toEqual(w);
    // bf16 inputs halve the input part only
    expect(lossWork('cuda', 'row', shape, { elementBytes: 2 }).bytes).toBe(
      2 * 8 * 1000 + 4 * 8 * 1900 + 2000,
    );
    // sharing negatives cuts bytes, not FLOPs
    const b = lossWork('wgsl', 'batch', shape);
    expect(b.flops).toBe(w.flops);
    expect(b.bytes).toBe(4 * 8 * (400 + 6) + 4 * 8 * (300 + 1000 + 6) + 2000);
    expect(lossWork('wgsl', 'all', shape).flops).toBe(8 * 100 * 1000 * 8);
  });

  it('tfjs and naive implementations', () => {
    const R = 300;
    const P = 300;
    expect(lossWork('tfjs', 'row', shape)).toEqual({
      flops: 8 * 100 * 4 * 8,
      bytes: 4 * (6 * R * 8 + 7 * P + 9 * 100 * 8 + 2 * 1000 * 8),
      gatheredRows: R,
      logits: P,
    });
    expect(lossWork('tfjs-naive-sampled', 'row', shape).bytes).toBe(
      4 * (5 * R * 8 + 6 * P + 8 * 100 * 8 + 2 * 1000 * 8),
    );
    expect(lossWork('tfjs-naive-sampled', 'row', shape).flops).toBe(6 * 100 * 4 * 8);
    expect(lossWork('tfjs-naive-ce', 'all', shape)).toEqual({
      flops: 6 * 100 * 1000 * 8,
      bytes: 4 * (8 * 100 * 1000 + 3 * 1000 * 8 + 3 * 100 * 8),
      gatheredRows: 1000,
      logits: 100 * 1000,
    });
  });

  it('memory predictions: naive sampled at the paper’s beauty shape is about 17 GB', () => {
    const beauty = { name: 'beauty', N: 32768, C: 152043, D: 256, K: 511 };
    const p = predictMemory('tfjs-naive-sampled', 'row', beauty);
    expect(p.largestTensorBytes).toBe(4 * 32768 * 511 * 256);
    expect(p.largestTensor).toMatch(/gathered negatives/);
    expect(p.peakBytes / 1e9).toBeGreaterThan(34); // the gather and its gradient
    const ce = predictMemory('tfjs-naive-ce', 'all', beauty);
    expect(ce.largestTensorBytes).toBe(4 * 32768 * 152043);
    expect(ce.peakBytes).toBe(5 * 4 * 32768 * 152043 + 4 * (32768 + 152043) * 256);
    // fused: gradients plus a few bytes per row, independent of K
    const a = predictMemory('wgsl', 'row', beauty).peakBytes;
    expect(predictMemory('wgsl', 'row', { ...beauty, K: 16 * 511 }).peakBytes).toBe(a);
  });
});
