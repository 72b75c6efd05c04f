/**
 * Attention WGSL kernels against the float64 reference on lavapipe (or any adapter): causal
 * multi-head attention with key padding (one sequence all padding), dropout on the
 * probabilities, head sizes on both sides of the tile size, L not a multiple of the row
 * tile, a row stride wider than the heads (the columns between are NaN and must stay
 * unwritten), and q/k/v and dq/dk/dv as views of one [R, 3·D] buffer. Outputs poisoned with NaN;
 * printed seed (CUTREC_TEST_SEED replays). The backward runs from the reference's out and lse
 * (as float32). Every case runs in both layouts (the tiled kernels, and an invocation per row as on a
 * software adapter). Left-padding cases (`prefix`) make whole key tiles of both layouts padding, which
 * the kernels skip: prefixes of 0, most of L, L − 1 (only the last token real) and L (all padding),
 * an interior run of padding, L not a multiple of any tile (and L % 4 = 0 once, the four-key dropout
 * draws). Tolerances (relErr): 1e-4 (fp32 softmax against float64), as the CUDA test.
 *
 * f16 storage (act 'f16', where the device has shader-f16; every case, layout and dK/dV kernel
 * again): q, k, v, dOut are rounded to f16 before the reference sees them, and the backward's out
 * is the reference's out rounded to f16 (what the f16 forward stores), so the reference and the
 * kernels work on the same numbers and differ by f32 arithmetic (~1e-6 here) plus the final f16
 * rounding of out, dq, dk, dv: half an f16 ulp, 2^-11 = 4.9e-4 of an element, at most that of the
 * largest (measured up to 4.7e-4). Compared at 1e-3 of the largest magnitude (twice the rounding).
 * One exception, corrected in the reference: a query with one allowed key (every key before it
 * padding) has dS = p·(mu·dO·v − dO·round16(out)), f16 rounding noise of up to ~1.3e-3 of dk's
 * largest here, where the f16 kernels write the exact 0 (attention.wgsl.ts oneKeyWGSL), so the
 * reference's such dS are taken out of dq and dk. lse and delta stay float32, computed from the
 * same f16 values as the reference's: 1e-4 as in f32.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  attentionBackward,
  attentionForward,
  dropoutMultiplier,
  laneRowsShape,
  wgslAttentionBackward,
  wgslAttentionForward,
} from '../src/index.js';
import { testRng } from './ops/rng.js';
import {
  ACTS,
  device,
  freeAll,
  gpuArray,
  LAYOUTS,
  relErr,
  roundAct,
  run,
  skipReason,
  stepCounter,
  withLayout,
} from './ops/wgsl-util.js';

interface Case {
  B: number;
  L: number;
  H: number;
  dh: number;
  stride?: number | 'shared';
  rate?: number;
  /** Workgroup-memory bytes the launchers see (the tile plan's input): WebGPU's 16 KiB minimum. */
  limit?: number;
  /**
   * Left-padding length of each sequence, the rest real (default: random in [0, L/2], sequence 1
   * all padding, and 10 % of positions padding at random).
   */
  prefix?: readonly number[];
  /** [sequence, start, end): positions start … end − 1 of that sequence are padding too. */
  run?: readonly [number, number, number];
  /** The 'gpu' layout's dK/dV kernels to run (default all of {@link DKV_KERNELS}). */
  dkv?: readonly (typeof DKV_KERNELS)[number][];
}

/** `gpu` as an adapter with `limit` bytes of workgroup memory would report it (the launchers pick smaller tiles). */
function limited(gpu: GPUDevice, limit: number): GPUDevice {
  const limits: Record<string, number> = {};
  for (const k in gpu.limits) limits[k] = (gpu.limits as unknown as Record<string, number>)[k]!;
  limits.maxComputeWorkgroupStorageSize = limit;
  return new Proxy(gpu, {
    get(target, key) {
      if (key === 'limits') return limits;
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const cases: Case[] = [
  { B: 1, L: 1, H: 1, dh: 1 },
  { B: 3, L: 7, H: 2, dh: 5, rate: 0.3 },
  { B: 2, L: 37, H: 3, dh: 8, stride: 28 },
  { B: 3, L: 50, H: 2, dh: 32, stride: 'shared', rate: 0.1 },
  { B: 2, L: 33, H: 4, dh: 33, rate: 0.5 },
  { B: 1, L: 70, H: 1, dh: 100 },
  { B: 2, L: 40, H: 1, dh: 128, rate: 0.1, stride: 'shared' },
  { B: 2, L: 21, H: 2, dh: 128, rate: 0.2, limit: 16384 },
  // Left padding past whole key tiles: rows × keys of the tiled kernels at lavapipe's 32 KiB 64 × 32
  // (dK/dV at dh 32: 64 × 16), at 16 KiB and dh 33 32 × 16, 16 × 16, 16 × 8; the rows kernels 32 × 32.
  { B: 4, L: 83, H: 2, dh: 32, rate: 0.2, prefix: [0, 70, 82, 83] },
  { B: 4, L: 131, H: 1, dh: 8, prefix: [131, 120, 130, 3], run: [3, 40, 100] },
  { B: 3, L: 132, H: 2, dh: 32, rate: 0.3, prefix: [100, 131, 7], run: [2, 20, 90] },
  { B: 3, L: 83, H: 1, dh: 33, rate: 0.1, prefix: [60, 82, 83], run: [0, 66, 75], limit: 16384 },
  // The keys-in-registers dK/dV kernel (dh a multiple of 16 or 32): key tiles of 32, padding across them.
  { B: 3, L: 45, H: 2, dh: 64, rate: 0.2, prefix: [0, 44, 33], dkv: ['keys4', 'keys8'] },
  { B: 2, L: 70, H: 3, dh: 16, rate: 0.3, prefix: [31, 32], dkv: ['keys4'] },
];

/**
 * dK/dV kernels of the 'gpu' layout ($CUTREC_WGSL_DKV): the tiled one and the keys-in-registers
 * one at 4 and 8 lanes per key (where dh allows it; else the tiled one runs).
 */
const DKV_KERNELS = ['tiles', 'keys4', 'keys8'] as const;

const label = (c: Case) =>
  `B=${c.B} L=${c.L} H=${c.H} dh=${c.dh} stride=${c.stride ?? '-'} rate=${c.rate ?? 0}${c.limit ? ` limit=${c.limit}` : ''}${
    c.prefix ? ` prefix=${c.prefix.join(',')}` : ''
  }${c.run ? ` run=${c.run.join(',')}` : ''}`;

/** ids [B·L] of case c: padId where padding (see Case.prefix), else an item id in 1 … 1000. */
function makeIds(c: Case, padId: number, rng: ReturnType<typeof testRng>): Int32Array {
  const { B, L } = c;
  const ids = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const start = c.prefix ? c.prefix[b]! : b === 1 ? L : rng.int(0, Math.floor(L / 2)); // sequence 1 is all padding
    const [rb, r0, r1] = c.run ?? [-1, 0, 0];
    for (let t = 0; t < L; t++) {
      const pad = t < start || (b === rb && t >= r0 && t < r1) || (!c.prefix && rng.uniform() < 0.1);
      ids[b * L + t] = pad ? padId : rng.int(1, 1000);
    }
  }
  return ids;
}

describe.skipIf(skipReason !== undefined)('attention (WGSL)', () => {
  afterEach(freeAll);
  // The 16 KiB case is about the tile plan, which the 'cpu' layout does not use.
  for (const [act, c, layout, dkvKernel] of ACTS.flatMap((act) =>
    cases.flatMap((c) =>
      LAYOUTS.filter((l) => l === 'gpu' || !c.limit).flatMap((l) =>
        (l === 'gpu' ? (c.dkv ?? DKV_KERNELS) : (['tiles'] as const)).map((k) => [act, c, l, k] as const),
      ),
    ),
  )) {
    it(`${label(c)}, ${layout} layout${layout === 'gpu' ? `, dkv ${dkvKernel}` : ''}, ${act} storage: forward and backward match the reference`, () =>
      withDkvKernel(dkvKernel, () =>
        withLayout(layout, async () => {
          const rng = testRng(`wgsl attention ${label(c)} ${layout}${act === 'f32' ? '' : ` ${act}`}`);
          const gpu = device as GPUDevice;
          const launch = c.limit ? limited(gpu, c.limit) : gpu;
          /** Tolerance of the f32 outputs (lse, delta) and of the act-stored ones (out, dq, dk, dv). */
          const tol = 1e-4;
          const tolAct = act === 'f16' ? 1e-3 : tol;
          const rounded = (x: ArrayLike<number>) => Float32Array.from(roundAct(x, act));
          const { B, L, H, dh } = c;
          const D = H * dh;
          const R = B * L;
          const shared = c.stride === 'shared';
          const stride = shared ? 3 * D : ((c.stride as number | undefined) ?? D);
          const padId = 0;
          const ids = makeIds(c, padId, rng);
          const n = R * stride;
          const fill = () => {
            const a = rounded(rng.floats(n));
            if (!shared)
              for (let r = 0; r < R; r++) for (let x = D; x < stride; x++) a[r * stride + x] = Number.NaN;
            return a;
          };
          let q: Float32Array;
          let k: Float32Array;
          let v: Float32Array;
          let qkv: { buffer: GPUBuffer; offset: number }[];
          if (shared) {
            const all = rounded(rng.floats(n));
            const shifted = (o: number) =>
              Float32Array.from({ length: n }, (_, t) => (t + o < n ? all[t + o]! : 0));
            q = shifted(0);
            k = shifted(D);
            v = shifted(2 * D);
            const buf = gpuArray(n, all, { act }).view.buffer;
            qkv = [0, D, 2 * D].map((offset) => ({ buffer: buf, offset }));
          } else {
            q = fill();
            k = fill();
            v = fill();
            qkv = [q, k, v].map((x) => ({ buffer: gpuArray(n, x, { act }).view.buffer, offset: 0 }));
          }
          const dOut = rounded(rng.floats(R * D));
          const scale = 1 / Math.sqrt(dh);
          const seed = rng.int(0, 2 ** 30);
          const stream = rng.int(0, 1000);
          const rate = c.rate ?? 0;
          const shape = { B, L, H, dh, stride, padId, scale };
          const spec = rate > 0 ? { seed, stream, site: 4, rate } : undefined;

          const out = new Float64Array(R * D);
          const lse = new Float64Array(B * H * L);
          attentionForward({ ...shape, ids, dropout: spec, q, k, v, out, lse });
          // The backward's out is what the forward stores: float32, or f16.
          const out32 = rounded(out);
          const lse32 = Float32Array.from(lse);
          const dq = new Float64Array(n);
          const dk = new Float64Array(n);
          const dv = new Float64Array(n);
          const delta = new Float64Array(B * H * L);
          attentionBackward({
            ...shape,
            ids,
            dropout: spec,
            q,
            k,
            v,
            out: out32,
            dOut,
            lse: lse32,
            dq,
            dk,
            dv,
            delta,
          });
          if (act === 'f16') {
            // Queries with one allowed key (i ≤ the sequence's first real key): dS = 0 exactly, as the kernels write it.
            const mul = dropoutMultiplier(spec);
            for (let b = 0; b < B; b++) {
              let first = 0;
              while (first < L && ids[b * L + first] === padId) first++;
              for (let h = 0; h < H; h++)
                for (let i = 0; i <= Math.min(first, L - 1); i++) {
                  const row = (b * H + h) * L + i;
                  const qo = (b * L + i) * stride + h * dh;
                  const oo = (b * L + i) * D + h * dh;
                  let qk = 0;
                  let dov = 0;
                  let di = 0;
                  for (let d = 0; d < dh; d++) {
                    qk += q[qo + d]! * k[qo + d]!;
                    dov += dOut[oo + d]! * v[qo + d]!;
                    di += dOut[oo + d]! * out32[oo + d]!;
                  }
                  const dS = Math.exp(scale * qk - lse32[row]!) * (mul(row * L + i) * dov - di);
                  for (let d = 0; d < dh; d++) {
                    dq[qo + d] = dq[qo + d]! - scale * dS * k[qo + d]!;
                    dk[qo + d] = dk[qo + d]! - scale * dS * q[qo + d]!;
                  }
                }
            }
          }

          const common = {
            ...shape,
            ids: gpuArray(R, ids, { int: true }).view,
            dropout: { seed, site: 4, rate },
            step: stepCounter(stream),
            act,
            q: qkv[0]!,
            k: qkv[1]!,
            v: qkv[2]!,
          };
          const gOut = gpuArray(R * D, undefined, { act });
          const gLse = gpuArray(B * H * L, undefined, { pad: 1 });
          run(wgslAttentionForward(launch, { ...common, out: gOut.view, lse: gLse.view }));
          expect(relErr(await gOut.read(), out), `out ${label(c)}`).toBeLessThanOrEqual(tolAct);
          expect(relErr(await gLse.read(), lse), `lse ${label(c)}`).toBeLessThanOrEqual(tol);

          const gDelta = gpuArray(B * H * L);
          // dq, dk, dv: each a whole poisoned buffer (one shared by the three), read back whole.
          const dBuf = shared ? gpuArray(n, undefined, { act }) : undefined;
          const dArrays = [0, 1, 2].map(() => dBuf ?? gpuArray(n, undefined, { act }));
          const dViews = dArrays.map((g, i) => ({ buffer: g.view.buffer, offset: shared ? i * D : 0 }));
          run(
            wgslAttentionBackward(launch, {
              ...common,
              out: gpuArray(R * D, out32, { act }).view,
              dOut: gpuArray(R * D, dOut, { act }).view,
              lse: gpuArray(B * H * L, lse32).view,
              dq: dViews[0]!,
              dk: dViews[1]!,
              dv: dViews[2]!,
              delta: gDelta.view,
            }),
          );
          expect(relErr(await gDelta.read(), delta), `delta ${label(c)}`).toBeLessThanOrEqual(tol);
          const heads = (a: ArrayLike<number>, o: number) =>
            Float64Array.from({ length: R * D }, (_, t) => a[Math.floor(t / D) * stride + o + (t % D)]!);
          for (const [i, name, want] of [
            [0, 'dq', dq],
            [1, 'dk', dk],
            [2, 'dv', dv],
          ] as const) {
            const all = await dArrays[i]!.read();
            const o = dViews[i]!.offset;
            // dq and dk are exactly 0 where every query has one allowed key (L = 1): a GPU compiler's
            // fused multiply-adds leave float noise there, compared on the scale of dv (1 % of its largest).
            const got = heads(all, o);
            const ref = heads(want, 0);
            const largest = (x: ArrayLike<number>) =>
              Array.from(x).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            const err =
              largest(ref) > 0 || name === 'dv'
                ? relErr(got, ref)
                : largest(got.map((g, t) => g - ref[t]!)) / Math.max(1e-30, 1e-2 * largest(dv));
            expect(
              Number.isNaN(err) ? Number.POSITIVE_INFINITY : err,
              `${name} ${label(c)}`,
            ).toBeLessThanOrEqual(tolAct);
            if (!shared && stride > D) {
              let written = 0;
              for (let r = 0; r < R; r++)
                for (let x = D; x < stride; x++) if (!Number.isNaN(all[r * stride + x]!)) written++;
              expect(written, `${name}: columns between the heads stay unwritten`).toBe(0);
            }
          }
        }),
      ));
  }

  it('the keys-in-registers dK/dV kernel is the one chosen where the adapter allows it', () =>
    withLayout('gpu', async () => {
      const gpu = device as GPUDevice;
      const sg = gpu.features.has('subgroups') && (gpu.adapterInfo?.subgroupMinSize ?? 0) >= 4;
      for (const k of ['keys4', 'keys8'] as const) {
        await withDkvKernel(k, async () => {
          const shape = laneRowsShape(gpu, 64);
          if (sg && (gpu.adapterInfo?.subgroupMinSize ?? 0) >= (k === 'keys8' ? 8 : 4))
            expect(shape?.lanes, k).toBe(k === 'keys8' ? 8 : 4);
          expect(laneRowsShape(gpu, 8), 'dh 8 is no multiple of 16').toBeUndefined();
        });
      }
      await withDkvKernel('tiles', async () => expect(laneRowsShape(gpu, 64)).toBeUndefined());
    }));
});

/** Runs `f` with $CUTREC_WGSL_DKV = `kernel`, then restores it. */
async function withDkvKernel<T>(kernel: (typeof DKV_KERNELS)[number], f: () => Promise<T>): Promise<T> {
  const prev = process.env.CUTREC_WGSL_DKV;
  process.env.CUTREC_WGSL_DKV = kernel;
  try {
    return await f();
  } finally {
    if (prev === undefined) delete process.env.CUTREC_WGSL_DKV;
    else process.env.CUTREC_WGSL_DKV = prev;
  }
}
