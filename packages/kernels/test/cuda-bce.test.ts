/**
 * The BCE / gBCE CUDA kernels against the reference (src/ops/bce/reference.ts): random inputs of
 * awkward sizes, float32 and bfloat16 storage, outputs poisoned with NaN, dItems accumulated into
 * random values, C = 1, K = 1, K = 256, all rows ignored, steps read from the device counter.
 * Skipped with the reason where there is no GPU; failed under CUTREC_REQUIRE_CUDA=1.
 */
import { DeviceBuffer, packBf16, unpackBf16 } from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import {
  BCE_ARGS_BYTES,
  type BceInputs,
  bceBackward,
  bceForward,
  cudaBceBackward,
  cudaBceForward,
  packBceArgs,
} from '../src/ops/bce/index.js';
import { opUnavailableReason } from '../src/ops/module.js';
import { relMaxDiff, testRng } from './ops/rng.js';

const reason = opUnavailableReason('bce');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA bce tests: ${reason}`);
}
const NAN = 0x7fc00000;

/** A device copy of `x` (at least 4 bytes: a zero-byte allocation is not allowed). */
function upload(x: ArrayBufferView & { length: number }): DeviceBuffer {
  if (x.byteLength > 0) return DeviceBuffer.from(x);
  return new DeviceBuffer(4);
}

describe('bce CUDA, host side', () => {
  it('packs BceArgs in the layout bce.cu static_asserts', () => {
    const b = packBceArgs({
      N: 1,
      C: 2,
      D: 3,
      K: 4,
      beta: 0.5,
      seed: 2 ** 32 + 9,
      removeAccidentalHits: true,
      ignoreIndex: -1,
      step: 0xabcn,
    });
    const v = new DataView(b.buffer);
    expect(b.byteLength).toBe(BCE_ARGS_BYTES);
    expect([0, 4, 8, 12].map((o) => v.getUint32(o, true))).toEqual([1, 2, 3, 4]);
    expect([v.getUint32(16, true), v.getUint32(20, true)]).toEqual([9, 1]);
    expect([v.getInt32(24, true), v.getInt32(28, true)]).toEqual([-1, 1]);
    expect(v.getFloat32(32, true)).toBe(0.5);
    expect(v.getBigUint64(40, true)).toBe(0xabcn);
  });
});

interface Case {
  N: number;
  C: number;
  D: number;
  K: number;
  extra?: Partial<BceInputs>;
}

describe.skipIf(!!reason)('bce CUDA on a GPU', () => {
  const rng = testRng('cuda bce');

  function run(dtype: 'float32' | 'bfloat16', c: Case) {
    const { N, C, D, K } = c;
    let hidden = rng.floats(N * D, 0.4);
    let items = rng.floats(C * D, 0.4);
    // Ignored rows carry the case's ignoreIndex (a target that is neither an item nor it is invalid input).
    const ignore = c.extra?.ignoreIndex ?? -1;
    const targets = Int32Array.from({ length: N }, () => (rng.uniform() < 0.2 ? ignore : rng.int(0, C - 1)));
    const a: BceInputs = {
      hidden,
      items,
      targets,
      N,
      C,
      D,
      K,
      beta: 1,
      seed: rng.int(0, 2 ** 31),
      step: rng.int(0, 100000),
      removeAccidentalHits: true,
      ignoreIndex: -1,
      ...c.extra,
    };
    const tgt = a.targets as Int32Array;
    let Hbuf: DeviceBuffer;
    let Wbuf: DeviceBuffer;
    if (dtype === 'bfloat16') {
      const hb = packBf16(hidden);
      const wb = packBf16(items);
      hidden = unpackBf16(hb);
      items = unpackBf16(wb);
      Hbuf = upload(hb);
      Wbuf = upload(wb);
    } else {
      Hbuf = upload(hidden);
      Wbuf = upload(items);
    }
    const r = { ...a, hidden, items };
    const T = upload(tgt);
    const stepBuf = DeviceBuffer.from(new Uint32Array([a.step]));
    const rowLoss = new DeviceBuffer(Math.max(4, N * 4));
    rowLoss.fill32(NAN);
    const dRowHost = Float32Array.from({ length: N }, (_, i) => Math.sin(i) + 1.5);
    const dRow = upload(dRowHost);
    const dHidden = new DeviceBuffer(Math.max(4, N * D * 4));
    dHidden.fill32(NAN);
    const prefill = rng.floats(C * D, 0.1);
    const dItems = DeviceBuffer.from(prefill);
    const dev = { ...a, hidden: Hbuf, items: Wbuf, targets: T, step: stepBuf, dtype };
    cudaBceForward({ ...dev, rowLoss });
    cudaBceBackward({ ...dev, dRow, dHidden, dItems });
    const wantLoss = new Float64Array(N);
    bceForward({ ...r, rowLoss: wantLoss });
    const wantH = new Float64Array(N * D);
    const wantW = Float64Array.from(prefill);
    bceBackward({ ...r, dRow: dRowHost, dHidden: wantH, dItems: wantW });
    const tol = dtype === 'float32' ? 1e-4 : 2e-2;
    const label = `${dtype} ${JSON.stringify({ N, C, D, K, ...c.extra, targets: undefined })}`;
    if (N > 0) {
      expect(relMaxDiff(rowLoss.readFloat32(N), wantLoss), `rowLoss ${label}`).toBeLessThanOrEqual(tol);
      const gotH = dHidden.readFloat32(N * D);
      if (wantH.every((x) => x === 0))
        expect(
          gotH.every((x) => x === 0),
          `dHidden zero ${label}`,
        ).toBe(true);
      else expect(relMaxDiff(gotH, wantH), `dHidden ${label}`).toBeLessThanOrEqual(tol);
    }
    // dItems: the accumulated gradient (minus what was there) against the reference's.
    const gotW = dItems.readFloat32(C * D);
    const dW = Float64Array.from(gotW, (x, e) => x - prefill[e]!);
    const wantDW = wantW.map((x, e) => x - prefill[e]!);
    if (wantDW.every((x) => x === 0)) expect(relMaxDiff(gotW, prefill), `dItems unchanged ${label}`).toBe(0);
    else expect(relMaxDiff(dW, wantDW), `dItems ${label}`).toBeLessThanOrEqual(tol);
    for (const b of [Hbuf, Wbuf, T, stepBuf, rowLoss, dRow, dHidden, dItems]) b.free();
  }

  const cases: [string, Case][] = [
    ['K = 9, D = 19', { N: 37, C: 53, D: 19, K: 9 }],
    ['K = 100, D = 64', { N: 101, C: 300, D: 64, K: 100 }],
    [
      'gBCE β = 0.3, hits kept, C = 5',
      { N: 70, C: 5, D: 24, K: 7, extra: { beta: 0.3, removeAccidentalHits: false } },
    ],
    ['C = 1: every negative is the target', { N: 33, C: 1, D: 8, K: 5 }],
    ['C = 1, hits kept', { N: 33, C: 1, D: 8, K: 5, extra: { removeAccidentalHits: false } }],
    ['K = 1, D = 250', { N: 45, C: 70, D: 250, K: 1 }],
    ['K = 256, D = 33', { N: 19, C: 1000, D: 33, K: 256 }],
    ['N = 1, D = 1', { N: 1, C: 3, D: 1, K: 3 }],
    ['many rows, step 2^32 − 1', { N: 5003, C: 2000, D: 48, K: 16, extra: { step: 0xffffffff } }],
    ['all rows ignored', { N: 20, C: 10, D: 12, K: 4, extra: { targets: new Int32Array(20).fill(-1) } }],
    ['ignoreIndex 0', { N: 40, C: 6, D: 5, K: 3, extra: { ignoreIndex: 0 } }],
    ['N = 0', { N: 0, C: 4, D: 4, K: 2 }],
  ];
  for (const dtype of ['float32', 'bfloat16'] as const) {
    for (const [name, c] of cases) it(`${dtype}: ${name}`, () => run(dtype, c));
  }
});
