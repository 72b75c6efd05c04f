/**
 * SASRec's inference as an ONNX graph (opset 17): what {@link SASRec.lastHidden} computes in eval
 * mode (no dropout), then scores against the tied item table, the caller's exclusions and TopK.
 *
 * Inputs
 * - `history` int64 [batch, L]: item indices 0 … C−1, left-padded with the padding index C.
 * - `exclude` int64 [batch, M], M ≥ 0 any size: item indices never returned for that row (e.g. the
 *   user's whole history), padded with C, which excludes nothing. Pass M = 0 to exclude nothing.
 *
 * Outputs
 * - `top_items` int64 [batch, k] and `top_scores` float32 [batch, k]: best first, ties to the lower
 *   index (TopK's order, the same as `cutrec recommend`); a score of −∞ marks a slot with no
 *   candidate left (more exclusions than C − k).
 * - with `scores: true`, `scores` float32 [batch, C]: every item's score, −∞ where excluded.
 */
import type { ResolvedSASRecConfig } from '../../config.js';
import { GraphBuilder, ONNX_DTYPE, type OnnxGraph } from './graph.js';
import { addWeights, type HostWeight } from './initializers.js';

/** The operator set version the graph is written for (LayerNormalization needs 17). */
export const ONNX_OPSET = 17;

/** Additive attention bias of a masked key (the tfjs model's constant). */
const MASKED = -1e9;

/** Options of {@link sasrecOnnxGraph}. */
export interface SasrecOnnxOptions {
  /** Items per row in `top_items` / `top_scores`, 1 … C. */
  k: number;
  /** Also output `scores` [batch, C]. Default false. */
  scores?: boolean;
}

/** The names of the graph's inputs and outputs. */
export const ONNX_IO = {
  history: 'history',
  exclude: 'exclude',
  topItems: 'top_items',
  topScores: 'top_scores',
  scores: 'scores',
} as const;

/** SASRec of `config` with `weights` as an inference graph; throws naming a bad option or weight. */
export function sasrecOnnxGraph(
  config: ResolvedSASRecConfig,
  weights: Record<string, HostWeight>,
  options: SasrecOnnxOptions,
): OnnxGraph {
  const { numItems: C, maxLen: L, hidden: D, numHeads: H, numBlocks } = config;
  const { k } = options;
  if (!Number.isInteger(k) || k < 1 || k > C) {
    throw new RangeError(`ONNX export: k must be an integer in [1, ${C}] (the catalog size), got ${k}`);
  }
  const dh = D / H;
  const b = new GraphBuilder();
  const history = b.input(ONNX_IO.history);
  const exclude = b.input(ONNX_IO.exclude);
  const w = addWeights(b, config, weights);
  const p = (name: string) => w.get(name)!;

  // Padding mask [B, L] (1 for an item, 0 for padding) and its [B, L, 1] view.
  const isPad = b.op1('Equal', [history, b.ints('padding_index', [C], [])]);
  const valid = b.op1('Cast', [b.op1('Not', [isPad])], { to: ONNX_DTYPE.float }, 'valid');
  const axesLast = b.ints('axes_last', [-1]);
  const one = b.floats('one', [1]);
  const valid3 = b.op1('Unsqueeze', [valid, axesLast]);

  // Embeddings: item rows scaled by √D plus learned positions, zero at padding.
  let x = b.op1('Gather', [p('item_emb'), history], { axis: 0 }, 'item_rows');
  x = b.op1('Mul', [x, b.floats('sqrt_hidden', [Math.sqrt(D)])]);
  x = b.op1('Add', [x, p('pos_emb')]);
  x = b.op1('Mul', [x, valid3], {}, 'embedded');

  // Attention bias [B, 1, L, L]: query i may attend key j ≤ i when j is an item, and always itself.
  const causal = new Float32Array(L * L);
  const eye = new Float32Array(L * L);
  for (let i = 0; i < L; i++) {
    eye[i * L + i] = 1;
    for (let j = 0; j <= i; j++) causal[i * L + j] = 1;
  }
  const keyValid = b.op1('Unsqueeze', [valid, b.ints('axes_1_2', [1, 2])]);
  const allowed = b.op1('Max', [
    b.op1('Mul', [b.floats('causal', causal, [L, L]), keyValid]),
    b.floats('eye', eye, [L, L]),
  ]);
  const bias = b.op1('Mul', [b.op1('Sub', [one, allowed]), b.floats('masked', [MASKED])], {}, 'attn_bias');

  const splitHeads = b.ints('split_heads', [0, 0, H, dh]);
  const mergeHeads = b.ints('merge_heads', [0, 0, D]);
  const invSqrtDh = b.floats('inv_sqrt_head', [1 / Math.sqrt(dh)]);
  const dense = (t: string, wName: string, bName: string) =>
    b.op1('Add', [b.op1('MatMul', [t, p(wName)]), p(bName)]);
  const layerNorm = (t: string, name: string) =>
    b.op1(
      'LayerNormalization',
      [t, p(`${name}.gamma`), p(`${name}.beta`)],
      {
        axis: -1,
        epsilon: { float: config.layerNormEps },
      },
      name,
    );
  const attention = (t: string, pre: string) => {
    const heads = (m: string, perm: number[]) =>
      b.op1('Transpose', [b.op1('Reshape', [dense(t, `${pre}attn.w${m}`, `${pre}attn.b${m}`), splitHeads])], {
        perm,
      });
    const q = heads('q', [0, 2, 1, 3]); // [B, H, L, dh]
    const kT = heads('k', [0, 2, 3, 1]); // [B, H, dh, L]
    const v = heads('v', [0, 2, 1, 3]);
    const s = b.op1('Add', [b.op1('Mul', [b.op1('MatMul', [q, kT]), invSqrtDh]), bias]);
    const probs = b.op1('Softmax', [s], { axis: -1 });
    const ctx = b.op1('Reshape', [
      b.op1('Transpose', [b.op1('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }),
      mergeHeads,
    ]);
    return dense(ctx, `${pre}attn.wo`, `${pre}attn.bo`);
  };
  const gelu = (t: string) => {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the tanh form the tfjs model uses.
    const cube = b.op1('Pow', [t, b.floats('three', [3])]);
    const inner = b.op1('Mul', [
      b.op1('Add', [t, b.op1('Mul', [cube, b.floats('gelu_c', [0.044715])])]),
      b.floats('sqrt_2_pi', [Math.sqrt(2 / Math.PI)]),
    ]);
    return b.op1('Mul', [
      b.op1('Mul', [t, b.floats('half', [0.5])]),
      b.op1('Add', [b.op1('Tanh', [inner]), one]),
    ]);
  };
  const ffn = (t: string, pre: string) => {
    const h = dense(t, `${pre}ffn.w1`, `${pre}ffn.b1`);
    const a = config.activation === 'relu' ? b.op1('Relu', [h]) : gelu(h);
    return dense(a, `${pre}ffn.w2`, `${pre}ffn.b2`);
  };
  for (let blk = 0; blk < numBlocks; blk++) {
    const pre = `blocks.${blk}.`;
    if (config.norm === 'pre') {
      x = b.op1('Add', [x, attention(layerNorm(x, `${pre}ln1`), pre)]);
      x = b.op1('Add', [x, ffn(layerNorm(x, `${pre}ln2`), pre)]);
    } else {
      x = layerNorm(b.op1('Add', [x, attention(x, pre)]), `${pre}ln1`);
      x = layerNorm(b.op1('Add', [x, ffn(x, pre)]), `${pre}ln2`);
    }
  }
  if (config.norm === 'pre') x = layerNorm(x, 'final_ln');

  // The last position's hidden state [B, D], zero when that position is padding (empty history).
  const last = b.ints('last_position', [L - 1], []);
  const lastValid = b.op1('Unsqueeze', [b.op1('Gather', [valid, last], { axis: 1 }), axesLast]);
  const hidden = b.op1('Mul', [b.op1('Gather', [x, last], { axis: 1 }), lastValid], {}, 'hidden');

  // Scores against all C + 1 rows (the padding column C absorbs `exclude`'s padding), exclusions
  // set to −∞, then the padding column dropped.
  const all = b.op1('Gemm', [hidden, p('item_emb')], { transB: 1 }, 'all_scores');
  const negInf = b.op1('Expand', [
    b.floats('neg_inf', [Number.NEGATIVE_INFINITY]),
    b.op1('Shape', [exclude]),
  ]);
  const masked = b.op1('ScatterElements', [all, exclude, negInf], { axis: 1 }, 'excluded');
  const scores = options.scores ? ONNX_IO.scores : b.fresh('item_scores');
  b.op('Slice', [masked, b.ints('zero', [0]), b.ints('catalog', [C]), b.ints('axis_1', [1])], {}, [scores]);
  b.op('TopK', [scores, b.ints('k', [k])], { axis: -1, largest: 1, sorted: 1 }, [
    ONNX_IO.topScores,
    ONNX_IO.topItems,
  ]);

  return {
    name: 'sasrec',
    doc: `SASRec (${numBlocks} blocks, ${H} heads, hidden ${D}, ${config.norm}-norm, ${config.activation}) over ${C} items, last ${L} positions; top ${k}`,
    inputs: [
      {
        name: history,
        dtype: 'int64',
        shape: ['batch', L],
        doc: `item indices 0…${C - 1}, left-padded with ${C}`,
      },
      {
        name: exclude,
        dtype: 'int64',
        shape: ['batch', 'excluded'],
        doc: `item indices never returned, padded with ${C}; [batch, 0] for none`,
      },
    ],
    outputs: [
      { name: ONNX_IO.topItems, dtype: 'int64', shape: ['batch', k], doc: 'item indices, best first' },
      {
        name: ONNX_IO.topScores,
        dtype: 'float',
        shape: ['batch', k],
        doc: 'their scores; -inf: no candidate left',
      },
      ...(options.scores
        ? [
            {
              name: ONNX_IO.scores,
              dtype: 'float' as const,
              shape: ['batch', C],
              doc: "every item's score, -inf where excluded",
            },
          ]
        : []),
    ],
    initializers: b.initializers,
    nodes: b.nodes,
  };
}
