import { describe, expect, it } from 'vitest';
import {
  CudaContext,
  CudaEvent,
  CudaGraph,
  CudaStream,
  cublasLtInfo,
  cublasLtUnavailableReason,
  cudaUnavailableReason,
  DeviceBuffer,
  type GemmDesc,
  GemmPlan,
  HostBuffer,
  packBf16,
  unpackBf16,
} from '../src/index.js';

// GPU tests of the stream-ordered / graph / pinned / cuBLASLt parts of the bridge. They skip here
// (no GPU); `npm run test:gpu` sets CUTREC_REQUIRE_CUDA=1 so a missing driver — or a missing
// cuBLASLt, unless CUTREC_REQUIRE_CUBLASLT=0 — fails instead.
const reason = cudaUnavailableReason();
const mustHaveCuda = process.env.CUTREC_REQUIRE_CUDA === '1';
if (reason && mustHaveCuda) throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
const ltReason = reason ? reason : cublasLtUnavailableReason();
if (!reason && ltReason) {
  if (mustHaveCuda && process.env.CUTREC_REQUIRE_CUBLASLT !== '0') {
    throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${ltReason} (CUTREC_REQUIRE_CUBLASLT=0 skips the GEMM tests)`);
  }
  console.warn(`[cutrec] skipping cuBLASLt tests: ${ltReason}`);
}

const NAN = 0x7fc00000;
const ints = (b: DeviceBuffer) => b.read(new Int32Array(b.bytes / 4));

describe.skipIf(!!reason)('CUDA graphs, streams, events and pinned memory on a GPU', () => {
  it('captures fill32 + copyFromAsync + a pinned upload into a graph and replays it 3 times', () => {
    const ctx = CudaContext.get();
    const n = 1000;
    const half = n / 2;
    const s = new CudaStream(ctx, true);
    const src = new DeviceBuffer(4 * n);
    const dst = new DeviceBuffer(4 * n);
    const staged = new DeviceBuffer(16);
    const host = new HostBuffer(16);
    const hostView = new Int32Array(host.arrayBuffer);
    const graph = CudaGraph.capture(s, () => {
      dst.fill32(NAN, 0, undefined, s);
      dst.copyFromAsync(src, 0, 0, 4 * half, s);
      dst.fill32(7 >>> 0, 4 * (half + 1), n - half - 1, s);
      staged.uploadAsync(host, { stream: s });
    });
    expect(graph.nodeCount).toBe(4);
    for (let rep = 0; rep < 3; rep++) {
      src.write(Int32Array.from({ length: n }, (_, i) => i * 3 + rep));
      hostView.set([rep, rep + 1, rep + 2, rep + 3]);
      dst.fill32(0xdeadbeef); // overwritten by the replay
      ctx.synchronize();
      graph.launch(s);
      s.synchronize();
      const out = ints(dst);
      for (let i = 0; i < half; i++) expect(out[i]).toBe(i * 3 + rep);
      expect(out[half]).toBe(NAN | 0);
      for (let i = half + 1; i < n; i++) expect(out[i]).toBe(7);
      expect([...ints(staged)]).toEqual([rep, rep + 1, rep + 2, rep + 3]);
    }
    graph.destroy();
    graph.destroy();
    expect(() => graph.launch(s)).toThrow(/destroyed/);
    for (const b of [src, dst, staged]) b.free();
    host.free();
    s.destroy();
  });

  it('fails a capture that synchronises, names the reason, and leaves the stream usable', () => {
    const s = new CudaStream(CudaContext.get(), true);
    const b = new DeviceBuffer(64);
    let err: (Error & { code?: string }) | undefined;
    try {
      CudaGraph.capture(s, () => {
        b.fill32(1, 0, undefined, s);
        b.write(new Int32Array(4)); // cuCtxSynchronize: not allowed while capturing
      });
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.message).toMatch(/^CUDA graph capture failed: /);
    expect(err?.message).toMatch(/STREAM_CAPTURE/);
    expect(err?.code).toMatch(/^CUDA_ERROR_STREAM_CAPTURE_/);
    console.log(`[cutrec] capture failure reads: ${err?.message}`);

    expect(() =>
      CudaGraph.capture(s, () => {
        throw new Error('boom');
      }),
    ).toThrow(/^CUDA graph capture failed: boom/);

    // The stream is no longer capturing: ordinary work and a new capture succeed.
    b.fill32(5, 0, undefined, s);
    s.synchronize();
    expect([...ints(b)].every((v) => v === 5)).toBe(true);
    const g = CudaGraph.capture(s, () => b.fill32(9, 0, undefined, s));
    g.launch(s);
    s.synchronize();
    expect([...ints(b)].every((v) => v === 9)).toBe(true);
    g.destroy();
    b.free();
    s.destroy();
  });

  it('round-trips pinned memory with async uploads and downloads (offsets too)', () => {
    const ctx = CudaContext.get();
    const s = new CudaStream(ctx, true);
    const n = 300_000;
    const up = new HostBuffer(4 * n);
    const down = new HostBuffer(4 * n);
    expect(up.bytes).toBe(4 * n);
    const upView = new Float32Array(up.arrayBuffer);
    expect(up.arrayBuffer).toBe(up.arrayBuffer);
    for (let i = 0; i < n; i++) upView[i] = Math.sin(i);
    const a = new DeviceBuffer(4 * n);
    const b = new DeviceBuffer(4 * n);
    a.uploadAsync(up, { stream: s });
    b.copyFromAsync(a, 0, 0, 4 * n, s);
    const downView = new Float32Array(down.arrayBuffer);
    downView.fill(Number.NaN);
    b.downloadAsync(down, {}, s);
    const done = new CudaEvent(ctx, { timing: false }).record(s);
    done.synchronize();
    expect(done.query()).toBe(true);
    expect(Buffer.from(down.arrayBuffer).equals(Buffer.from(up.arrayBuffer))).toBe(true);

    // Partial copies: 16 bytes from host offset 8 to device offset 4, back to host offset 100.
    a.fill32(0, 0, undefined, s);
    a.uploadAsync(up, { hostOffset: 8, deviceOffset: 4, bytes: 16, stream: s });
    a.downloadAsync(down, { hostOffset: 100, deviceOffset: 4, bytes: 16 }, s);
    s.synchronize();
    expect([...new Float32Array(down.arrayBuffer, 100, 4)]).toEqual([...upView.subarray(2, 6)]);
    expect(a.readFloat32(1)[0]).toBe(0);
    expect(() => a.uploadAsync(up, { hostOffset: 4 * n - 4, bytes: 8, stream: s })).toThrow(/outside/);

    up.free();
    up.free();
    expect(up.freed).toBe(true);
    expect(upView.length).toBe(0); // detached, not dangling
    expect(() => up.arrayBuffer).toThrow(/freed/);
    expect(() => a.uploadAsync(up, { stream: s })).toThrow(/freed/);
    down.free();
    a.free();
    b.free();
    s.destroy();
  });

  it('queries events and streams, and orders streams with waitEvent', () => {
    const ctx = CudaContext.get();
    const fresh = new CudaEvent(ctx, { timing: false });
    expect(fresh.query()).toBe(true); // never recorded: complete
    const s1 = new CudaStream(ctx, true);
    const s2 = new CudaStream(ctx, true);
    const n = 64 << 20; // 256 MiB of words: long enough to still be running when queried
    const big = new DeviceBuffer(4 * n);
    const copy = new DeviceBuffer(4 * n);
    copy.fill32(0, 0, undefined, s2);
    s2.synchronize();
    for (let i = 0; i < 8; i++) big.fill32(i + 1, 0, undefined, s1);
    const e = new CudaEvent(ctx, { timing: false }).record(s1);
    const q = e.query();
    const sq = s1.query();
    console.log(`[cutrec] event.query() right after queueing 2 GiB of memsets: ${q}, stream.query(): ${sq}`);
    s2.waitEvent(e);
    copy.copyFromAsync(big, 0, 0, 4 * n, s2);
    s2.synchronize();
    expect(e.query()).toBe(true);
    expect(s1.query()).toBe(true);
    const sample = copy.read(new Int32Array(1024), 4 * (n - 1024));
    expect([...sample].every((v) => v === 8)).toBe(true);
    expect(() => e.elapsedMs(e)).toThrow(/CUDA_ERROR/); // timing disabled
    big.free();
    copy.free();
    s1.destroy();
    s2.destroy();
  });
});

// ---- cuBLASLt ----

type Mat = Float64Array;
function rand(n: number, seed: number): Float64Array {
  let x = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Column-major float64 reference of D = alpha·op(A)·op(B) + beta·C + bias, for batch `bi`. */
function reference(
  d: GemmDesc,
  A: Mat,
  B: Mat,
  C: Mat | undefined,
  bias: Mat | undefined,
  alpha: number,
  beta: number,
): Float64Array {
  const count = d.batch?.count ?? 1;
  const out = new Float64Array(d.batch ? d.batch.strideC * (count - 1) + d.ldc * d.n : d.ldc * d.n).fill(
    Number.NaN,
  );
  for (let bi = 0; bi < count; bi++) {
    const oa = bi * (d.batch?.strideA ?? 0);
    const ob = bi * (d.batch?.strideB ?? 0);
    const oc = bi * (d.batch?.strideC ?? 0);
    for (let j = 0; j < d.n; j++) {
      for (let i = 0; i < d.m; i++) {
        let acc = 0;
        for (let p = 0; p < d.k; p++) {
          const a = d.transA ? A[oa + p + i * d.lda]! : A[oa + i + p * d.lda]!;
          const b = d.transB ? B[ob + j + p * d.ldb]! : B[ob + p + j * d.ldb]!;
          acc += a * b;
        }
        let v = alpha * acc;
        if (beta !== 0 && C) v += beta * C[oc + i + j * d.ldc]!;
        if (bias) v += bias[i]!;
        out[oc + i + j * d.ldc] = v;
      }
    }
  }
  return out;
}

function deviceOf(
  values: Float64Array,
  dtype: 'float32' | 'bfloat16' | 'float16',
): {
  buf: DeviceBuffer;
  rounded: Float64Array;
} {
  if (dtype === 'float32') {
    const f = Float32Array.from(values);
    return { buf: DeviceBuffer.from(f), rounded: Float64Array.from(f) };
  }
  if (dtype === 'bfloat16') {
    const bits = packBf16(values);
    return { buf: DeviceBuffer.from(bits), rounded: Float64Array.from(unpackBf16(bits)) };
  }
  throw new Error('float16 is not used by these tests');
}

interface GemmCase {
  desc: GemmDesc;
  alpha?: number;
  beta?: number;
  /** Write D to a separate buffer (C is the accumulation input). */
  separateD?: boolean;
  tol: number;
}

function checkGemm(tc: GemmCase, stream: CudaStream | null = null): number {
  const d = tc.desc;
  const count = d.batch?.count ?? 1;
  const span = (rows: number, ld: number, cols: number, stride: number | undefined) =>
    (stride ?? 0) * (count - 1) + ld * (cols - 1) + rows;
  const aLen = span(d.transA ? d.k : d.m, d.lda, d.transA ? d.m : d.k, d.batch?.strideA);
  const bLen = span(d.transB ? d.n : d.k, d.ldb, d.transB ? d.k : d.n, d.batch?.strideB);
  const cLen = d.batch ? d.batch.strideC * (count - 1) + d.ldc * d.n : d.ldc * d.n;
  const A = deviceOf(rand(aLen, 11 + d.m), d.typeA as 'float32');
  const B = deviceOf(rand(bLen, 23 + d.n), d.typeB as 'float32');
  const alpha = tc.alpha ?? 1;
  const beta = tc.beta ?? 0;
  const cBytes = cLen * (d.typeC === 'float32' ? 4 : 2);
  const C = tc.separateD ? deviceOf(rand(cLen, 5), d.typeC as 'float32') : undefined;
  const D = new DeviceBuffer(Math.ceil(cBytes / 4) * 4);
  // Poison: every element the GEMM should write must be written (two bf16 NaNs per word for bf16).
  D.fill32(d.typeC === 'float32' ? NAN : 0x7fc07fc0);
  const bias = d.bias ? deviceOf(rand(d.m, 99), d.bias) : undefined;
  const plan = new GemmPlan(d);
  expect(plan.desc).toEqual(d);
  expect(plan.workspaceBytes).toBeLessThanOrEqual(32 << 20);
  plan.run({
    a: A.buf.address,
    b: B.buf.address,
    c: (C ?? { buf: D }).buf.address,
    d: C ? D.address : undefined,
    bias: bias?.buf.address,
    alpha,
    beta,
    stream,
  });
  CudaContext.get().synchronize();
  const want = reference(d, A.rounded, B.rounded, C?.rounded, bias?.rounded, alpha, beta);
  const got = d.typeC === 'float32' ? D.readFloat32(cLen) : unpackBf16(D.read(new Uint16Array(cLen)));
  let maxAbs = 0;
  for (let i = 0; i < cLen; i++) if (!Number.isNaN(want[i]!)) maxAbs = Math.max(maxAbs, Math.abs(want[i]!));
  let worst = 0;
  for (let i = 0; i < cLen; i++) {
    if (Number.isNaN(want[i]!)) continue; // padding rows (ldc > m) and gaps between batches
    const g = got[i]!;
    expect(Number.isNaN(g), `element ${i} was not written`).toBe(false);
    worst = Math.max(worst, Math.abs(g - want[i]!) / maxAbs);
  }
  expect(worst, `GEMM ${JSON.stringify(d)}`).toBeLessThanOrEqual(tc.tol);
  plan.destroy();
  for (const x of [A.buf, B.buf, C?.buf, D, bias?.buf]) x?.free();
  return worst;
}

const base = (over: Partial<GemmDesc>): GemmDesc => {
  const transA = over.transA ?? false;
  const transB = over.transB ?? false;
  const m = over.m ?? 37;
  const n = over.n ?? 19;
  const k = over.k ?? 45;
  return {
    transA,
    transB,
    m,
    n,
    k,
    lda: transA ? k : m,
    ldb: transB ? n : k,
    ldc: m,
    typeA: 'float32',
    typeB: 'float32',
    typeC: 'float32',
    compute: 'f32',
    ...over,
  };
};

describe.skipIf(!!ltReason)('cuBLASLt GemmPlan on a GPU', () => {
  it('loads cuBLASLt and reports where from', () => {
    const info = cublasLtInfo();
    console.log(`[cutrec] cuBLASLt ${info?.version} from ${info?.path}`);
    expect(info?.version).toBeGreaterThan(10000);
    expect(info?.path).toMatch(/libcublasLt\.so/);
  });

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`fp32 ${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'} at m=37 n=19 k=45 matches float64 within 1e-5`, () => {
        checkGemm({ desc: base({ transA, transB }), tol: 1e-5 });
      });
      it(`bf16 inputs, fp32 output ${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'} matches within 1e-2`, () => {
        checkGemm({ desc: base({ transA, transB, typeA: 'bfloat16', typeB: 'bfloat16' }), tol: 1e-2 });
      });
    }
  }

  it('adds an fp32 bias (fp32 and bf16 inputs)', () => {
    checkGemm({ desc: base({ bias: 'float32' }), tol: 1e-5 });
    checkGemm({
      desc: base({ transB: true, typeA: 'bfloat16', typeB: 'bfloat16', bias: 'float32' }),
      tol: 1e-2,
    });
  });

  it('accumulates with beta = 1 into a separate D, with alpha ≠ 1', () => {
    checkGemm({ desc: base({ transA: true }), alpha: 0.5, beta: 1, separateD: true, tol: 1e-5 });
    checkGemm({
      desc: base({ typeA: 'bfloat16', typeB: 'bfloat16', bias: 'float32' }),
      beta: 1,
      separateD: true,
      tol: 1e-2,
    });
  });

  it('accumulates in place (d = c, beta = 1)', () => {
    const d = base({});
    const A = deviceOf(rand(d.m * d.k, 1), 'float32');
    const B = deviceOf(rand(d.k * d.n, 2), 'float32');
    const C0 = rand(d.m * d.n, 3);
    const C = deviceOf(C0, 'float32');
    const plan = new GemmPlan(d);
    plan.run({ a: A.buf.address, b: B.buf.address, c: C.buf.address, beta: 1 });
    plan.run({ a: A.buf.address, b: B.buf.address, c: C.buf.address, beta: 1 });
    const once = reference(d, A.rounded, B.rounded, undefined, undefined, 1, 0);
    const got = C.buf.readFloat32();
    for (let i = 0; i < got.length; i++) expect(got[i]!).toBeCloseTo(C.rounded[i]! + 2 * once[i]!, 4);
    plan.destroy();
    for (const x of [A.buf, B.buf, C.buf]) x.free();
  });

  it('handles padded leading dimensions, strided batches and TF32', () => {
    checkGemm({ desc: base({ lda: 40, ldb: 48, ldc: 41 }), tol: 1e-5 });
    const m = 37;
    const n = 19;
    const k = 45;
    checkGemm({
      desc: base({ batch: { count: 3, strideA: m * k + 4, strideB: k * n + 8, strideC: m * n + 3 } }),
      tol: 1e-5,
    });
    checkGemm({ desc: base({ compute: 'tf32', transB: true }), tol: 2e-3 });
  });

  it('writes a bf16 D with a bf16 bias', () => {
    checkGemm({
      desc: base({ typeA: 'bfloat16', typeB: 'bfloat16', typeC: 'bfloat16', bias: 'bfloat16' }),
      tol: 2e-2,
    });
  });

  // The weight-gradient shape of a linear layer (dW = xᵀ·dy, column-major: A = dy [m = out, k = rows],
  // B = x, transposed) with the bias gradient Σ_k A written by the epilogue; BGRADB likewise over B.
  for (const [which, typeA] of [
    ['A', 'float32'],
    ['A', 'bfloat16'],
    ['B', 'bfloat16'],
  ] as const) {
    it(`writes the bias gradient of ${which} (BGRAD${which}, ${typeA} inputs, fp32 D), or has no algorithm for it`, () => {
      const d = base({
        m: 40,
        n: 24,
        k: 333,
        transB: true,
        typeA,
        typeB: typeA,
        bias: 'float32',
        biasGrad: which,
      });
      let plan: GemmPlan;
      try {
        plan = new GemmPlan(d);
      } catch (e) {
        expect((e as { code?: string }).code, String(e)).toBe('CUTREC_GEMM_NO_ALGORITHM');
        console.log(`[cublaslt] no algorithm with BGRAD${which} for ${typeA} inputs (callers fall back)`);
        return;
      }
      const A = deviceOf(rand(d.m * d.k, 31), typeA);
      const B = deviceOf(rand(d.n * d.k, 37), typeA);
      const D = new DeviceBuffer(d.m * d.n * 4);
      const len = which === 'A' ? d.m : d.n;
      const db = new DeviceBuffer(len * 4);
      D.fill32(NAN);
      db.fill32(NAN);
      plan.run({ a: A.buf.address, b: B.buf.address, c: D.address, bias: db.address });
      CudaContext.get().synchronize();
      const want = reference({ ...d, bias: undefined }, A.rounded, B.rounded, undefined, undefined, 1, 0);
      const got = D.readFloat32(d.m * d.n);
      const scale = Math.max(...Array.from(want, Math.abs));
      for (let i = 0; i < want.length; i++)
        expect(Math.abs(got[i]! - want[i]!), `D[${i}]`).toBeLessThanOrEqual(1e-5 * scale);
      // Σ over k of A (m × k, lda = m) or of op(B) (k × n: B stored n × k, ldb = n).
      const wantDb = new Float64Array(len);
      for (let p = 0; p < d.k; p++)
        for (let i = 0; i < len; i++)
          wantDb[i]! += which === 'A' ? A.rounded[i + p * d.m]! : B.rounded[i + p * d.n]!;
      const gotDb = db.readFloat32(len);
      const dbScale = Math.max(...Array.from(wantDb, Math.abs));
      for (let i = 0; i < len; i++)
        expect(Math.abs(gotDb[i]! - wantDb[i]!), `bias gradient [${i}]`).toBeLessThanOrEqual(1e-5 * dbScale);
      plan.destroy();
      for (const x of [A.buf, B.buf, D, db]) x.free();
    });
  }

  it('runs every algorithm the heuristic offers (desc.algorithm) to the same product, and rejects one past them', () => {
    for (const over of [
      { typeA: 'bfloat16', typeB: 'bfloat16', typeC: 'bfloat16', bias: 'bfloat16' },
      { typeA: 'bfloat16', typeB: 'bfloat16', typeC: 'float32', transB: true },
      { m: 64, n: 40, k: 1000, transA: true },
    ] as Partial<GemmDesc>[]) {
      const d = base(over);
      const count = new GemmPlan(d).algorithms;
      expect(count).toBeGreaterThanOrEqual(1);
      expect(count).toBeLessThanOrEqual(8);
      for (let i = 0; i < count; i++)
        checkGemm({ desc: { ...d, algorithm: i }, tol: d.typeC === 'float32' ? 1e-5 : 2e-2 });
      if (count < 8)
        expect(() => new GemmPlan({ ...d, algorithm: count })).toThrow(/algorithm \d+ is out of range/);
    }
    expect(() => new GemmPlan(base({ algorithm: 8 }))).toThrow(/algorithm must be an integer in \[0, 8\)/);
  });

  it('rejects a bias gradient without a bias type', () => {
    expect(() => new GemmPlan(base({ biasGrad: 'A' }))).toThrow(/biasGrad needs bias/);
  });

  it('runs inside a captured CUDA graph', () => {
    const d = base({ transA: true, bias: 'float32' });
    const s = new CudaStream(CudaContext.get(), true);
    const A = deviceOf(rand(d.k * d.m, 7), 'float32');
    const B = deviceOf(rand(d.k * d.n, 8), 'float32');
    const bias = deviceOf(rand(d.m, 9), 'float32');
    const D = new DeviceBuffer(4 * d.m * d.n);
    const plan = new GemmPlan(d);
    const args = { a: A.buf.address, b: B.buf.address, c: D.address, bias: bias.buf.address, stream: s };
    plan.run(args); // warm-up outside the capture
    s.synchronize();
    const graph = CudaGraph.capture(s, () => {
      D.fill32(NAN, 0, undefined, s);
      plan.run(args);
    });
    expect(graph.nodeCount).toBeGreaterThanOrEqual(2);
    const want = reference(d, A.rounded, B.rounded, undefined, bias.rounded, 1, 0);
    const maxAbs = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    for (let rep = 0; rep < 3; rep++) {
      D.fill32(0);
      CudaContext.get().synchronize();
      graph.launch(s);
      s.synchronize();
      const got = D.readFloat32();
      for (let i = 0; i < got.length; i++)
        expect(Math.abs(got[i]! - want[i]!) / maxAbs).toBeLessThanOrEqual(1e-5);
    }
    graph.destroy();
    plan.destroy();
    for (const x of [A.buf, B.buf, bias.buf, D]) x.free();
    s.destroy();
  });

  it('rejects bad descriptors and misaligned pointers with the desc in the message', () => {
    expect(() => new GemmPlan(base({ lda: 3 }))).toThrow(/lda must be ≥ 37.*m=37 n=19 k=45/);
    expect(() => new GemmPlan(base({ typeA: 'int32' }))).toThrow(/typeA/);
    const plan = new GemmPlan(base({}));
    const buf = new DeviceBuffer(4 * 37 * 45 + 64);
    expect(() => plan.run({ a: buf.address + 4n, b: buf.address, c: buf.address })).toThrow(/not aligned/);
    plan.destroy();
    expect(() => plan.run({ a: buf.address, b: buf.address, c: buf.address })).toThrow(/destroyed/);
    buf.free();
  });
});
