/**
 * float32 → bf16 cast on CUDA against the reference, bit for bit: random bit patterns of every
 * magnitude (half of them ties), infinities and signed zeros, awkward lengths (printed seed), a
 * misaligned view (scalar path), outputs poisoned with NaN. Skipped with the reason where there
 * is no GPU; failed under CUTREC_REQUIRE_CUDA=1.
 */
import { DeviceBuffer } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import { castToBf16, cudaCastToBf16, deviceView, opUnavailableReason } from '../src/index.js';
import { testRng } from './ops/rng.js';

const reason = opUnavailableReason('cast');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA cast tests: ${reason}`);
}

describe.skipIf(reason !== undefined)('cast (CUDA)', () => {
  it('rounds to nearest even exactly as the reference (awkward n, misaligned views)', () => {
    const rng = testRng('cuda cast');
    const cases: { n: number; srcOffset?: number; dstOffset?: number }[] = [
      { n: 1 },
      { n: 3 },
      { n: 37 },
      { n: 1000 },
      { n: 65537 },
      { n: 1024, srcOffset: 4, dstOffset: 2 },
      { n: 1024, dstOffset: 4 },
    ];
    for (const { n, srcOffset = 0, dstOffset = 0 } of cases) {
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        let b = (rng.int(0, 0xffff) << 16) | (rng.uniform() < 0.5 ? 0x8000 : rng.int(0, 0xffff));
        if ((b & 0x7f800000) === 0x7f800000) b = (b & 0x80000000) | 0x7f800000; // ±inf, never NaN
        bits[i] = b >>> 0;
      }
      if (n > 4) bits.set([0x00000000, 0x80000000, 0x7f7fffff, 0x3f808000], 0);
      const src = new Float32Array(bits.buffer);
      const srcBuf = new DeviceBuffer(srcOffset + n * 4);
      srcBuf.write(src, srcOffset);
      const dstBuf = new DeviceBuffer(Math.ceil((dstOffset + n * 2) / 4) * 4);
      dstBuf.fill32(0x7fc07fc0);
      cudaCastToBf16({
        src: deviceView(srcBuf, srcOffset, n * 4),
        dst: deviceView(dstBuf, dstOffset, n * 2),
        n,
      });
      const got = dstBuf.read(new Uint16Array(n), dstOffset);
      const want = castToBf16({ src, n });
      expect([...got], `n=${n} srcOffset=${srcOffset} dstOffset=${dstOffset}`).toEqual([...want]);
      srcBuf.free();
      dstBuf.free();
    }
  });

  it('names the argument that is too small', () => {
    const big = new DeviceBuffer(64);
    const small = new DeviceBuffer(4);
    expect(() => cudaCastToBf16({ src: big, dst: small, n: 8 })).toThrow(/^dst spans 4 bytes; it needs 16/);
    big.free();
    small.free();
  });
});
