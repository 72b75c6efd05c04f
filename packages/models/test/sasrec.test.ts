import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SASRec } from '../src/index.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

const C = 23;
const L = 7;

function randomInputs(B: number, seed: number, pad: number[]): Int32Array {
  const out = new Int32Array(B * L);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s % C;
  }
  for (let b = 0; b < B; b++) for (let t = 0; t < (pad[b] ?? 0); t++) out[b * L + t] = C;
  return out;
}

async function hidden(model: SASRec, ids: Int32Array, B: number): Promise<Float32Array> {
  const x = tf.tensor2d(ids, [B, L], 'int32');
  const h = model.forward(x);
  const v = (await h.data()) as Float32Array;
  tf.dispose([x, h]);
  return v;
}

describe('SASRec', () => {
  for (const norm of ['pre', 'post'] as const) {
    it(`${norm}-norm: forward gives [B, L, D], zero rows at padding, finite values`, async () => {
      const model = new SASRec({ numItems: C, maxLen: L, hidden: 12, numHeads: 3, norm, seed: 3 });
      const B = 4;
      const ids = randomInputs(B, 1, [0, 2, 6, 7]);
      const x = tf.tensor2d(ids, [B, L], 'int32');
      const h = model.forward(x);
      expect(h.shape).toEqual([B, L, 12]);
      const v = await h.data();
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < L; t++) {
          const row = Array.from(v.slice((b * L + t) * 12, (b * L + t + 1) * 12));
          expect(row.every(Number.isFinite)).toBe(true);
          if (ids[b * L + t] === C) expect(row.every((e) => e === 0)).toBe(true);
          else expect(row.some((e) => e !== 0)).toBe(true);
        }
      }
      tf.dispose([x, h]);
      model.dispose();
    });

    it(`${norm}-norm: causal — changing the input at position t leaves outputs before t unchanged`, async () => {
      const model = new SASRec({ numItems: C, maxLen: L, hidden: 8, numBlocks: 2, norm, seed: 5 });
      const ids = randomInputs(1, 7, [1]);
      const base = await hidden(model, ids, 1);
      for (const t of [2, 4, 6]) {
        const changed = ids.slice();
        changed[t] = (changed[t]! + 5) % C;
        const h = await hidden(model, changed, 1);
        expect(Array.from(h.slice(0, t * 8))).toEqual(Array.from(base.slice(0, t * 8)));
        expect(Array.from(h.slice(t * 8, (t + 1) * 8))).not.toEqual(
          Array.from(base.slice(t * 8, (t + 1) * 8)),
        );
      }
      model.dispose();
    });
  }

  it('padding mask: values in the padding row do not reach any output', async () => {
    const model = new SASRec({ numItems: C, maxLen: L, hidden: 8, seed: 9 });
    const B = 3;
    const ids = randomInputs(B, 11, [3, 1, 5]);
    const before = await hidden(model, ids, B);
    const table = model.param('item_emb');
    const values = (await table.data()) as Float32Array;
    const poisoned = values.slice();
    for (let d = 0; d < 8; d++) poisoned[C * 8 + d] = 100 + d;
    table.assign(tf.tensor(poisoned, table.shape));
    const after = await hidden(model, ids, B);
    expect(Array.from(after)).toEqual(Array.from(before));
    model.dispose();
  });

  it('the padding row starts at zero and the output table is the first C rows of the input table (tied)', async () => {
    const model = new SASRec({ numItems: C, maxLen: L, hidden: 8, seed: 1 });
    const table = await model.param('item_emb').data();
    expect(Array.from(table.slice(C * 8))).toEqual(new Array(8).fill(0));
    const out = model.itemEmbeddings();
    expect(out.shape).toEqual([C, 8]);
    expect(Array.from(await out.data())).toEqual(Array.from(table.slice(0, C * 8)));
    // Tied: the gradient of a score h·w_c reaches the same variable the inputs read.
    const names = model.parameters.map((p) => p.name);
    expect(names.filter((n) => n.includes('emb'))).toEqual(['item_emb', 'pos_emb']);
    out.dispose();
    model.dispose();
  });

  it('initialisation is a pure function of the seed', async () => {
    const a = new SASRec({ numItems: C, maxLen: L, hidden: 8, seed: 42 });
    const b = new SASRec({ numItems: C, maxLen: L, hidden: 8, seed: 42 });
    const c = new SASRec({ numItems: C, maxLen: L, hidden: 8, seed: 43 });
    for (let i = 0; i < a.parameters.length; i++) {
      expect(Array.from(await a.parameters[i]!.variable.data())).toEqual(
        Array.from(await b.parameters[i]!.variable.data()),
      );
    }
    expect(Array.from(await a.param('item_emb').data())).not.toEqual(
      Array.from(await c.param('item_emb').data()),
    );
    for (const m of [a, b, c]) m.dispose();
  });

  it('dropout: training outputs depend on the stream, are reproducible, and inference has none', async () => {
    const model = new SASRec({ numItems: C, maxLen: L, hidden: 8, dropout: 0.3, seed: 2 });
    const x = tf.tensor2d(randomInputs(2, 3, [0, 2]), [2, L], 'int32');
    const get = async (o: { training?: boolean; stream?: number }) => {
      const h = model.forward(x, o);
      const v = Array.from(await h.data());
      h.dispose();
      return v;
    };
    expect(await get({ training: true, stream: 4 })).toEqual(await get({ training: true, stream: 4 }));
    expect(await get({ training: true, stream: 4 })).not.toEqual(await get({ training: true, stream: 5 }));
    expect(await get({})).toEqual(await get({ training: false, stream: 9 }));
    x.dispose();
    model.dispose();
  });

  it('bad configs and inputs fail with errors that name the argument', () => {
    expect(() => new SASRec({ numItems: 0, maxLen: 4 })).toThrow(/numItems/);
    expect(() => new SASRec({ numItems: 5, maxLen: 4, hidden: 10, numHeads: 3 })).toThrow(/numHeads/);
    expect(() => new SASRec({ numItems: 5, maxLen: 4, dropout: 1 })).toThrow(/dropout/);
    const model = new SASRec({ numItems: 5, maxLen: 4, hidden: 4 });
    const x = tf.zeros([2, 3], 'int32') as tf.Tensor2D;
    expect(() => model.forward(x)).toThrow(/inputs must be \[B, 4\]/);
    x.dispose();
    model.dispose();
  });
});

describe('layerNorm host kernel (CPU backend)', () => {
  it('matches the tfjs-op formula in value and gradients (x, gamma, beta) within 1e-5', async () => {
    const { layerNorm } = await import('../src/layers.js');
    const x = tf.randomNormal([3, 5, 7], 0, 2, 'float32', 1);
    const g = tf.randomNormal([7], 1, 0.5, 'float32', 2);
    const b = tf.randomNormal([7], 0, 0.5, 'float32', 3);
    const w = tf.randomNormal([3, 5, 7], 0, 1, 'float32', 4);
    const ops = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-6))), gg), bb);
    };
    const lossOf = (f: typeof ops) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(f(xx, gg, bb), w));
    const [gx1, gg1, gb1] = tf.grads(lossOf((xx, gg, bb) => layerNorm(xx, gg, bb, 1e-6)))([x, g, b]);
    const [gx2, gg2, gb2] = tf.grads(lossOf(ops))([x, g, b]);
    const close = async (p: tf.Tensor, q: tf.Tensor) => {
      const a = await p.data();
      const c = await q.data();
      for (let i = 0; i < a.length; i++)
        expect(Math.abs(a[i]! - c[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(c[i]!)));
    };
    await close(layerNorm(x, g, b, 1e-6), ops(x, g, b));
    await close(gx1!, gx2!);
    await close(gg1!, gg2!);
    await close(gb1!, gb2!);
  });
});
