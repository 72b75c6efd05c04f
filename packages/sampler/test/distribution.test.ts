/**
 * Statistical tests of the host samplers. Every test uses fixed seeds, so it is deterministic;
 * thresholds are the χ² critical values at an upper-tail probability of 1e-6 (Wilson–Hilferty),
 * i.e. a correct sampler would fail one of them for about one seed in a million.
 */
import { describe, expect, it } from 'vitest';
import { buildAliasTable } from '../src/alias.js';
import { negatives } from '../src/negatives.js';
import { philox4x32_10 } from '../src/philox.js';
import { chi2, chi2Critical } from './stats.js';

const ROWS = 1000;
const K = 1000; // 10^6 draws

describe('distribution of the samplers (10^6 draws, χ² at p = 1e-6)', () => {
  it('uniform matches q = 1/C', () => {
    for (const C of [1, 2, 997, 4099]) {
      const out = negatives({ kind: 'uniform', numItems: C, seed: 20240917 + C }, ROWS, K, 3);
      const obs = new Float64Array(C);
      for (const v of out) obs[v] = obs[v]! + 1;
      const exp = new Float64Array(C).fill((ROWS * K) / C);
      const { stat, dof } = chi2(obs, exp);
      if (dof === 0) {
        expect(obs[0]).toBe(ROWS * K);
        continue;
      }
      expect(stat, `C=${C} χ²=${stat.toFixed(1)} dof=${dof}`).toBeLessThan(chi2Critical(dof));
    }
  });

  it('popularity matches the q its alias table encodes (never draws a zero-count item)', () => {
    const C = 1531;
    const counts = new Float64Array(C);
    for (let c = 0; c < C; c++) counts[c] = c % 97 === 5 ? 0 : Math.floor(5e4 / (c + 1)) + 1;
    const table = buildAliasTable(counts, { alpha: 0.75 });
    const out = negatives({ kind: 'popularity', numItems: C, seed: 99, table }, ROWS, K, 0);
    const obs = new Float64Array(C);
    for (const v of out) obs[v] = obs[v]! + 1;
    const exp = Float64Array.from(table.q, (q) => q * ROWS * K);
    for (let c = 0; c < C; c++) if (table.q[c] === 0) expect(obs[c]).toBe(0);
    const { stat, dof } = chi2(obs, exp);
    expect(dof).toBeGreaterThan(500);
    expect(stat, `χ²=${stat.toFixed(1)} dof=${dof}`).toBeLessThan(chi2Critical(dof));
  });

  it('inBatch matches count / numValid', () => {
    const targets = Int32Array.from({ length: 257 }, (_, i) => (i % 13 === 0 ? -1 : (i * 7919) % 101));
    const out = negatives({ kind: 'inBatch', numItems: 101, seed: 5, targets }, ROWS, K, 1);
    const obs = new Float64Array(101);
    for (const v of out) obs[v] = obs[v]! + 1;
    const valid = targets.filter((t) => t !== -1);
    const exp = new Float64Array(101);
    for (const t of valid) exp[t] = exp[t]! + (ROWS * K) / valid.length;
    const { stat, dof } = chi2(obs, exp);
    expect(stat, `χ²=${stat.toFixed(1)} dof=${dof}`).toBeLessThan(chi2Critical(dof));
  });
});

describe('independence of streams, groups and samples (10^6 pairs)', () => {
  const N = 1_000_000;
  // Pairs of w0 at counters that differ by one in `axis` (0 group, 1 j, 2 stream), others random.
  function pairs(axis: number, seed: number): [Float64Array, Float64Array] {
    const a = new Float64Array(N);
    const b = new Float64Array(N);
    const w = new Uint32Array(4);
    const v = new Uint32Array(4);
    for (let i = 0; i < N; i++) {
      const c: [number, number, number] = [i % 1000, Math.floor(i / 1000), 7];
      philox4x32_10(c[0], c[1], c[2], 0, seed, 0, w);
      c[axis] = c[axis]! + 1;
      philox4x32_10(c[0], c[1], c[2], 0, seed, 0, v);
      a[i] = w[0]! / 2 ** 32;
      b[i] = v[0]! / 2 ** 32;
    }
    return [a, b];
  }

  it.each([
    ['stream', 2],
    ['group', 0],
    ['j', 1],
  ])('w0 at adjacent %s values: |corr| < 5/√N and the 16×16 pair table passes χ²', (_name, axis) => {
    const [a, b] = pairs(axis as number, 424242);
    let ma = 0;
    let mb = 0;
    for (let i = 0; i < N; i++) {
      ma += a[i]!;
      mb += b[i]!;
    }
    ma /= N;
    mb /= N;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    const cells = new Float64Array(256);
    for (let i = 0; i < N; i++) {
      const da = a[i]! - ma;
      const db = b[i]! - mb;
      sab += da * db;
      saa += da * da;
      sbb += db * db;
      const cell = Math.floor(a[i]! * 16) * 16 + Math.floor(b[i]! * 16);
      cells[cell] = cells[cell]! + 1;
    }
    const r = sab / Math.sqrt(saa * sbb);
    // Under independence r ~ N(0, 1/N); 5σ is a two-sided p of 5.7e-7.
    expect(Math.abs(r)).toBeLessThan(5 / Math.sqrt(N));
    const { stat, dof } = chi2(cells, new Float64Array(256).fill(N / 256));
    expect(dof).toBe(255);
    expect(stat).toBeLessThan(chi2Critical(dof));
  });
});
