/**
 * Attention CUDA kernels against the float64 reference: random inputs of awkward sizes (printed
 * seed) with left-padded rows (one all padding, one with only its last item, one mostly padding),
 * outputs poisoned with NaN, float32 and bf16 storage (bf16 through the tensor-core kernels where
 * they apply, and through the CUDA-core kernels), with and without dropout; L up to 512 with dh 128 and 16, dh that is no multiple of
 * anything, a row stride above H·dh (the columns between heads stay untouched), q/k/v and dq/dk/dv
 * sharing one buffer each (stride 3·D), and forward + backward captured into a CUDA graph replayed
 * with two step counters (the dropout stream is read from device memory). Skipped with the reason
 * where there is no GPU; failed under CUTREC_REQUIRE_CUDA=1.
 *
 * The backward is given the reference's out (rounded to the dtype) and lse, so each kernel is
 * checked on its own. Tolerances (relMaxDiff over each whole output): float32 1e-4, bf16 2e-2;
 * lse and delta (float32 accumulations) 1e-4 for both.
 */
import {
  CudaContext,
  CudaEvent,
  CudaGraph,
  CudaStream,
  DeviceBuffer,
  packBf16,
  unpackBf16,
} from '@cutrec/tensor';
import { describe, expect, it } from 'vitest';
import {
  attentionBackward,
  attentionForward,
  attentionKeepWords,
  cudaAttentionBackward,
  cudaAttentionForward,
  type DevicePtr,
  deviceView,
  opUnavailableReason,
} from '../src/index.js';
import { relMaxDiff, testRng } from './ops/rng.js';

const reason = opUnavailableReason('attention');
if (reason) {
  if (process.env.CUTREC_REQUIRE_CUDA === '1') throw new Error(`CUTREC_REQUIRE_CUDA=1 but ${reason}`);
  console.warn(`[cutrec] skipping CUDA attention tests: ${reason}`);
}

type Dtype = 'float32' | 'bfloat16';
const rounded = (x: Float32Array, t: Dtype): Float32Array => (t === 'float32' ? x : unpackBf16(packBf16(x)));
const poison = (t: Dtype) => (t === 'float32' ? 0x7fc00000 : 0x7fc07fc0);
const eb = (t: Dtype) => (t === 'float32' ? 4 : 2);

interface Dev {
  buffer: DeviceBuffer;
  ptr: DevicePtr;
  read(): Float32Array;
}
/** n elements of `t` in a fresh buffer: `x`, or NaN when `x` is omitted. */
function dev(n: number, t: Dtype, x?: ArrayLike<number>): Dev {
  const buffer = new DeviceBuffer(Math.max(4, Math.ceil((n * eb(t)) / 4) * 4));
  buffer.fill32(poison(t));
  if (x) buffer.write(t === 'float32' ? Float32Array.from(x) : packBf16(x));
  const ptr = deviceView(buffer, 0, n * eb(t));
  const read = () =>
    t === 'float32' ? buffer.read(new Float32Array(n)) : unpackBf16(buffer.read(new Uint16Array(n)));
  return { buffer, ptr, read };
}

interface Case {
  B: number;
  L: number;
  H: number;
  dh: number;
  /** Row stride of q/k/v; 'shared': q, k, v (and dq, dk, dv) are column blocks of one [R, 3·H·dh] buffer. */
  stride?: number | 'shared';
  rate?: number;
}
const label = (c: Case) =>
  `B ${c.B} L ${c.L} H ${c.H} dh ${c.dh}${c.stride ? ` stride ${c.stride}` : ''}${c.rate ? ` dropout ${c.rate}` : ''}`;

const cases: Case[] = [
  { B: 1, L: 1, H: 1, dh: 1 },
  { B: 3, L: 7, H: 2, dh: 5, rate: 0.3 },
  { B: 2, L: 37, H: 3, dh: 24, stride: 80 },
  { B: 4, L: 50, H: 2, dh: 32, rate: 0.2 },
  { B: 3, L: 50, H: 2, dh: 32, stride: 'shared', rate: 0.1 },
  { B: 2, L: 65, H: 1, dh: 16 },
  { B: 2, L: 33, H: 4, dh: 33, rate: 0.5 },
  { B: 1, L: 70, H: 1, dh: 100 },
  { B: 2, L: 129, H: 2, dh: 128, rate: 0.1 },
  { B: 2, L: 200, H: 1, dh: 16, rate: 0.1 },
  { B: 1, L: 200, H: 2, dh: 64 },
  { B: 1, L: 512, H: 1, dh: 128, rate: 0.1 },
  { B: 2, L: 512, H: 2, dh: 16 },
  // long leading padding (sequences 2 and 3): whole key tiles skipped by the forward and dq
  { B: 4, L: 300, H: 2, dh: 64, rate: 0.1 },
  { B: 5, L: 161, H: 1, dh: 128 },
  // tensor-core head sizes past the powers of two (bf16 'auto')
  { B: 3, L: 100, H: 2, dh: 48, rate: 0.2 },
  { B: 2, L: 130, H: 1, dh: 96, stride: 'shared', rate: 0.1 },
  { B: 2, L: 77, H: 2, dh: 80, stride: 168 },
];

/** Which kernels a test asks for ('auto': bf16 tensor cores where they apply). */
type Kernels = 'auto' | 'cuda-core';

/** `keep`: the kernels get a keep-mask workspace (cuda.ts `keep`; poisoned, so an unwritten word shows). */
function run(c: Case, dtype: Dtype, graph: boolean, kernels: Kernels = 'auto', keep = false): void {
  const rng = testRng(
    `cuda attention ${dtype} ${kernels} ${label(c)}${graph ? ' graph' : ''}${keep ? ' keep' : ''}`,
  );
  const tol = dtype === 'float32' ? 1e-4 : 2e-2;
  const { B, L, H, dh } = c;
  const D = H * dh;
  const R = B * L;
  const shared = c.stride === 'shared';
  const stride = shared ? 3 * D : ((c.stride as number | undefined) ?? D);
  const padId = 0;
  const ids = new Int32Array(R);
  for (let b = 0; b < B; b++) {
    // left padding (SASRec's): sequence 1 all padding, 2 only its last item, 3 mostly padding (so
    // the kernels' skip of leading padding tiles is exercised), the others up to half
    const start =
      b === 1
        ? L
        : b === 2
          ? L - 1
          : b === 3
            ? rng.int(Math.floor(L / 2), L - 1)
            : rng.int(0, Math.floor(L / 2));
    for (let t = 0; t < L; t++) ids[b * L + t] = t < start || rng.uniform() < 0.1 ? padId : rng.int(1, 1000);
  }
  // q, k, v: [R, stride] with NaN between the heads' columns (never read); shared: one buffer
  const n = R * stride;
  const fill = () => {
    const a = rounded(rng.floats(n), dtype);
    if (!shared) for (let r = 0; r < R; r++) for (let x = D; x < stride; x++) a[r * stride + x] = Number.NaN;
    return a;
  };
  let q: Float32Array;
  let k: Float32Array;
  let v: Float32Array;
  let qkvDev: Dev[];
  if (shared) {
    const all = rounded(rng.floats(n), dtype);
    // the reference reads q at r·stride + x, so give it the buffer shifted by the block's offset
    const shifted = (o: number) => Float32Array.from({ length: n }, (_, t) => (t + o < n ? all[t + o]! : 0));
    q = shifted(0);
    k = shifted(D);
    v = shifted(2 * D);
    const buf = dev(n, dtype, all);
    const view = (o: number) => ({
      ...buf,
      ptr: deviceView(buf.buffer, o * eb(dtype), ((R - 1) * stride + D) * eb(dtype)),
    });
    qkvDev = [view(0), view(D), view(2 * D)];
  } else {
    q = fill();
    k = fill();
    v = fill();
    qkvDev = [dev(n, dtype, q), dev(n, dtype, k), dev(n, dtype, v)];
  }
  const dOut = rounded(rng.floats(R * D), dtype);
  const scale = 1 / Math.sqrt(dh);
  const seed = rng.int(0, 2 ** 30);
  const streams = [rng.int(0, 1000), rng.int(1001, 2000)];
  const rate = c.rate ?? 0;
  const step = DeviceBuffer.from(new Uint32Array([streams[0]!]));
  const shape = { ids, B, L, H, dh, stride, padId, scale };
  const spec = (s: number) => (rate > 0 ? { seed, stream: s, site: 4, rate } : undefined);

  // ---- reference (on the dtype-rounded inputs), per stream ----
  const reference = (s: number) => {
    const out = new Float64Array(R * D);
    const lse = new Float64Array(B * H * L);
    attentionForward({ ...shape, dropout: spec(s), q, k, v, out, lse });
    const outR = rounded(Float32Array.from(out), dtype);
    const dq = new Float64Array(n);
    const dk = new Float64Array(n);
    const dv = new Float64Array(n);
    const delta = new Float64Array(B * H * L);
    attentionBackward({ ...shape, dropout: spec(s), q, k, v, out: outR, dOut, lse, dq, dk, dv, delta });
    return { out, lse, outR, dq, dk, dv, delta };
  };
  const head = (a: ArrayLike<number>) =>
    Float64Array.from({ length: R * D }, (_, t) => a[Math.floor(t / D) * stride + (t % D)]!);

  // ---- device ----
  const dIds = DeviceBuffer.from(ids);
  const outDev = dev(R * D, dtype);
  const lseDev = dev(B * H * L, 'float32');
  const dOutDev = dev(R * D, dtype, dOut);
  const outInDev = dev(R * D, dtype);
  const lseInDev = dev(B * H * L, 'float32');
  const deltaDev = dev(B * H * L, 'float32');
  let dqkv: Dev[];
  let dShared: Dev | undefined;
  if (shared) {
    dShared = dev(n, dtype);
    const d = dShared;
    const view = (o: number) => ({
      ...d,
      ptr: deviceView(d.buffer, o * eb(dtype), ((R - 1) * stride + D) * eb(dtype)),
    });
    dqkv = [view(0), view(D), view(2 * D)];
  } else {
    dqkv = [dev(n, dtype), dev(n, dtype), dev(n, dtype)];
  }
  const dropout = { seed, site: 4, rate, step };
  const keepDev = keep ? new DeviceBuffer(Math.max(4, attentionKeepWords(B, H, L) * 4)) : undefined;
  keepDev?.fill32(0xa5a5a5a5);
  const common = {
    ids: dIds,
    ...{ B, L, H, dh, stride, padId, scale, dropout, dtype, kernels },
    ...(keepDev ? { keep: keepDev } : {}),
  };
  const fwd = (s?: CudaStream) =>
    cudaAttentionForward(
      {
        ...common,
        q: qkvDev[0]!.ptr,
        k: qkvDev[1]!.ptr,
        v: qkvDev[2]!.ptr,
        out: outDev.ptr,
        lse: lseDev.ptr,
      },
      { stream: s },
    );
  const bwd = (s?: CudaStream) =>
    cudaAttentionBackward(
      {
        ...common,
        q: qkvDev[0]!.ptr,
        k: qkvDev[1]!.ptr,
        v: qkvDev[2]!.ptr,
        out: outInDev.ptr,
        dOut: dOutDev.ptr,
        lse: lseInDev.ptr,
        dq: dqkv[0]!.ptr,
        dk: dqkv[1]!.ptr,
        dv: dqkv[2]!.ptr,
        delta: deltaDev.ptr,
      },
      { stream: s },
    );

  const check = (s: number, where: string) => {
    const want = reference(s);
    const tag = `${label(c)} ${dtype} ${kernels}${keep ? ' keep mask' : ''} stream ${s}${where}`;
    expect(relMaxDiff(outDev.read(), want.out), `out ${tag}`).toBeLessThanOrEqual(tol);
    expect(relMaxDiff(lseDev.read(), want.lse), `lse ${tag}`).toBeLessThanOrEqual(1e-4);
    expect(relMaxDiff(deltaDev.read(), want.delta), `delta ${tag}`).toBeLessThanOrEqual(1e-4);
    if (shared) {
      const all = dShared!.read();
      for (const [o, name, w] of [
        [0, 'dq', want.dq],
        [D, 'dk', want.dk],
        [2 * D, 'dv', want.dv],
      ] as const) {
        const got = Float64Array.from(
          { length: R * D },
          (_, t) => all[Math.floor(t / D) * stride + o + (t % D)]!,
        );
        expect(relMaxDiff(got, head(w)), `${name} ${tag}`).toBeLessThanOrEqual(tol);
      }
    } else {
      for (const [i, name, w] of [
        [0, 'dq', want.dq],
        [1, 'dk', want.dk],
        [2, 'dv', want.dv],
      ] as const) {
        const got = dqkv[i]!.read();
        expect(relMaxDiff(head(got), head(w)), `${name} ${tag}`).toBeLessThanOrEqual(tol);
        // the columns between the heads are not written (still NaN)
        for (let r = 0; r < R; r++) {
          for (let x = D; x < stride; x++)
            if (!Number.isNaN(got[r * stride + x]!))
              throw new Error(`${name} wrote column ${x} of row ${r} (${tag})`);
        }
      }
    }
  };
  const upload = (s: number) => {
    const want = reference(s);
    outInDev.buffer.write(dtype === 'float32' ? Float32Array.from(want.outR) : packBf16(want.outR));
    lseInDev.buffer.write(Float32Array.from(want.lse));
  };

  if (!graph) {
    upload(streams[0]!);
    fwd();
    bwd();
    check(streams[0]!, '');
    return;
  }
  // graph: capture once (after a warm-up run that loads the module), replay with two step counters
  const stream = new CudaStream(undefined, true);
  upload(streams[0]!);
  CudaContext.get().synchronize(); // the poison fills (legacy stream) are done before the non-blocking stream runs
  fwd(stream);
  bwd(stream);
  stream.synchronize();
  const g = CudaGraph.capture(stream, () => {
    fwd(stream);
    bwd(stream);
  });
  for (const s of streams) {
    for (const d of [outDev, lseDev, deltaDev, ...(dShared ? [dShared] : dqkv)]) {
      d.buffer.fill32(poison(d === lseDev || d === deltaDev ? 'float32' : dtype), 0, undefined, stream);
    }
    step.write(new Uint32Array([s]));
    upload(s);
    g.launch(stream);
    stream.synchronize();
    check(s, ' (graph replay)');
  }
  g.destroy();
}

/**
 * Times forward and backward at SASRec's shapes (B 256, H 2: L 50 dh 32 and L 512 dh 128) with
 * dropout 0.2 and prints ms and useful GFLOP/s (4·dh forward, 14·dh backward per causal pair);
 * checks only that the outputs are finite (the reference would take minutes here).
 */
function bench(L: number, dh: number, dtype: Dtype, kernels: Kernels): void {
  const B = 256;
  const H = 2;
  const D = H * dh;
  const R = B * L;
  const rng = testRng(`cuda attention timing L ${L} dh ${dh} ${dtype} ${kernels}`);
  const block = rng.floats(1 << 16);
  const t = (n: number) =>
    dev(
      n,
      dtype,
      rounded(
        Float32Array.from({ length: n }, (_, i) => block[(i * 7919) & 0xffff]!),
        dtype,
      ),
    );
  const ids = Int32Array.from({ length: R }, (_, r) => (r % L < rng.int(0, L / 4) ? 0 : 1 + (r % 997)));
  const step = DeviceBuffer.from(new Uint32Array([7]));
  const shape = {
    ids: DeviceBuffer.from(ids),
    B,
    L,
    H,
    dh,
    padId: 0,
    scale: 1 / Math.sqrt(dh),
    dtype,
    kernels,
  };
  const dropout = { seed: 1, site: 3, rate: 0.2, step };
  const [q, k, v, dOut] = [t(R * D), t(R * D), t(R * D), t(R * D)];
  const [out, dq, dk, dv] = [dev(R * D, dtype), dev(R * D, dtype), dev(R * D, dtype), dev(R * D, dtype)];
  const lse = dev(B * H * L, 'float32');
  const delta = dev(B * H * L, 'float32');
  const stream = new CudaStream(undefined, true);
  CudaContext.get().synchronize();
  const fwd = () =>
    cudaAttentionForward(
      { ...shape, dropout, q: q.ptr, k: k.ptr, v: v.ptr, out: out.ptr, lse: lse.ptr },
      { stream },
    );
  const bwd = () =>
    cudaAttentionBackward(
      {
        ...shape,
        dropout,
        q: q.ptr,
        k: k.ptr,
        v: v.ptr,
        out: out.ptr,
        dOut: dOut.ptr,
        lse: lse.ptr,
        dq: dq.ptr,
        dk: dk.ptr,
        dv: dv.ptr,
        delta: delta.ptr,
      },
      { stream },
    );
  const time = (fn: () => void, reps: number) => {
    fn();
    const a = new CudaEvent().record(stream);
    for (let i = 0; i < reps; i++) fn();
    const b = new CudaEvent().record(stream);
    return a.elapsedMs(b) / reps;
  };
  const reps = L > 100 ? 5 : 50;
  const fMs = time(fwd, reps);
  const bMs = time(bwd, reps);
  const pairs = B * H * ((L * (L + 1)) / 2);
  console.log(
    `[timing] attention ${dtype} ${kernels} B ${B} L ${L} H ${H} dh ${dh} dropout 0.2: forward ${fMs.toFixed(3)} ms ` +
      `(${((4 * dh * pairs) / fMs / 1e6).toFixed(0)} GFLOP/s), backward ${bMs.toFixed(3)} ms ` +
      `(${((14 * dh * pairs) / bMs / 1e6).toFixed(0)} GFLOP/s)`,
  );
  for (const [name, d] of [
    ['out', out],
    ['dq', dq],
    ['dk', dk],
    ['dv', dv],
  ] as const) {
    expect(
      d.read().every((x) => Number.isFinite(x)),
      `${name} finite`,
    ).toBe(true);
  }
}

describe.skipIf(reason !== undefined)('attention (CUDA)', () => {
  const runs: [Dtype, Kernels][] = [
    ['float32', 'auto'],
    ['bfloat16', 'auto'],
    ['bfloat16', 'cuda-core'],
  ];
  for (const [dtype, kernels] of runs) {
    const tag = `${dtype} (${kernels === 'auto' ? 'default kernels' : 'CUDA-core kernels'})`;
    for (const c of cases) {
      it(`${tag}, ${label(c)}: forward and backward match the reference`, () =>
        run(c, dtype, false, kernels));
    }
    for (const dh of [24, 32]) {
      it(`${tag}: forward + backward (dh ${dh}) captured into a CUDA graph, replayed with two dropout streams`, () =>
        run({ B: 3, L: 45, H: 2, dh, rate: 0.3 }, dtype, true, kernels));
    }
    if (dtype === 'bfloat16' && kernels === 'auto') {
      // the tensor-core kernels reading the dropout from a keep mask (cuda.ts `keep`): the same
      // reference, on the dropout cases and L past a multiple of 32 and of 4
      for (const c of cases.filter((x) => x.rate)) {
        it(`${tag}, ${label(c)}, keep mask: forward and backward match the reference`, () =>
          run(c, dtype, false, kernels, true));
      }
      it(`${tag}, keep mask: L 33 and 97, and a graph replayed with two dropout streams`, () => {
        run({ B: 2, L: 33, H: 2, dh: 32, rate: 0.4 }, dtype, false, kernels, true);
        run({ B: 2, L: 97, H: 1, dh: 64, rate: 0.25 }, dtype, false, kernels, true);
        run({ B: 3, L: 45, H: 2, dh: 32, rate: 0.3 }, dtype, true, kernels, true);
      });
    }
    for (const [L, dh] of [
      [50, 32],
      [512, 128],
    ] as const) {
      it(`${tag}: timing at B 256 L ${L} H 2 dh ${dh}`, () => bench(L, dh, dtype, kernels));
    }
  }
});
