/**
 * Linear layer references (float64, row-major): the GEMM with optional accumulate and bias, and
 * the bias gradient. The oracle of the CUDA launchers in cuda.ts.
 */

/** Arguments of {@link matmul}: c = (accumulate ? c : 0) + op(A)·op(B) + bias. */
export interface MatmulArgs {
  /** [M, K], or [K, M] when transA (op(A) = Aᵀ). */
  a: ArrayLike<number>;
  /** [K, N], or [N, K] when transB (op(B) = Bᵀ). */
  b: ArrayLike<number>;
  /** [M, N] output: written completely, or added into when accumulate. */
  c: { [i: number]: number; length: number };
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Add into c instead of overwriting it (default false). */
  accumulate?: boolean;
  /** [N], added to every row. */
  bias?: ArrayLike<number> | null;
}

function checkDims(name: string, dims: Record<string, number>): void {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name}: ${k} must be an integer ≥ 0, got ${v}`);
  }
}

function checkLength(name: string, what: string, got: number, want: number): void {
  if (got < want) throw new RangeError(`${name}: ${what} has ${got} elements; it needs ${want}`);
}

/** Row-major c = (accumulate ? c : 0) + op(A)·op(B) + bias (bias broadcast over the M rows). */
export function matmul(args: MatmulArgs): void {
  const { a, b, c, M, N, K, transA, transB } = args;
  checkDims('matmul', { M, N, K });
  checkLength('matmul', 'a', a.length, M * K);
  checkLength('matmul', 'b', b.length, K * N);
  checkLength('matmul', 'c', c.length, M * N);
  const bias = args.bias ?? null;
  if (bias) checkLength('matmul', 'bias', bias.length, N);
  const row = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const av = transA ? a[k * M + m]! : a[m * K + k]!;
      if (av === 0) continue;
      if (transB) for (let n = 0; n < N; n++) row[n]! += av * b[n * K + k]!;
      else {
        const off = k * N;
        for (let n = 0; n < N; n++) row[n]! += av * b[off + n]!;
      }
    }
    const off = m * N;
    for (let n = 0; n < N; n++) {
      const v = row[n]! + (bias ? bias[n]! : 0);
      c[off + n] = args.accumulate ? c[off + n]! + v : v;
    }
  }
}

/** Arguments of {@link biasGrad}. */
export interface BiasGradArgs {
  /** [R, N] upstream gradient. */
  dy: ArrayLike<number>;
  /** [N], accumulates. */
  db: { [i: number]: number; length: number };
  R: number;
  N: number;
}

/** db[n] += Σ_r dy[r, n]. */
export function biasGrad(args: BiasGradArgs): void {
  const { dy, db, R, N } = args;
  checkDims('biasGrad', { R, N });
  checkLength('biasGrad', 'dy', dy.length, R * N);
  checkLength('biasGrad', 'db', db.length, N);
  const s = new Float64Array(N);
  for (let r = 0; r < R; r++) {
    const off = r * N;
    for (let n = 0; n < N; n++) s[n]! += dy[off + n]!;
  }
  for (let n = 0; n < N; n++) db[n] = db[n]! + s[n]!;
}
