/**
 * Linear layer on CUDA against the float64 reference (on the same dtype-rounded inputs), on both
 * GEMM backends (setGemmBackend 'own' and 'cublaslt'): all four transposes, accumulate, bias,
 * awkward sizes and the training step's shapes; outputs poisoned with NaN first unless
 * accumulating. Skipped with the reason where there is no GPU (failed under CUTREC_REQUIRE_CUDA=1).
 *
 * Tolerances (relMaxDiff: max error over max |reference|): float32 inputs and output 1e-5;
 * tf32 2e-3; bfloat16 inputs (f32 accumulation) or a bfloat16 output 2e-2; biasGrad 1e-5.
 */
import { CudaStream, DeviceBuffer, packBf16, unpackBf16 } from '@cutrec/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceView, opUnavailableReason } from '../src/ops/index.js';
import { ltUnavailableReason } from '../src/ops/linear/cublaslt.js';
import {
  biasGrad,
  cudaBiasGrad,
  cudaMatmul,
  gemmBackend,
  type LinearDtype,
  matmul,
  setGemmBackend,
} from '../src/ops/linear/index.js';
import { relMaxDiff, testRng } from './ops/rng.js';

const reason = opUnavailableReason('linear');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA linear tests: ${reason}`);
}
const ltReason = reason ?? ltUnavailableReason();
if (!reason && ltReason) console.warn(`[cutrec] skipping the cuBLASLt linear tests: ${ltReason}`);

interface Case {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  bias: boolean;
  label?: string;
}

const SIZES = [1, 7, 37, 64, 129];

/** Mixed awkward sizes: every size on every axis, each transpose pair, with/without bias and accumulate. */
function awkwardCases(): Case[] {
  const out: Case[] = [];
  let i = 0;
  for (const M of SIZES)
    for (const N of SIZES) {
      const K = SIZES[(i * 3 + 1) % SIZES.length]!;
      out.push({
        M,
        N,
        K,
        transA: (i & 1) === 1,
        transB: (i & 2) === 2,
        bias: (i & 4) === 4,
        accumulate: i % 3 === 0,
      });
      i++;
    }
  // Every transpose pair at one size with both bias and accumulate.
  for (const transA of [false, true])
    for (const transB of [false, true])
      out.push({ M: 129, N: 37, K: 129, transA, transB, bias: true, accumulate: true });
  return out;
}

/** The training step's GEMMs for X [R, Din], W [Din, Dout]. */
function trainingCases(R: number, Din: number, Dout: number): Case[] {
  const tag = `R=${R} ${Din}×${Dout}`;
  return [
    {
      label: `Y = X·W + b (${tag})`,
      M: R,
      N: Dout,
      K: Din,
      transA: false,
      transB: false,
      bias: true,
      accumulate: false,
    },
    {
      label: `dX += dY·Wᵀ (${tag})`,
      M: R,
      N: Din,
      K: Dout,
      transA: false,
      transB: true,
      bias: false,
      accumulate: true,
    },
    {
      label: `dW = Xᵀ·dY (${tag})`,
      M: Din,
      N: Dout,
      K: R,
      transA: true,
      transB: false,
      bias: false,
      accumulate: false,
    },
  ];
}

const CASES: Case[] = [...awkwardCases(), ...trainingCases(12800, 64, 64), ...trainingCases(1000, 256, 1024)];

interface Config {
  dtypeIn: LinearDtype;
  dtypeC: LinearDtype;
  precision?: 'fp32' | 'tf32';
  /** Storage of the bias (default float32). */
  biasDtype?: LinearDtype;
  tol: number;
}
const CONFIGS: Config[] = [
  { dtypeIn: 'float32', dtypeC: 'float32', tol: 1e-5 },
  { dtypeIn: 'float32', dtypeC: 'bfloat16', tol: 2e-2 },
  { dtypeIn: 'bfloat16', dtypeC: 'float32', tol: 2e-2 },
  { dtypeIn: 'bfloat16', dtypeC: 'bfloat16', tol: 2e-2 },
  { dtypeIn: 'float32', dtypeC: 'float32', precision: 'tf32', tol: 2e-3 },
  { dtypeIn: 'bfloat16', dtypeC: 'bfloat16', biasDtype: 'bfloat16', tol: 2e-2 },
  { dtypeIn: 'float32', dtypeC: 'float32', biasDtype: 'bfloat16', tol: 1e-5 },
];

const roundBf16 = (x: Float32Array) => unpackBf16(packBf16(x));

/** Inputs of a case (drawn once) and its reference products per input dtype (computed once). */
interface Prepared {
  a: Float32Array;
  b: Float32Array;
  bias?: Float32Array;
  c0: Float32Array;
  /** Keyed by input dtype and bias dtype. */
  product: Map<string, Float64Array>;
}

const rng = testRng('cuda linear');
const prepared = new Map<Case, Prepared>();
function prepare(cs: Case): Prepared {
  let p = prepared.get(cs);
  if (!p) {
    p = {
      a: rng.floats(cs.M * cs.K),
      b: rng.floats(cs.K * cs.N),
      bias: cs.bias ? rng.floats(cs.N) : undefined,
      c0: rng.floats(cs.M * cs.N),
      product: new Map(),
    };
    prepared.set(cs, p);
  }
  return p;
}

/** op(A)·op(B) + bias in float64 on inputs rounded to `dtype` (and the bias to `biasDtype`). */
function product(
  cs: Case,
  p: Prepared,
  dtype: LinearDtype,
  biasDtype: LinearDtype = 'float32',
): Float64Array {
  let r = p.product.get(`${dtype}/${biasDtype}`);
  if (!r) {
    const a = dtype === 'bfloat16' ? roundBf16(p.a) : p.a;
    const b = dtype === 'bfloat16' ? roundBf16(p.b) : p.b;
    const bias = p.bias && biasDtype === 'bfloat16' ? roundBf16(p.bias) : p.bias;
    r = new Float64Array(cs.M * cs.N);
    matmul({ a, b, c: r, M: cs.M, N: cs.N, K: cs.K, transA: cs.transA, transB: cs.transB, bias });
    p.product.set(`${dtype}/${biasDtype}`, r);
  }
  return r;
}

const upload = (x: Float32Array, dtype: LinearDtype) =>
  DeviceBuffer.from(dtype === 'bfloat16' ? packBf16(x) : x);

/** A device buffer for n values of `dtype`, a whole number of 32-bit words, poisoned with NaN. */
function poisoned(n: number, dtype: LinearDtype): DeviceBuffer {
  const bytes = dtype === 'bfloat16' ? Math.ceil(n / 2) * 4 : n * 4;
  const buf = new DeviceBuffer(Math.max(4, bytes));
  buf.fill32(dtype === 'bfloat16' ? 0x7fc07fc0 : 0x7fc00000);
  return buf;
}

function download(buf: DeviceBuffer, n: number, dtype: LinearDtype): Float32Array {
  return dtype === 'bfloat16' ? unpackBf16(buf.read(new Uint16Array(n))) : buf.readFloat32(n);
}

function runCase(cs: Case, cfg: Config, stream?: CudaStream): number {
  const p = prepare(cs);
  const { M, N, K } = cs;
  const bufs: DeviceBuffer[] = [];
  const keep = <T extends DeviceBuffer>(b: T) => {
    bufs.push(b);
    return b;
  };
  try {
    const a = keep(upload(p.a, cfg.dtypeIn));
    const b = keep(upload(p.b, cfg.dtypeIn));
    const bias = p.bias ? keep(upload(p.bias, cfg.biasDtype ?? 'float32')) : undefined;
    const c = keep(poisoned(M * N, cfg.dtypeC));
    const c0 = cfg.dtypeC === 'bfloat16' ? roundBf16(p.c0) : p.c0;
    if (cs.accumulate) c.write(cfg.dtypeC === 'bfloat16' ? packBf16(c0) : c0);
    cudaMatmul(
      {
        a,
        b,
        c,
        bias,
        M,
        N,
        K,
        transA: cs.transA,
        transB: cs.transB,
        accumulate: cs.accumulate,
        dtypeA: cfg.dtypeIn,
        dtypeB: cfg.dtypeIn,
        dtypeC: cfg.dtypeC,
        precision: cfg.precision,
        ...(cfg.biasDtype ? { biasDtype: cfg.biasDtype } : {}),
      },
      { stream },
    );
    stream?.synchronize();
    const got = download(c, M * N, cfg.dtypeC);
    const prod = product(cs, p, cfg.dtypeIn, cfg.biasDtype);
    const want = cs.accumulate ? prod.map((v, i) => v + c0[i]!) : prod;
    return relMaxDiff(got, want);
  } finally {
    for (const b of bufs) b.free();
  }
}

const caseName = (cs: Case) =>
  cs.label ??
  `M=${cs.M} N=${cs.N} K=${cs.K} ${cs.transA ? 'Aᵀ' : 'A'}·${cs.transB ? 'Bᵀ' : 'B'}${cs.bias ? ' +bias' : ''}${cs.accumulate ? ' accumulate' : ''}`;
const configName = (c: Config) =>
  `${c.dtypeIn} → ${c.dtypeC}${c.precision === 'tf32' ? ' (tf32)' : ''}${c.biasDtype ? `, ${c.biasDtype} bias` : ''}`;

for (const backend of ['own', 'cublaslt'] as const) {
  const skip = backend === 'own' ? reason : ltReason;
  describe.skipIf(skip !== undefined)(`cudaMatmul on backend '${backend}'`, () => {
    afterAll(() => setGemmBackend('auto'));

    it('selects the backend', () => {
      setGemmBackend(backend);
      expect(gemmBackend()).toBe(backend);
    });

    for (const cfg of CONFIGS)
      it(`${configName(cfg)}: awkward sizes and the training step's shapes`, { timeout: 120_000 }, () => {
        setGemmBackend(backend);
        const bad: string[] = [];
        // tf32 and f32 → bf16 only on a subset (the awkward sizes plus one training shape).
        const subset = cfg.precision === 'tf32' || (cfg.dtypeIn === 'float32' && cfg.dtypeC === 'bfloat16');
        for (const cs of CASES) {
          if (subset && cs.label && !cs.label.includes('R=1000')) continue;
          const d = runCase(cs, cfg);
          if (!(d <= cfg.tol)) bad.push(`${caseName(cs)}: ${d.toExponential(2)}`);
        }
        expect(bad, `relMaxDiff > ${cfg.tol}`).toEqual([]);
      });

    it('takes views at unaligned byte offsets (cuBLASLt then falls back to our kernels)', () => {
      setGemmBackend(backend);
      const cs: Case = { M: 37, N: 7, K: 129, transA: true, transB: false, bias: true, accumulate: false };
      const p = prepare(cs);
      for (const cfg of [CONFIGS[0]!, CONFIGS[2]!]) {
        const el = cfg.dtypeIn === 'bfloat16' ? 2 : 4;
        const host = (x: Float32Array) => (cfg.dtypeIn === 'bfloat16' ? packBf16(x) : x);
        const whole = new DeviceBuffer(4096 + (cs.M * cs.K + cs.K * cs.N) * el + (cs.M * cs.N + cs.N) * 4);
        try {
          const aOff = el;
          const bOff = 1024 + cs.M * cs.K * el;
          const cOff = 2048 + bOff + cs.K * cs.N * el + 4;
          const biasOff = cOff + cs.M * cs.N * 4 + 4;
          whole.fill32(0x7fc00000);
          whole.write(host(p.a), aOff);
          whole.write(host(p.b), bOff);
          whole.write(p.bias!, biasOff);
          cudaMatmul({
            a: deviceView(whole, aOff, cs.M * cs.K * el),
            b: deviceView(whole, bOff, cs.K * cs.N * el),
            c: deviceView(whole, cOff, cs.M * cs.N * 4),
            bias: deviceView(whole, biasOff, cs.N * 4),
            M: cs.M,
            N: cs.N,
            K: cs.K,
            transA: cs.transA,
            transB: cs.transB,
            dtypeA: cfg.dtypeIn,
            dtypeB: cfg.dtypeIn,
            dtypeC: 'float32',
          });
          const got = whole.readFloat32(cs.M * cs.N, cOff);
          expect(relMaxDiff(got, product(cs, p, cfg.dtypeIn)), configName(cfg)).toBeLessThanOrEqual(cfg.tol);
        } finally {
          whole.free();
        }
      }
    });

    it('queues on a given stream', () => {
      setGemmBackend(backend);
      const stream = new CudaStream();
      try {
        const cs = CASES[CASES.length - 4]!; // dW of the R = 12800 shape
        expect(runCase(cs, CONFIGS[0]!, stream)).toBeLessThanOrEqual(1e-5);
      } finally {
        stream.destroy();
      }
    });
  });
}

describe.skipIf(reason !== undefined)('cudaBiasGrad', () => {
  const shapes: Array<[number, number]> = [
    [1, 1],
    [37, 129],
    [12800, 64],
    [1000, 1024],
    [300, 4096],
    [1_000_000, 3],
    // 16-byte loads (N % 8 == 0 in bf16, % 4 in f32), a partial last CTA, and a fallback in bf16
    [4000, 768],
    [3001, 200],
    [50, 12],
  ];
  for (const dtype of ['float32', 'bfloat16'] as const)
    it(`${dtype} dy, accumulating into float32 db`, { timeout: 60_000 }, () => {
      const r = testRng(`cuda linear biasGrad ${dtype}`);
      for (const [R, N] of shapes) {
        const dy = r.floats(R * N);
        const dyr = dtype === 'bfloat16' ? roundBf16(dy) : dy;
        const db0 = r.floats(N);
        const dyBuf = upload(dy, dtype);
        const db = DeviceBuffer.from(db0);
        try {
          cudaBiasGrad({ dy: dyBuf, db, R, N, dtype });
          const want = Float64Array.from(db0);
          biasGrad({ dy: dyr, db: want, R, N });
          expect(relMaxDiff(db.readFloat32(N), want), `R=${R} N=${N}`).toBeLessThanOrEqual(1e-5);
        } finally {
          dyBuf.free();
          db.free();
        }
      }
    });
});
