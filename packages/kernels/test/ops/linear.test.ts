/**
 * Linear layer references: matmul against known values and a naive triple loop over all four
 * transposes, accumulate and bias on awkward sizes; biasGrad against known values and a loop.
 * Also the host side of the CUDA launchers (argument checks, the row-major → column-major
 * cuBLASLt translation), which needs no GPU.
 */
import { describe, expect, it } from 'vitest';
import { biasGrad, cudaBiasGrad, cudaMatmul, ltDescFor, matmul } from '../../src/ops/linear/index.js';
import { relMaxDiff, testRng } from './rng.js';

/** The transpose of a row-major [rows, cols] matrix. */
function transpose(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c]!;
  return t;
}

/** c[m, n] = Σ_k opA(m, k)·opB(k, n) (+ bias), the plainest loop. */
function naive(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  bias?: ArrayLike<number>,
): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = transA ? a[k * M + m]! : a[m * K + k]!;
        const bv = transB ? b[n * K + k]! : b[k * N + n]!;
        s += av * bv;
      }
      c[m * N + n] = s + (bias ? bias[n]! : 0);
    }
  return c;
}

const SIZES = [1, 7, 37, 64, 129];

describe('linear reference: matmul', () => {
  it('known values, every transpose', () => {
    // A [2, 3], B [3, 2]: A·B = [[58, 64], [139, 154]].
    const A = [1, 2, 3, 4, 5, 6];
    const B = [7, 8, 9, 10, 11, 12];
    const want = [58, 64, 139, 154];
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const a = transA ? transpose(A, 2, 3) : A;
        const b = transB ? transpose(B, 3, 2) : B;
        const c = new Float64Array(4).fill(Number.NaN);
        matmul({ a, b, c, M: 2, N: 2, K: 3, transA, transB });
        expect(Array.from(c)).toEqual(want);
      }
  });

  it('known values with bias and accumulate', () => {
    const c = new Float64Array([1, 1, 1, 1]);
    matmul({
      a: [1, 2, 3, 4, 5, 6],
      b: [7, 8, 9, 10, 11, 12],
      c,
      M: 2,
      N: 2,
      K: 3,
      transA: false,
      transB: false,
      bias: [0.5, -1],
      accumulate: true,
    });
    expect(Array.from(c)).toEqual([59.5, 64, 140.5, 154]);
    // Without accumulate c is overwritten; K = 0 leaves just the bias.
    const d = new Float64Array(4).fill(Number.NaN);
    matmul({ a: [], b: [], c: d, M: 2, N: 2, K: 0, transA: false, transB: true, bias: [3, 4] });
    expect(Array.from(d)).toEqual([3, 4, 3, 4]);
  });

  it('matches the naive loop on mixed sizes, all transposes, with and without bias and accumulate', () => {
    const rng = testRng('linear reference matmul');
    let cases = 0;
    for (const M of SIZES)
      for (const N of SIZES)
        for (const K of SIZES) {
          // Every (M, N, K) in a rotating transpose/option pattern keeps the run short but covers all.
          const pick = (M * 31 + N * 7 + K) % 8;
          const transA = (pick & 1) === 1;
          const transB = (pick & 2) === 2;
          const withBias = (pick & 4) === 4;
          const accumulate = (M + N + K) % 3 === 0;
          const a = rng.floats(M * K);
          const b = rng.floats(K * N);
          const bias = withBias ? rng.floats(N) : undefined;
          const c0 = rng.floats(M * N);
          const c = Float64Array.from(c0);
          matmul({ a, b, c, M, N, K, transA, transB, bias, accumulate });
          const want = naive(a, b, M, N, K, transA, transB, bias);
          if (accumulate) for (let i = 0; i < want.length; i++) want[i]! += c0[i]!;
          expect(relMaxDiff(c, want), `M=${M} N=${N} K=${K} tA=${transA} tB=${transB}`).toBeLessThan(1e-12);
          cases++;
        }
    expect(cases).toBe(SIZES.length ** 3);
  });

  it('the four transposes agree with each other on the same matrices', () => {
    const rng = testRng('linear reference transposes');
    const [M, N, K] = [37, 7, 129];
    const A = rng.floats(M * K);
    const B = rng.floats(K * N);
    const base = new Float64Array(M * N);
    matmul({ a: A, b: B, c: base, M, N, K, transA: false, transB: false });
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const c = new Float64Array(M * N);
        const a = transA ? transpose(A, M, K) : A;
        const b = transB ? transpose(B, K, N) : B;
        matmul({ a, b, c, M, N, K, transA, transB });
        expect(relMaxDiff(c, base)).toBeLessThan(1e-13);
      }
  });

  it('the training step identities: Y = X·W + b, dX = dY·Wᵀ, dW = Xᵀ·dY', () => {
    const rng = testRng('linear reference training');
    const [R, Din, Dout] = [13, 5, 9];
    const X = rng.floats(R * Din);
    const W = rng.floats(Din * Dout);
    const b = rng.floats(Dout);
    const dY = rng.floats(R * Dout);
    const Y = new Float64Array(R * Dout);
    matmul({ a: X, b: W, c: Y, M: R, N: Dout, K: Din, transA: false, transB: false, bias: b });
    // Finite differences of L = Σ dY ⊙ Y against dX and dW.
    const loss = (x: ArrayLike<number>, w: ArrayLike<number>) => {
      const y = new Float64Array(R * Dout);
      matmul({ a: x, b: w, c: y, M: R, N: Dout, K: Din, transA: false, transB: false, bias: b });
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i]! * dY[i]!;
      return s;
    };
    const dX = new Float64Array(R * Din);
    matmul({ a: dY, b: W, c: dX, M: R, N: Din, K: Dout, transA: false, transB: true });
    const dW = new Float64Array(Din * Dout);
    matmul({ a: X, b: dY, c: dW, M: Din, N: Dout, K: R, transA: true, transB: false });
    const db = new Float64Array(Dout);
    biasGrad({ dy: dY, db, R, N: Dout });
    const h = 1e-3;
    const fd = (v: Float64Array, i: number, f: () => number) => {
      const o = v[i]!;
      v[i] = o + h;
      const p = f();
      v[i] = o - h;
      const q = f();
      v[i] = o;
      return (p - q) / (2 * h);
    };
    const x64 = Float64Array.from(X);
    const w64 = Float64Array.from(W);
    for (const i of [0, 7, R * Din - 1]) expect(fd(x64, i, () => loss(x64, w64))).toBeCloseTo(dX[i]!, 6);
    for (const i of [0, 11, Din * Dout - 1]) expect(fd(w64, i, () => loss(x64, w64))).toBeCloseTo(dW[i]!, 6);
    let s0 = 0;
    for (let r = 0; r < R; r++) s0 += dY[r * Dout]!;
    expect(db[0]).toBeCloseTo(s0, 12);
  });

  it('rejects bad dimensions and short arrays', () => {
    const c = new Float64Array(4);
    expect(() => matmul({ a: [1], b: [1], c, M: 2, N: 2, K: 1, transA: false, transB: false })).toThrow(
      /a has/,
    );
    expect(() =>
      matmul({ a: [1, 1], b: [1, 1], c, M: 2, N: 2, K: -1, transA: false, transB: false }),
    ).toThrow(RangeError);
    expect(() =>
      matmul({ a: [1, 1], b: [1, 1], c, M: 2, N: 2, K: 1, transA: false, transB: false, bias: [1] }),
    ).toThrow(/bias/);
  });
});

describe('linear reference: biasGrad', () => {
  it('known values, accumulating', () => {
    const db = new Float64Array([10, 20, 30]);
    biasGrad({ dy: [1, 2, 3, 4, 5, 6], db, R: 2, N: 3 });
    expect(Array.from(db)).toEqual([15, 27, 39]);
  });

  it('matches a column loop on awkward sizes', () => {
    const rng = testRng('linear reference biasGrad');
    for (const [R, N] of [
      [1, 1],
      [7, 129],
      [1000, 37],
    ] as const) {
      const dy = rng.floats(R * N);
      const db0 = rng.floats(N);
      const db = Float64Array.from(db0);
      biasGrad({ dy, db, R, N });
      const want = Float64Array.from(db0);
      for (let n = 0; n < N; n++) for (let r = 0; r < R; r++) want[n]! += dy[r * N + n]!;
      expect(relMaxDiff(db, want)).toBeLessThan(1e-12);
    }
  });
});

describe('linear CUDA launchers, host side (no GPU needed)', () => {
  it('translates row-major problems to column-major cuBLASLt ones (operands swapped)', () => {
    const base = {
      M: 12800,
      N: 256,
      K: 64,
      dtypeA: 'bfloat16',
      dtypeB: 'bfloat16',
      dtypeC: 'float32',
    } as const;
    const fake = {} as never;
    expect(ltDescFor({ ...base, a: fake, b: fake, c: fake, transA: false, transB: false })).toEqual({
      transA: false,
      transB: false,
      m: 256,
      n: 12800,
      k: 64,
      lda: 256,
      ldb: 64,
      ldc: 256,
      typeA: 'bfloat16',
      typeB: 'bfloat16',
      typeC: 'float32',
      compute: 'f32',
    });
    const t = ltDescFor({ ...base, a: fake, b: fake, c: fake, bias: fake, transA: true, transB: true });
    expect(t).toMatchObject({ transA: true, transB: true, lda: 64, ldb: 12800, ldc: 256, bias: 'float32' });
    const tf = ltDescFor({
      ...base,
      dtypeA: 'float32',
      dtypeB: 'float32',
      a: fake,
      b: fake,
      c: fake,
      transA: false,
      transB: false,
      precision: 'tf32',
    });
    expect(tf.compute).toBe('tf32');
  });

  it('checks arguments before touching the device', () => {
    const view = (bytes: number) => ({ buffer: { address: 0n } as never, byteOffset: 0, bytes });
    const args = {
      a: view(4 * 6),
      b: view(4 * 6),
      c: view(4 * 4),
      M: 2,
      N: 2,
      K: 3,
      transA: false,
      transB: false,
      dtypeA: 'float32',
      dtypeB: 'float32',
      dtypeC: 'float32',
    } as const;
    expect(() => cudaMatmul({ ...args, c: view(15) })).toThrow(/c spans 15 bytes/);
    expect(() => cudaMatmul({ ...args, bias: view(4) })).toThrow(/bias spans/);
    expect(() => cudaMatmul({ ...args, dtypeB: 'bfloat16' })).toThrow(/must be equal/);
    expect(() => cudaMatmul({ ...args, M: 1.5 })).toThrow(RangeError);
    expect(() => cudaBiasGrad({ dy: view(8), db: view(4), R: 3, N: 1 })).toThrow(/dy spans 8 bytes/);
  });
});
