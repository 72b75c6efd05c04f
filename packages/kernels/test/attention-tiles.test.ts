/**
 * The WGSL attention tile plan (src/ops/attention/tiles.ts), exhaustively over head sizes 1–128
 * and the workgroup-memory limits adapters report (WebGPU's 16 KiB minimum, lavapipe's 32 KiB,
 * an H200 through Vulkan's 48 KiB): every kernel gets a tiling, its arrays fit the limit, and its
 * two thread layouts cover the tile (rows, columns, head) with no thread left out of a layout.
 */
import { describe, expect, it } from 'vitest';
import { type AttentionKernel, attentionBytes, attentionTiling } from '../src/index.js';

const KERNELS: AttentionKernel[] = ['forward', 'dq', 'dkv'];
const LIMITS = [16384, 32768, 49152];

describe('attention tile plan', () => {
  for (const limit of LIMITS) {
    it(`fits ${limit} bytes and covers the tile for dh 1–128`, () => {
      for (const kernel of KERNELS) {
        for (let dh = 1; dh <= 128; dh++) {
          const t = attentionTiling(kernel, dh, limit);
          const at = `${kernel} dh=${dh} limit=${limit} ${t.rows}x${t.cols}`;
          expect(attentionBytes(kernel, t), at).toBeLessThanOrEqual(limit);
          expect(t.tx * t.ty, at).toBe(t.nt);
          expect(t.ox * t.oy, at).toBe(t.nt);
          expect(t.tx * t.rn, at).toBe(t.cols);
          expect(t.rm * t.ty, at).toBeGreaterThanOrEqual(t.rows);
          expect(t.om * t.oy, at).toBeGreaterThanOrEqual(t.rows);
          expect(t.od * t.ox, at).toBeGreaterThanOrEqual(dh);
          expect(t.rowsP, at).toBeGreaterThanOrEqual(Math.max(t.rm * t.ty, t.om * t.oy));
          expect(t.pd, at).toBeGreaterThan(t.od * t.ox - 1);
          expect(t.nt, at).toBeLessThanOrEqual(256); // WebGPU's guaranteed invocations per workgroup
          expect(t.rm * t.rn, at).toBeLessThanOrEqual(32); // one bit per score element in a u32 mask
        }
      }
    });
  }

  it('picks larger tiles where more memory is available (dh 128)', () => {
    for (const kernel of KERNELS) {
      const area = (limit: number) => {
        const t = attentionTiling(kernel, 128, limit);
        return t.rows * t.cols;
      };
      expect(area(49152)).toBeGreaterThanOrEqual(area(32768));
      expect(area(32768)).toBeGreaterThanOrEqual(area(16384));
    }
  });

  it('names the kernel and the limit when nothing fits', () => {
    expect(() => attentionTiling('dkv', 128, 1024)).toThrow(
      /attention dkv: head size 128 needs more than 1024 bytes/,
    );
  });
});
