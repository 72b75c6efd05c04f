/**
 * The mean-loss CUDA kernel against the reference (src/ops/meanloss/reference.ts): random inputs of
 * awkward sizes, outputs poisoned with NaN, ignored rows holding NaN losses (never read), the ring
 * slot *step % ring. Skipped with the reason where there is no GPU; failed under CUTREC_REQUIRE_CUDA=1.
 */
import { DeviceBuffer } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import { cudaMeanLoss, meanLoss } from '../src/ops/meanloss/index.js';
import { opUnavailableReason } from '../src/ops/module.js';
import { relMaxDiff, testRng } from './ops/rng.js';

const reason = opUnavailableReason('meanloss');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA meanloss tests: ${reason}`);
}
const NAN = 0x7fc00000;

/** A device copy of `x` (at least 4 bytes: a zero-byte allocation is not allowed). */
function upload(x: ArrayBufferView & { length: number }): DeviceBuffer {
  if (x.byteLength > 0) return DeviceBuffer.from(x);
  return new DeviceBuffer(4);
}

describe('meanloss CUDA, host side', () => {
  it.skipIf(!reason)('reports itself unavailable here', () => {
    expect(reason).toMatch(/^CUDA unavailable: /);
  });
});

describe.skipIf(!!reason)('meanloss CUDA on a GPU', () => {
  const rng = testRng('cuda meanloss');

  function run(N: number, ignoredFraction: number, step: number, ring: number, ignoreIndex = -1) {
    const values = rng.floats(N, 3);
    const targets = Int32Array.from({ length: N }, () =>
      rng.uniform() < ignoredFraction ? ignoreIndex : rng.int(0, 99),
    );
    for (let i = 0; i < N; i++) if (targets[i] === ignoreIndex) values[i] = Number.NaN;
    const want = new Float64Array(N);
    const mean = meanLoss({ values, targets, N, ignoreIndex, dValues: want });
    const V = upload(values);
    const T = upload(targets);
    const out = new DeviceBuffer(ring * 4);
    out.fill32(NAN);
    const dValues = new DeviceBuffer(Math.max(4, N * 4));
    dValues.fill32(NAN);
    const stepBuf = DeviceBuffer.from(new Uint32Array([step]));
    cudaMeanLoss({ values: V, targets: T, N, ignoreIndex, out, ring, step: stepBuf, dValues });
    const ringGot = out.readFloat32(ring);
    const slot = step % ring;
    expect(relMaxDiff([ringGot[slot]!], [mean]), `out[${slot}]`).toBeLessThanOrEqual(1e-5);
    if (mean === 0) expect(ringGot[slot]).toBe(0);
    for (let r = 0; r < ring; r++) if (r !== slot) expect(ringGot[r], `out[${r}] untouched`).toBeNaN();
    if (N > 0) {
      const d = dValues.readFloat32(N);
      if (mean === 0 && ignoredFraction === 1) expect([...d].every((x) => x === 0)).toBe(true);
      else expect(relMaxDiff(d, want)).toBeLessThanOrEqual(1e-5);
    }
    for (const b of [V, T, out, dValues, stepBuf]) b.free();
  }

  for (const N of [1, 31, 1023, 1025, 77777, 3_000_001]) {
    it(`N = ${N}, 20% ignored, step 6, ring 4`, () => run(N, 0.2, 6, 4));
  }
  it('every row ignored: 0 and an all-zero gradient', () => run(5000, 1, 3, 8));
  it('N = 0 writes 0 into the ring', () => run(0, 0.2, 1, 2));
  it('ring 1, step 2^32 − 1, ignoreIndex 0', () => run(4096, 0.5, 0xffffffff, 1, 0));
});
