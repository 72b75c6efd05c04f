/**
 * The WGSL cast f32 → act (wgslCastToAct, the engine's castToAct) on lavapipe (or any adapter):
 * awkward n (1 … a ragged last group of 4, several workgroups), src and dst at unaligned offsets,
 * dst poisoned with NaN; the values random over many binades plus the edge cases of f16
 * rounding (ties to even, subnormals and the tie below the smallest, overflow past 65504 and the
 * largest value that still rounds to it, ±∞, NaN, −0). f16 (where the device has shader-f16):
 * the bits equal @cutrec/tensor's packF16 (round to nearest even) exactly; f32: the bits are
 * copied exactly. f16 within one buffer (src and dst disjoint ranges of it, dst at odd and even
 * halves): the same bits, and the halves beside dst's range kept. Printed seed (CUTREC_TEST_SEED replays).
 */
import { packF16 } from '@cutrec/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { wgslCastToAct } from '../src/index.js';
import { testRng } from './ops/rng.js';
import { ACTS, device, freeAll, gpuArray, run, skipReason } from './ops/wgsl-util.js';

const EDGES = [
  0,
  -0,
  1,
  -1,
  1 + 2 ** -11, // tie: to 1 (even)
  1 + 3 * 2 ** -11, // tie: up to 1 + 2^-9 (even)
  -(1 + 2 ** -11),
  1 + 2 ** -11 + 2 ** -20, // just above the tie: up
  65504, // largest f16
  65519, // rounds down to 65504
  65520, // the tie: to ∞ (even)
  -65520,
  1e6,
  3.4e38,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  2 ** -14, // smallest normal
  2 ** -14 - 2 ** -25, // subnormal tie, rounds to even (2^-14)
  2 ** -24, // smallest subnormal
  2 ** -25, // half of it: tie to 0
  3 * 2 ** -26, // above half: up to 2^-24
  2 ** -26, // below half: 0
  -(2 ** -25),
  3 * 2 ** -25, // tie between 2^-24 and 2^-23: to 2^-23 (even)
  5 * 2 ** -25, // tie between 2·2^-24 and 3·2^-24: to 2·2^-24
  1e-30,
  6.1e-5,
];

describe.skipIf(skipReason !== undefined)('cast f32 → act (WGSL)', () => {
  afterEach(freeAll);
  for (const act of ACTS) {
    it(`${act}: bit-exact (${act === 'f16' ? 'packF16, round to nearest even' : 'a copy'}), awkward n, unaligned views`, async () => {
      const rng = testRng(`wgsl cast ${act}`);
      const gpu = device as GPUDevice;
      for (const [n, srcPad, dstPad] of [
        [1, 0, 0],
        [3, 1, 1],
        [EDGES.length, 2, 3],
        [1023, 5, 2],
        [1025, 0, 7],
        [70001, 3, 1],
      ] as const) {
        const src = new Float32Array(n);
        for (let i = 0; i < n; i++) src[i] = rng.normal() * 2 ** rng.int(-30, 20);
        src.set(
          EDGES.slice(0, n).map((x) => Math.fround(x)),
          0,
        );
        // Random positions get edge values too.
        for (let k = 0; k < Math.min(n, 50); k++)
          src[rng.int(0, n - 1)] = EDGES[rng.int(0, EDGES.length - 1)]!;
        const s = gpuArray(n, src, { pad: srcPad });
        const d = gpuArray(n, undefined, { pad: dstPad, act });
        run(wgslCastToAct(gpu, { src: s.view, dst: d.view, n, act }));
        const got = await d.readU32();
        const want =
          act === 'f16' ? Uint32Array.from(packF16(src)) : new Uint32Array(src.buffer, src.byteOffset, n);
        const bad: string[] = [];
        for (let i = 0; i < n && bad.length < 5; i++) {
          if (got[i] !== want[i])
            bad.push(`[${i}] ${src[i]} → 0x${got[i]!.toString(16)}, want 0x${want[i]!.toString(16)}`);
        }
        expect(bad, `n=${n} srcPad=${srcPad} dstPad=${dstPad}`).toEqual([]);
        freeAll();
      }
    });
  }

  it.skipIf(!ACTS.includes('f16'))(
    'f16 within one buffer: bit-exact, the neighbouring halves kept',
    async () => {
      const rng = testRng('wgsl cast one buffer');
      const gpu = device as GPUDevice;
      for (const [n, s, d] of [
        [1, 0, 3],
        [5, 2, 15],
        [1031, 1, 2 * 1031 + 5],
        [1031, 600, 1],
        [4099, 70, 2 * 4200],
      ] as const) {
        const words = Math.max(s + n, Math.ceil((d + n) / 2)) + 3;
        const src = Float32Array.from({ length: n }, () => rng.normal() * 2 ** rng.int(-20, 12));
        const buf = gpuArray(words); // NaN words: halves 0x7fc0 (odd) and 0x0000 (even)
        gpu.queue.writeBuffer(buf.view.buffer, s * 4, src);
        const before = new Uint16Array((await buf.readU32()).buffer.slice(0));
        run(
          wgslCastToAct(gpu, {
            src: { buffer: buf.view.buffer, offset: s },
            dst: { buffer: buf.view.buffer, offset: d },
            n,
            act: 'f16',
          }),
        );
        const after = new Uint16Array((await buf.readU32()).buffer.slice(0));
        const want = packF16(src);
        const bad: string[] = [];
        for (let h = 0; h < after.length && bad.length < 5; h++) {
          const inDst = h >= d && h < d + n;
          const inSrc = h >= 2 * s && h < 2 * (s + n);
          const w = inDst ? want[h - d]! : before[h]!;
          if (!inSrc && after[h] !== w)
            bad.push(`half ${h}: 0x${after[h]!.toString(16)}, want 0x${w.toString(16)}`);
          if (inSrc && after[h] !== before[h]) bad.push(`src half ${h} changed`);
        }
        expect(bad, `n=${n} src word ${s} dst half ${d}`).toEqual([]);
        freeAll();
      }
      const b = gpuArray(8);
      expect(() =>
        wgslCastToAct(gpu, {
          src: { buffer: b.view.buffer, offset: 0 },
          dst: { buffer: b.view.buffer, offset: 5 },
          n: 3,
          act: 'f16',
        }),
      ).toThrow(/share a word/);
    },
  );

  it('n = 0 dispatches nothing; a view past its buffer throws naming it', () => {
    const gpu = device as GPUDevice;
    const s = gpuArray(4, [1, 2, 3, 4]);
    const d = gpuArray(4);
    expect(wgslCastToAct(gpu, { src: s.view, dst: d.view, n: 0 })).toEqual([]);
    expect(() => wgslCastToAct(gpu, { src: s.view, dst: d.view, n: 5 })).toThrow(/src/);
    expect(() => wgslCastToAct(gpu, { src: s.view, dst: d.view, n: -1 })).toThrow(/n must be/);
  });
});
