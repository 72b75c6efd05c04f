/**
 * Attention reference: against a materialised masked softmax (scores + the −1e9 mask bias of
 * @cutrec/models' SASRec, softmax, the tfjs dropout mask over the [B, H, L, L] probs, probs·v),
 * padding queries attending only themselves, L = 1, a row stride above H·dh; the backward by
 * float64 central differences of Σ dOut·out with respect to q, k and v (every element for small
 * shapes, a random sample for larger ones), with and without dropout.
 */
import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionForward } from '../../src/ops/attention/index.js';
import { type DropoutSpec, dropoutMaskHost } from '../../src/ops/dropout/index.js';
import { relMaxDiff, testRng } from './rng.js';

interface Case {
  B: number;
  L: number;
  H: number;
  dh: number;
  stride?: number;
  rate?: number;
}

const PAD = 0;
const label = (c: Case) =>
  `B ${c.B} L ${c.L} H ${c.H} dh ${c.dh}${c.stride ? ` stride ${c.stride}` : ''}${c.rate ? ` dropout ${c.rate}` : ''}`;

/** Random inputs: sequence 1 (when B > 1) is all padding, others left-padded with a few holes. */
function inputs(c: Case, rng: ReturnType<typeof testRng>) {
  const stride = c.stride ?? c.H * c.dh;
  const R = c.B * c.L;
  const ids = new Int32Array(R);
  for (let b = 0; b < c.B; b++) {
    const start = b === 1 ? c.L : rng.int(0, Math.floor(c.L / 2));
    for (let t = 0; t < c.L; t++) ids[b * c.L + t] = t < start || rng.uniform() < 0.1 ? PAD : rng.int(1, 50);
  }
  const dropout: DropoutSpec | undefined = c.rate
    ? { seed: rng.int(0, 2 ** 30), stream: rng.int(0, 100), site: 7, rate: c.rate }
    : undefined;
  const f64 = (n: number) => Float64Array.from(rng.floats(n));
  return {
    shape: { ids, B: c.B, L: c.L, H: c.H, dh: c.dh, stride, padId: PAD, scale: 1 / Math.sqrt(c.dh), dropout },
    q: f64(R * stride),
    k: f64(R * stride),
    v: f64(R * stride),
    dOut: f64(R * c.H * c.dh),
    R,
    stride,
  };
}
type Inputs = ReturnType<typeof inputs>;

/** The tfjs formulation, materialised: [B, H, L, L] scores + mask bias, softmax, dropout, ·v. */
function naive(x: Inputs) {
  const { B, L, H, dh, ids, padId, scale, dropout } = x.shape;
  const { stride } = x;
  const out = new Float64Array(x.R * H * dh);
  const lse = new Float64Array(B * H * L);
  const mask = dropout ? dropoutMaskHost(B * H * L * L, dropout.rate, dropout) : undefined;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const s = new Float64Array(L);
        for (let j = 0; j < L; j++) {
          let dot = 0;
          for (let d = 0; d < dh; d++) {
            dot += x.q[(b * L + i) * stride + h * dh + d]! * x.k[(b * L + j) * stride + h * dh + d]!;
          }
          const allowed = (j <= i && ids[b * L + j] !== padId) || j === i;
          s[j] = dot * scale + (allowed ? 0 : -1e9);
        }
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const sum = e.reduce((p, t) => p + t, 0);
        lse[(b * H + h) * L + i] = m + Math.log(sum);
        for (let j = 0; j < L; j++) {
          const p = (e[j]! / sum) * (mask ? mask[((b * H + h) * L + i) * L + j]! : 1);
          for (let d = 0; d < dh; d++) {
            out[(b * L + i) * H * dh + h * dh + d]! += p * x.v[(b * L + j) * stride + h * dh + d]!;
          }
        }
      }
    }
  }
  return { out, lse };
}

function forward(
  x: Inputs,
  q: ArrayLike<number> = x.q,
  k: ArrayLike<number> = x.k,
  v: ArrayLike<number> = x.v,
) {
  const out = new Float64Array(x.R * x.shape.H * x.shape.dh);
  const lse = new Float64Array(x.shape.B * x.shape.H * x.shape.L);
  attentionForward({ ...x.shape, q, k, v, out, lse });
  return { out, lse };
}

const forwardCases: Case[] = [
  { B: 1, L: 1, H: 1, dh: 1 },
  { B: 2, L: 1, H: 3, dh: 5, rate: 0.5 },
  { B: 3, L: 7, H: 2, dh: 5 },
  { B: 2, L: 37, H: 1, dh: 16, rate: 0.3 },
  { B: 3, L: 50, H: 2, dh: 32, rate: 0.2 },
  { B: 2, L: 65, H: 4, dh: 24 },
  { B: 2, L: 13, H: 3, dh: 4, stride: 20, rate: 0.2 },
];

describe('attentionForward (reference)', () => {
  for (const c of forwardCases) {
    it(`equals the materialised masked softmax: ${label(c)}`, () => {
      const x = inputs(c, testRng(`attention forward ${label(c)}`));
      const got = forward(x);
      const want = naive(x);
      expect(relMaxDiff(got.out, want.out)).toBeLessThan(1e-12);
      expect(relMaxDiff(got.lse, want.lse)).toBeLessThan(1e-12);
    });
  }

  it('a padding query attends only itself; the first query of a sequence too; lse = its score', () => {
    const x = inputs({ B: 2, L: 9, H: 2, dh: 3 }, testRng('attention padding'));
    const { out, lse } = forward(x);
    const { H, dh, L, scale } = x.shape;
    // sequence 1 is all padding: out_i = v_i, lse_i = scale·q_i·k_i
    for (const b of [0, 1]) {
      for (let i = 0; i < (b === 1 ? L : 1); i++) {
        for (let h = 0; h < H; h++) {
          let dot = 0;
          for (let d = 0; d < dh; d++) {
            const r = (b * L + i) * x.stride + h * dh + d;
            expect(out[(b * L + i) * H * dh + h * dh + d]).toBeCloseTo(x.v[r]!, 14);
            dot += x.q[r]! * x.k[r]!;
          }
          expect(lse[(b * H + h) * L + i]).toBeCloseTo(scale * dot, 13);
        }
      }
    }
  });

  it('drops probabilities with the tfjs mask: rate 0 equals no dropout, a dropped row is rescaled', () => {
    const c: Case = { B: 1, L: 5, H: 1, dh: 2 };
    const x = inputs(c, testRng('attention dropout rate 0'));
    const plain = forward(x).out;
    const zero = new Float64Array(plain.length);
    attentionForward({
      ...x.shape,
      dropout: { seed: 1, stream: 2, site: 3, rate: 0 },
      q: x.q,
      k: x.k,
      v: x.v,
      out: zero,
      lse: new Float64Array(5),
    });
    expect([...zero]).toEqual([...plain]);
  });
});

function fdCheck(c: Case, sample: number | undefined) {
  const rng = testRng(`attention backward ${label(c)}`);
  const x = inputs(c, rng);
  const { out, lse } = forward(x);
  const n = x.R * x.stride;
  const D = c.H * c.dh;
  const dq = new Float64Array(n).fill(Number.NaN);
  const dk = new Float64Array(n).fill(Number.NaN);
  const dv = new Float64Array(n).fill(Number.NaN);
  const delta = new Float64Array(c.B * c.H * c.L).fill(Number.NaN);
  attentionBackward({ ...x.shape, q: x.q, k: x.k, v: x.v, out, dOut: x.dOut, lse, dq, dk, dv, delta });
  // delta_i = dO_i · out_i
  for (let b = 0; b < c.B; b++) {
    for (let h = 0; h < c.H; h++) {
      for (let i = 0; i < c.L; i++) {
        let s = 0;
        for (let d = 0; d < c.dh; d++)
          s += x.dOut[(b * c.L + i) * D + h * c.dh + d]! * out[(b * c.L + i) * D + h * c.dh + d]!;
        expect(delta[(b * c.H + h) * c.L + i]).toBeCloseTo(s, 12);
      }
    }
  }
  const loss = (q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>) => {
    const o = forward(x, q, k, v).out;
    let s = 0;
    for (let t = 0; t < o.length; t++) s += o[t]! * x.dOut[t]!;
    return s;
  };
  const eps = 1e-5;
  const heads = Array.from({ length: x.R * D }, (_, t) => Math.floor(t / D) * x.stride + (t % D));
  const picks =
    sample === undefined ? heads : Array.from({ length: sample }, () => heads[rng.int(0, heads.length - 1)]!);
  for (const [which, grad] of [
    ['q', dq],
    ['k', dk],
    ['v', dv],
  ] as const) {
    // columns outside the heads are left as they were (NaN here)
    for (let r = 0; r < x.R; r++)
      for (let col = D; col < x.stride; col++) expect(grad[r * x.stride + col]).toBeNaN();
    const got: number[] = [];
    const want: number[] = [];
    for (const idx of picks) {
      const t = { q: Float64Array.from(x.q), k: Float64Array.from(x.k), v: Float64Array.from(x.v) };
      const a = t[which];
      a[idx] = x[which][idx]! + eps;
      const up = loss(t.q, t.k, t.v);
      a[idx] = x[which][idx]! - eps;
      want.push((up - loss(t.q, t.k, t.v)) / (2 * eps));
      got.push(grad[idx]!);
    }
    // against the largest gradient entry overall (sampled small entries still count; floor 1e-3:
    // with L = 1 dq and dk are exactly 0 and the differences only rounding noise)
    const scaleMax = Math.max(...heads.map((i) => Math.abs(grad[i]!)));
    const err = Math.max(...got.map((g, t) => Math.abs(g - want[t]!))) / Math.max(1e-3, scaleMax);
    expect(err, `d${which}`).toBeLessThan(1e-7);
  }
}

describe('attentionBackward (reference)', () => {
  const full: Case[] = [
    { B: 1, L: 1, H: 1, dh: 1 },
    { B: 2, L: 1, H: 2, dh: 3, rate: 0.4 },
    { B: 3, L: 7, H: 2, dh: 5 },
    { B: 3, L: 7, H: 2, dh: 5, rate: 0.3 },
    { B: 2, L: 6, H: 3, dh: 4, stride: 15, rate: 0.25 },
  ];
  for (const c of full) {
    it(`matches finite differences of Σ dOut·out (every element): ${label(c)}`, () => fdCheck(c, undefined));
  }
  const sampled: Case[] = [
    { B: 2, L: 37, H: 1, dh: 16, rate: 0.3 },
    { B: 1, L: 50, H: 2, dh: 32 },
    { B: 2, L: 65, H: 4, dh: 24, rate: 0.1 },
    { B: 3, L: 37, H: 3, dh: 5, stride: 17 },
  ];
  for (const c of sampled) {
    it(`matches finite differences of Σ dOut·out (60 sampled elements): ${label(c)}`, () => fdCheck(c, 60));
  }
});
