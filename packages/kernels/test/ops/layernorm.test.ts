/**
 * Layer norm reference: hand cases, normalised rows, the row mask, dropout bits, and finite
 * differences of the whole backward (dx with a skip gradient, da, dGamma, dBeta).
 */
import { describe, expect, it } from 'vitest';
import { dropoutMaskHost } from '../../src/ops/dropout/index.js';
import { layerNormBackward, layerNormForward } from '../../src/ops/layernorm/index.js';
import { testRng } from './rng.js';

describe('layerNorm (reference)', () => {
  it('D = 2 and D = 1 by hand (biased variance, eps inside the root)', () => {
    const y = new Float64Array(4);
    const mean = new Float64Array(2);
    const rstd = new Float64Array(2);
    const eps = 1e-6;
    layerNormForward({ x: [1, 3, 5, 5], y, gamma: [2, 3], beta: [10, 20], mean, rstd, R: 2, D: 2, eps });
    expect([...mean]).toEqual([2, 5]);
    expect(rstd[0]).toBeCloseTo(1 / Math.sqrt(1 + eps), 15);
    expect(rstd[1]).toBeCloseTo(1 / Math.sqrt(eps), 9);
    expect(y[0]).toBeCloseTo(10 - 2 / Math.sqrt(1 + eps), 14);
    expect(y[1]).toBeCloseTo(20 + 3 / Math.sqrt(1 + eps), 14);
    expect([y[2], y[3]]).toEqual([10, 20]);
    const y1 = new Float64Array(1);
    layerNormForward({ x: [7], y: y1, gamma: [2], beta: [0.5], mean, rstd, R: 1, D: 1, eps });
    expect(y1[0]).toBe(0.5);
  });

  it('rows come out with mean beta and variance gamma²·var/(var+eps); residual adds; masked rows are 0', () => {
    const rng = testRng('layernorm rows');
    const R = 37;
    const D = 63;
    const x = rng.floats(R * D, 3);
    const a = rng.floats(R * D);
    const ids = Int32Array.from({ length: R }, (_, r) => (r % 5 === 4 ? 0 : r + 1));
    const y = new Float64Array(R * D);
    const sum = new Float64Array(R * D);
    const mean = new Float64Array(R);
    const rstd = new Float64Array(R);
    const gamma = new Float64Array(D).fill(1);
    const beta = new Float64Array(D);
    layerNormForward({
      x,
      residual: { a },
      sum,
      y,
      gamma,
      beta,
      mean,
      rstd,
      R,
      D,
      eps: 1e-6,
      rowMask: { ids, padId: 0 },
    });
    for (let r = 0; r < R; r++) {
      let m = 0;
      let v = 0;
      let raw = 0;
      for (let d = 0; d < D; d++) {
        expect(sum[r * D + d]).toBe(x[r * D + d]! + a[r * D + d]!);
        m += y[r * D + d]!;
        v += y[r * D + d]! ** 2;
        raw += sum[r * D + d]!;
      }
      expect(mean[r]).toBeCloseTo(raw / D, 12);
      if (ids[r] === 0) {
        expect(m).toBe(0);
        expect(v).toBe(0);
      } else {
        expect(m / D).toBeCloseTo(0, 12);
        expect(v / D).toBeCloseTo(1, 5);
      }
    }
  });

  it('rate 0 is the identity and the residual multipliers are dropoutMaskHost bit for bit', () => {
    const rng = testRng('layernorm dropout');
    const R = 50;
    const D = 3;
    const x = rng.floats(R * D);
    const a = rng.floats(R * D);
    const common = {
      gamma: [1, 2, 3],
      beta: [0, 0, 0],
      mean: new Float64Array(R),
      rstd: new Float64Array(R),
      R,
      D,
      eps: 1e-6,
    };
    const y0 = new Float64Array(R * D);
    const y1 = new Float64Array(R * D);
    layerNormForward({ ...common, x, residual: { a }, y: y0 });
    layerNormForward({
      ...common,
      x,
      residual: { a, dropout: { seed: 1, stream: 2, site: 3, rate: 0 } },
      y: y1,
    });
    expect([...y1]).toEqual([...y0]);
    const draw = { seed: rng.int(0, 2 ** 30), stream: 17, site: 6 };
    const sum = new Float64Array(R * D);
    layerNormForward({
      ...common,
      x: new Float64Array(R * D),
      residual: { a: new Float64Array(R * D).fill(1), dropout: { ...draw, rate: 0.2 } },
      sum,
      y: y0,
    });
    expect([...sum]).toEqual([...dropoutMaskHost(R * D, 0.2, draw)]);
  });

  it('the backward matches float64 central differences of Σ dy·y + Σ dSkip·s (awkward sizes)', () => {
    const rng = testRng('layernorm finite differences');
    const cases: [number, number][] = [
      [1, 1],
      [1, 3],
      [37, 3],
      [50, 48],
      [37, 63],
      [1, 64],
      [3, 256],
    ];
    const eps = 1e-6;
    for (const [R, D] of cases) {
      for (const variant of ['plain', 'full'] as const) {
        const full = variant === 'full';
        const x = Float64Array.from(rng.floats(R * D, 2));
        const a = Float64Array.from(rng.floats(R * D));
        const gamma = Float64Array.from(rng.floats(D));
        const beta = Float64Array.from(rng.floats(D));
        const dy = Float64Array.from(rng.floats(R * D));
        const dSkip = Float64Array.from(rng.floats(R * D));
        const ids = Int32Array.from({ length: R }, () => (rng.uniform() < 0.25 ? 0 : 1));
        const dropout = { seed: rng.int(0, 1e6), stream: 3, site: 4, rate: 0.3 };
        const residual = full ? { a, dropout } : undefined;
        const rowMask = full ? { ids, padId: 0 } : undefined;
        const y = new Float64Array(R * D);
        const s = new Float64Array(R * D);
        const mean = new Float64Array(R);
        const rstd = new Float64Array(R);
        const forward = () =>
          layerNormForward({ x, residual, sum: s, y, gamma, beta, mean, rstd, R, D, eps, rowMask });
        const loss = () => {
          forward();
          let l = 0;
          for (let i = 0; i < R * D; i++) l += dy[i]! * y[i]! + (full ? dSkip[i]! * s[i]! : 0);
          return l;
        };
        forward();
        const dx = new Float64Array(R * D).fill(Number.NaN);
        const da = new Float64Array(R * D).fill(Number.NaN);
        const dGamma0 = Float64Array.from(rng.floats(D));
        const dBeta0 = Float64Array.from(rng.floats(D));
        const dGamma = Float64Array.from(dGamma0);
        const dBeta = Float64Array.from(dBeta0);
        layerNormBackward({
          dy,
          s,
          gamma,
          mean,
          rstd,
          dx,
          dGamma,
          dBeta,
          R,
          D,
          dSkip: full ? dSkip : undefined,
          residualGrad: full ? { da, dropout } : undefined,
          rowMask,
        });
        const h = 1e-5;
        const fd = (t: Float64Array, i: number) => {
          const v = t[i]!;
          t[i] = v + h;
          const up = loss();
          t[i] = v - h;
          const down = loss();
          t[i] = v;
          return (up - down) / (2 * h);
        };
        const scaleOf = (g: ArrayLike<number>, g0?: ArrayLike<number>) => {
          let m = 1;
          for (let i = 0; i < g.length; i++) m = Math.max(m, Math.abs(g[i]! - (g0 ? g0[i]! : 0)));
          return m;
        };
        const mx = scaleOf(dx);
        const mg = scaleOf(dGamma, dGamma0);
        const mb = scaleOf(dBeta, dBeta0);
        const picks = Math.min(R * D, 16);
        for (let k = 0; k < picks; k++) {
          const i = R * D <= 16 ? k : rng.int(0, R * D - 1);
          expect(Math.abs(fd(x, i) - dx[i]!) / mx, `dx[${i}] R=${R} D=${D} ${variant}`).toBeLessThan(1e-6);
          if (full) expect(Math.abs(fd(a, i) - da[i]!) / mx, `da[${i}] R=${R} D=${D}`).toBeLessThan(1e-6);
          else expect(Number.isNaN(da[i]!)).toBe(true);
        }
        for (let k = 0; k < Math.min(D, 8); k++) {
          const d = D <= 8 ? k : rng.int(0, D - 1);
          expect(Math.abs(fd(gamma, d) - (dGamma[d]! - dGamma0[d]!)) / mg, `dGamma[${d}]`).toBeLessThan(1e-6);
          expect(Math.abs(fd(beta, d) - (dBeta[d]! - dBeta0[d]!)) / mb, `dBeta[${d}]`).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('dSkip may be dx itself (in place)', () => {
    const rng = testRng('layernorm in place');
    const R = 37;
    const D = 48;
    const s = rng.floats(R * D);
    const dy = rng.floats(R * D);
    const dSkip = Float64Array.from(rng.floats(R * D));
    const gamma = rng.floats(D);
    const mean = new Float64Array(R);
    const rstd = new Float64Array(R);
    layerNormForward({
      x: s,
      y: new Float64Array(R * D),
      gamma,
      beta: new Float64Array(D),
      mean,
      rstd,
      R,
      D,
      eps: 1e-6,
    });
    const base = { dy, s, gamma, mean, rstd, R, D };
    const dx = new Float64Array(R * D);
    layerNormBackward({ ...base, dx, dGamma: new Float64Array(D), dBeta: new Float64Array(D), dSkip });
    const inPlace = Float64Array.from(dSkip);
    layerNormBackward({
      ...base,
      dx: inPlace,
      dGamma: new Float64Array(D),
      dBeta: new Float64Array(D),
      dSkip: inPlace,
    });
    expect([...inPlace]).toEqual([...dx]);
  });
});
