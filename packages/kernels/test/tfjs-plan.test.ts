/** The 'tfjs' implementation's chunk plan and its per-chunk negatives (against the sampler's `negatives()`). */
import { negatives } from '@cutrec/sampler';
import { describe, expect, it } from 'vitest';
import type { CceOptions } from '../src/index.js';
import { resolveOptions } from '../src/index.js';
import { groupNegatives, samplerSpec } from '../src/sampling.js';
import { CHUNK_BUDGET_BYTES, chunkRows, planChunks } from '../src/tfjs/index.js';
import { skewedTable } from './contract.js';

const shapes = { N: 37, C: 53, D: 19 };
const resolve = (o: CceOptions) => resolveOptions({ ...o, impl: 'tfjs', checkInputs: false }, shapes, 'cpu');

describe('tfjs chunk plan', () => {
  for (const o of [
    { negatives: 'all', chunkSize: 5 },
    { negatives: 3, chunkSize: 4 },
    { negatives: 3, share: 'block', blockRows: 8, chunkSize: 20 },
    { negatives: 3, share: 'block', blockRows: 8, chunkSize: 3 },
    { negatives: 3, share: 'batch', chunkSize: 10 },
  ] as CceOptions[]) {
    it(`covers every row once, groups whole: ${JSON.stringify(o)}`, () => {
      const r = resolve(o);
      const chunks = planChunks(r, 37, 53, 19);
      let next = 0;
      for (const c of chunks) {
        expect(c.r0).toBe(next);
        next += c.rows;
        if (r.share === 'block') expect(c.r0 % r.blockRows).toBe(0);
        expect(c.G).toBe(Math.ceil(c.rows / c.B));
      }
      expect(next).toBe(37);
    });
  }

  it('default chunk keeps the largest intermediate under the budget', () => {
    const big = { N: 32768, C: 152043, D: 256 };
    const r = resolveOptions({ negatives: 511, impl: 'tfjs' }, big, 'cpu');
    const rows = chunkRows(r, big.N, big.C, big.D);
    expect(rows * 511 * 256 * 4).toBeLessThanOrEqual(CHUNK_BUDGET_BYTES);
    const all = resolveOptions({ negatives: 'all', impl: 'tfjs' }, big, 'cpu');
    expect(chunkRows(all, big.N, big.C, big.D) * big.C * 4).toBeLessThanOrEqual(CHUNK_BUDGET_BYTES);
  });

  for (const sampler of ['uniform', { kind: 'popularity', table: skewedTable(53) }, 'inBatch'] as const) {
    for (const share of ['row', 'block', 'batch'] as const) {
      it(`per-chunk negatives equal negatives() rows: ${typeof sampler === 'string' ? sampler : 'popularity'}, ${share}`, () => {
        const r = resolve({
          negatives: 5,
          share,
          blockRows: 8,
          sampler,
          seed: 12345678901,
          step: 7,
          chunkSize: 16,
        });
        const targets = Array.from({ length: 37 }, (_, i) => (i % 6 === 5 ? -1 : (i * 7) % 53));
        const spec = samplerSpec(r, 53, targets);
        const all = negatives(spec, 37, 5, 7);
        for (const c of planChunks(r, 37, 53, 19)) {
          const ids = groupNegatives(spec, c.g0, c.G, 5, 7);
          for (let i = 0; i < c.rows; i++) {
            const g = Math.floor(i / c.B);
            expect(Array.from(ids.subarray(g * 5, g * 5 + 5))).toEqual(
              Array.from(all.subarray((c.r0 + i) * 5, (c.r0 + i) * 5 + 5)),
            );
          }
        }
      });
    }
  }
});
