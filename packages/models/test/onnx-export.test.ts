/**
 * The ONNX export against the tfjs model it was exported from: for random weights of every model
 * variant (pre/post norm, ReLU/GELU, 0–2 blocks, 1–3 heads, awkward sizes) onnxruntime-node runs
 * the exported bytes, and its top-k ids equal `recommend`'s, its scores match the tfjs scores
 * within 1e-5 of the row's largest magnitude (float32 sums in a different order), with and without
 * exclusions, for empty, short and full histories.
 */
import { setupTfjs } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  encodeOnnxModel,
  exportSasrecOnnx,
  historyRow,
  modelWeights,
  ONNX_IO,
  onnxIdsFile,
  sasrecOnnxGraph,
} from '../src/export/onnx/index.js';
import { recommend, SASRec, type SASRecConfig, seenFromHistories } from '../src/index.js';

beforeAll(async () => {
  await setupTfjs({ backend: 'cpu' });
});

/** A seeded LCG in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** U left-padded histories [U·L] of lengths 0 … L (first row empty, second full) and the whole histories. */
function histories(U: number, C: number, L: number, seed: number) {
  const r = lcg(seed);
  const inputs = new Int32Array(U * L).fill(C);
  const whole: number[][] = [];
  for (let u = 0; u < U; u++) {
    const n = u === 0 ? 0 : u === 1 ? L + 3 : Math.floor(r() * (L + 4));
    const h = Array.from({ length: n }, () => Math.floor(r() * C));
    whole.push(h);
    const tail = h.slice(Math.max(0, n - L));
    inputs.set(tail, u * L + L - tail.length);
  }
  return { inputs, whole };
}

function int64(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(Array.from(values), (v) => BigInt(v)),
    dims,
  );
}

/** `exclude` [U, M] from whole histories, padded with C (M = the longest history, at least 1). */
function excludeTensor(whole: number[][], C: number): ort.Tensor {
  const M = Math.max(1, ...whole.map((h) => h.length));
  const out = new Array<number>(whole.length * M).fill(C);
  whole.forEach((h, u) => {
    h.forEach((v, j) => {
      out[u * M + j] = v;
    });
  });
  return int64(out, [whole.length, M]);
}

function expectRowsClose(got: Float32Array, want: Float32Array, width: number, label: string) {
  for (let u = 0; u < got.length / width; u++) {
    const g = got.subarray(u * width, (u + 1) * width);
    const w = want.subarray(u * width, (u + 1) * width);
    let scale = 1e-6;
    for (const v of w) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < width; j++) {
      if (!Number.isFinite(w[j]!)) {
        expect(g[j], `${label} row ${u} col ${j}`).toBe(w[j]);
        continue;
      }
      expect(Math.abs(g[j]! - w[j]!), `${label} row ${u} col ${j}`).toBeLessThanOrEqual(1e-5 * scale);
    }
  }
}

const variants: [string, Partial<SASRecConfig>][] = [
  ['pre-norm, ReLU, 2 blocks, 2 heads', {}],
  ['post-norm, GELU, 1 block, 3 heads', { norm: 'post', activation: 'gelu', numBlocks: 1, numHeads: 3, hidden: 9 }],
  ['pre-norm, GELU, 3 blocks, 1 head, ffn 13, eps 1e-3', { activation: 'gelu', numBlocks: 3, numHeads: 1, ffnHidden: 13, layerNormEps: 1e-3 }],
  ['no blocks', { numBlocks: 0 }],
]; // biome-ignore format: one variant a line

describe('exportSasrecOnnx run by onnxruntime-node equals the tfjs model', () => {
  for (const [name, extra] of variants) {
    it(name, async () => {
      const C = 37;
      const L = 7;
      const model = new SASRec({ numItems: C, maxLen: L, hidden: 6, numHeads: 2, seed: 11, ...extra });
      const k = 9;
      const session = await ort.InferenceSession.create(await exportSasrecOnnx(model, { k, scores: true }));
      expect(session.inputNames).toEqual([ONNX_IO.history, ONNX_IO.exclude]);
      expect(session.outputNames).toEqual([ONNX_IO.topItems, ONNX_IO.topScores, ONNX_IO.scores]);
      const U = 23;
      const { inputs, whole } = histories(U, C, L, 5);
      for (const excluded of [false, true]) {
        const feeds = {
          history: int64(inputs, [U, L]),
          exclude: excluded ? excludeTensor(whole, C) : int64([], [U, 0]),
        };
        const out = await session.run(feeds);
        const want = await recommend(model, inputs, k, excluded ? { seen: seenFromHistories(whole, C) } : {});
        const label = `${name}${excluded ? ', history excluded' : ''}`;
        const ids = Array.from(out.top_items!.data as BigInt64Array, Number);
        const scores = out.top_scores!.data as Float32Array;
        // recommend marks a slot with no candidate −1 / −∞; the graph gives −∞ with some index.
        const idsOrNone = ids.map((v, i) => (scores[i] === Number.NEGATIVE_INFINITY ? -1 : v));
        expect(idsOrNone, label).toEqual(Array.from(want.items));
        expectRowsClose(scores, want.scores, k, label);
        // The full score rows, against tfjs's product of the last hidden state and the item table.
        const full = tf.tidy(() =>
          tf.matMul(
            model.lastHidden(tf.tensor2d(inputs, [U, L], 'int32')),
            model.itemEmbeddings(),
            false,
            true,
          ),
        );
        const wantAll = Float32Array.from(await full.data());
        full.dispose();
        if (excluded) {
          whole.forEach((h, u) => {
            for (const c of h) wantAll[u * C + c] = Number.NEGATIVE_INFINITY;
          });
        }
        expectRowsClose(out.scores!.data as Float32Array, wantAll, C, `${label}, scores`);
      }
      model.dispose();
    });
  }

  it('runs any batch size, and a row with every item excluded gives −∞ scores', async () => {
    const C = 12;
    const L = 4;
    const model = new SASRec({ numItems: C, maxLen: L, hidden: 4, seed: 2 });
    const session = await ort.InferenceSession.create(await exportSasrecOnnx(model, { k: C }));
    for (const U of [1, 2, 33]) {
      const { inputs } = histories(U, C, L, U);
      const out = await session.run({ history: int64(inputs, [U, L]), exclude: int64([], [U, 0]) });
      expect(out.top_items!.dims).toEqual([U, C]);
      const want = await recommend(model, inputs, C);
      expect(Array.from(out.top_items!.data as BigInt64Array, Number)).toEqual(Array.from(want.items));
    }
    const all = Array.from({ length: C }, (_, i) => i);
    const out = await session.run({ history: int64([C, C, 3, 4], [1, L]), exclude: int64(all, [1, C]) });
    expect(
      Array.from(out.top_scores!.data as Float32Array).every((s) => s === Number.NEGATIVE_INFINITY),
    ).toBe(true);
    model.dispose();
  });

  it('writes opset 17, IR 8, and metadata; the ids file and history rows map ids both ways', async () => {
    const model = new SASRec({ numItems: 5, maxLen: 3, hidden: 4, seed: 1 });
    const bytes = await exportSasrecOnnx(model, { k: 2, producerVersion: '9.9.9', metadata: { run: 'x' } });
    const { onnx } = (await import('onnx-proto')).default;
    const m = onnx.ModelProto.decode(bytes);
    expect(Number(m.irVersion)).toBe(8);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect(m.producerName).toBe('cutrec');
    expect(m.producerVersion).toBe('9.9.9');
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(meta['cutrec.padding']).toBe('5');
    expect(meta['cutrec.k']).toBe('2');
    expect(meta.run).toBe('x');
    expect(JSON.parse(meta['cutrec.config']!).numItems).toBe(5);
    const names = new Set((m.graph?.initializer ?? []).map((t) => t.name));
    for (const p of model.parameters) expect(names.has(p.name)).toBe(true);

    const ids = onnxIdsFile(['a', 'b', 'c', 'd', 'e'], 3);
    expect(ids).toEqual({ items: ['a', 'b', 'c', 'd', 'e'], maxLen: 3, padding: 5 });
    expect(() => onnxIdsFile(['a', 'a'], 3)).toThrow(/itemIds\[1\] = 'a' repeats itemIds\[0\]/);
    const r = historyRow(ids, ['e', 'zz', 'a', 'b', 'c']);
    expect(Array.from(r.row, Number)).toEqual([0, 1, 2]);
    expect(r.unknown).toEqual(['zz']);
    expect(Array.from(historyRow(ids, ['d']).row, Number)).toEqual([5, 5, 3]);
    model.dispose();
  });

  it('rejects a k outside [1, C], missing or misshapen weights, and non-finite weights, naming them', async () => {
    const model = new SASRec({ numItems: 5, maxLen: 3, hidden: 4, seed: 1 });
    const w = await modelWeights(model);
    expect(() => sasrecOnnxGraph(model.config, w, { k: 6 })).toThrow(/k must be an integer in \[1, 5\]/);
    expect(() => sasrecOnnxGraph(model.config, w, { k: 0 })).toThrow(/got 0/);
    const { pos_emb: _, ...noPos } = w;
    expect(() => sasrecOnnxGraph(model.config, noPos, { k: 2 })).toThrow(
      /no weights for parameter 'pos_emb'/,
    );
    expect(() =>
      sasrecOnnxGraph(
        model.config,
        { ...w, pos_emb: { shape: [2, 4], data: new Float32Array(8) } },
        { k: 2 },
      ),
    ).toThrow(/'pos_emb' has shape \[2,4\], the config needs \[3,4\]/);
    const bad = Float32Array.from(w['blocks.0.ffn.b1']!.data);
    bad[1] = Number.NaN;
    expect(() =>
      sasrecOnnxGraph(model.config, { ...w, 'blocks.0.ffn.b1': { shape: [4], data: bad } }, { k: 2 }),
    ).toThrow(/'blocks.0.ffn.b1' holds NaN at index 1/);
    // The graph description alone needs no protobuf library; encoding does.
    const g = sasrecOnnxGraph(model.config, w, { k: 2 });
    expect(g.inputs.map((i) => i.name)).toEqual(['history', 'exclude']);
    expect((await encodeOnnxModel(g, { opset: 17, producerVersion: '0' })).length).toBeGreaterThan(0);
    // More than protobuf's 2 GiB of weights fails before encoding (a stand-in array reports the size).
    const huge = {
      ...g,
      initializers: [{ ...g.initializers[0]!, data: { byteLength: 2 ** 31 } as Float32Array }],
    };
    await expect(encodeOnnxModel(huge, { opset: 17, producerVersion: '0' })).rejects.toThrow(
      /2\.00 GiB; a protobuf ONNX file holds at most 2 GiB/,
    );
    model.dispose();
  });
});
