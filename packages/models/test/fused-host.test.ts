/**
 * The engine contract (DESIGN.md) for the fused step's wiring, on the host: from the same
 * parameters, batch, seed and step, one step of the fused engine over the float64 references
 * (HostDevice) equals one step of the tfjs engine (CPU backend) — the loss, every parameter's
 * gradient and every updated parameter, within 1e-4 of the largest magnitude — on awkward sizes,
 * pre- and post-norm, every loss; and a few steps later the losses still agree.
 */
import { setupTfjs } from '@cutrec/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostDevice, paramLayout, resolveConfig, SASRec } from '../src/index.js';
import { cases, expectSameSteps } from './fused-cases.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

describe('fused engine on the host = tfjs engine', () => {
  for (const c of cases) {
    it(c.name, async () => {
      await expectSameSteps(c, 'fused-host', () => new HostDevice(), 1e-4);
    });
  }
});

describe('fused layout', () => {
  it('holds every SASRec parameter once, decayed ones first, item_emb at 0, aligned', () => {
    const cfg = resolveConfig({ numItems: 37, maxLen: 9, hidden: 12, numBlocks: 2, numHeads: 3 });
    const model = new SASRec(cfg);
    const layout = paramLayout(cfg);
    expect(layout.entries.map((e) => e.name).sort()).toEqual(model.parameters.map((p) => p.name).sort());
    expect(layout.entries[0]!.name).toBe('item_emb');
    expect(layout.entries[0]!.offset).toBe(0);
    for (const e of layout.entries) {
      expect(e.offset % 128).toBe(0);
      expect(e.decay).toBe(e.shape.length >= 2);
      expect(e.decay ? e.offset + e.size <= layout.nDecay : e.offset >= layout.nDecay).toBe(true);
    }
    model.dispose();
  });
});
