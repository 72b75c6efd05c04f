/**
 * SASRec (Kang & McAuley 2018) on tfjs: tied item embeddings scaled by √D, learned positions,
 * causal multi-head self-attention with a key padding mask, point-wise feed-forward, dropout and
 * layer norm (pre-norm with a final norm by default, post-norm as an option).
 */
import { firstOutside } from '@cutrec/tensor';
import * as tf from '@tensorflow/tfjs';
import { type ResolvedSASRecConfig, resolveConfig, type SASRecConfig } from './config.js';
import { seededNormal, seededUniform } from './init.js';
import { dropout, embeddingLookup, feedForward, layerNorm, multiHeadAttention } from './layers.js';

/** Additive bias for masked attention scores (finite, so exp gives exactly 0 without −∞ arithmetic). */
const MASKED = -1e9;

/** Options of {@link SASRec.forward}. */
export interface ForwardOptions {
  /** Apply dropout. Default false. */
  training?: boolean;
  /** Dropout stream (the training step): masks are a pure function of (seed, stream, site). Default 0. */
  stream?: number;
}

/** One named parameter of the model. */
export interface NamedParameter {
  name: string;
  variable: tf.Variable;
}

/** How a parameter starts: the item table, N(0, std), Glorot-uniform, or a constant. */
export type ParameterInit =
  | { kind: 'items' }
  | { kind: 'normal'; std: number }
  | { kind: 'glorot' }
  | { kind: 'fill'; value: number };

/** One parameter of SASRec: its name, shape and initialisation. */
export interface ParameterSpec {
  name: string;
  shape: number[];
  init: ParameterInit;
}

/** SASRec's parameters in the model's fixed order (the order checkpoints and the optimizer use). */
export function parameterSpecs(config: ResolvedSASRecConfig): ParameterSpec[] {
  const { numItems: C, maxLen: L, hidden: D, ffnHidden: F, numBlocks } = config;
  const out: ParameterSpec[] = [
    { name: 'item_emb', shape: [C + 1, D], init: { kind: 'items' } },
    { name: 'pos_emb', shape: [L, D], init: { kind: 'normal', std: 0.1 } },
  ];
  const one = { kind: 'fill', value: 1 } as const;
  const zero = { kind: 'fill', value: 0 } as const;
  const glorot = { kind: 'glorot' } as const;
  for (let b = 0; b < numBlocks; b++) {
    const p = `blocks.${b}.`;
    out.push(
      { name: `${p}ln1.gamma`, shape: [D], init: one },
      { name: `${p}ln1.beta`, shape: [D], init: zero },
    );
    for (const m of ['q', 'k', 'v', 'o']) {
      out.push(
        { name: `${p}attn.w${m}`, shape: [D, D], init: glorot },
        { name: `${p}attn.b${m}`, shape: [D], init: zero },
      );
    }
    out.push(
      { name: `${p}ln2.gamma`, shape: [D], init: one },
      { name: `${p}ln2.beta`, shape: [D], init: zero },
    );
    out.push(
      { name: `${p}ffn.w1`, shape: [D, F], init: glorot },
      { name: `${p}ffn.b1`, shape: [F], init: zero },
    );
    out.push(
      { name: `${p}ffn.w2`, shape: [F, D], init: glorot },
      { name: `${p}ffn.b2`, shape: [D], init: zero },
    );
  }
  if (config.norm === 'pre') {
    out.push(
      { name: 'final_ln.gamma', shape: [D], init: one },
      { name: 'final_ln.beta', shape: [D], init: zero },
    );
  }
  return out;
}

/**
 * The initial values of parameter `index` of `specs`: a pure function of the seed, the index and
 * the element, so every engine and machine starts from the same weights. Item rows are
 * N(0, 1/D) (√D-scaled inputs then have unit variance); the padding row is zero.
 */
export function initialValues(spec: ParameterSpec, index: number, seed: number): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const init = spec.init;
  switch (init.kind) {
    case 'items': {
      const [rows, D] = spec.shape as [number, number];
      const v = seededNormal(seed, index, size, 1 / Math.sqrt(D));
      return v.fill(0, (rows - 1) * D);
    }
    case 'normal':
      return seededNormal(seed, index, size, init.std);
    case 'glorot': {
      const [a, b] = spec.shape as [number, number];
      return seededUniform(seed, index, size, Math.sqrt(6 / (a + b)));
    }
    case 'fill':
      return new Float32Array(size).fill(init.value);
  }
}

/** SASRec's parameters as named tfjs variables, and its forward pass. */
export class SASRec {
  readonly config: ResolvedSASRecConfig;
  /** Parameters in a fixed order (the order checkpoints and the optimizer use). */
  readonly parameters: readonly NamedParameter[];
  private readonly byName: Map<string, tf.Variable>;

  /** Builds a model with deterministic initial weights from `config.seed`. */
  constructor(config: SASRecConfig) {
    this.config = resolveConfig(config);
    const params: NamedParameter[] = parameterSpecs(this.config).map((spec, i) => ({
      name: spec.name,
      variable: tf.variable(tf.tensor(initialValues(spec, i, this.config.seed), spec.shape, 'float32'), true),
    }));
    this.parameters = params;
    this.byName = new Map(params.map((p) => [p.name, p.variable]));
  }

  /** The variable called `name`; throws naming it when there is none. */
  param(name: string): tf.Variable {
    const v = this.byName.get(name);
    if (!v) throw new Error(`SASRec: no parameter named '${name}'`);
    return v;
  }

  /** The padding id (= numItems): inputs use it for empty positions. */
  get padId(): number {
    return this.config.numItems;
  }

  /** The output item table [C, D]: the first C rows of the (tied) input embeddings, unscaled. */
  itemEmbeddings(): tf.Tensor2D {
    const { numItems, hidden } = this.config;
    return tf.slice(this.param('item_emb') as tf.Tensor2D, [0, 0], [numItems, hidden]);
  }

  /**
   * Hidden states [B, L, D] for inputs [B, L] int32 (item ids in [0, C], C = padding, left-padded);
   * rows at padding positions are zero. Position t depends only on inputs at positions ≤ t.
   */
  forward(inputs: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    const cfg = this.config;
    if (inputs.rank !== 2 || inputs.shape[1] !== cfg.maxLen) {
      throw new RangeError(
        `SASRec.forward: inputs must be [B, ${cfg.maxLen}], got [${inputs.shape.join(', ')}]`,
      );
    }
    if (inputs.dtype !== 'int32')
      throw new TypeError(`SASRec.forward: inputs must be int32, got ${inputs.dtype}`);
    const training = options.training ?? false;
    const stream = options.stream ?? 0;
    const seedOf = (site: number) => (training ? { seed: cfg.seed, stream, site } : undefined);
    const { maxLen: L, hidden: D, numHeads } = cfg;
    return tf.tidy(() => {
      const [B] = inputs.shape;
      const mask = tf.cast(tf.notEqual(inputs, cfg.numItems), 'float32'); // [B, L]
      // Broadcasts are materialised once (tile) so that the element-wise ops below see equal
      // shapes: tfjs's CPU backend runs equal-shape ops ~10× faster than broadcasting ones.
      const maskD = tf.tile(tf.reshape(mask, [B, L, 1]), [1, 1, D]);
      let x: tf.Tensor = tf.mul(embeddingLookup(this.param('item_emb'), inputs), Math.sqrt(D));
      x = tf.add(x, tf.tile(tf.reshape(this.param('pos_emb'), [1, L, D]), [B, 1, 1]));
      x = tf.mul(dropout(x, cfg.dropout, seedOf(0)), maskD);
      // Query i may attend key j when j ≤ i and j is not padding, and always itself (so a padding
      // query is never fully masked and every position stays strictly causal).
      const causal = tf.linalg.bandPart(tf.ones([L, L]), -1, 0);
      const allowed = tf.maximum(tf.mul(causal, tf.reshape(mask, [B, 1, 1, L])), tf.eye(L));
      const maskBias = tf.tile(tf.mul(tf.sub(1, allowed), MASKED), [1, numHeads, 1, 1]);
      const ln = (t: tf.Tensor, name: string) =>
        layerNorm(t, this.param(`${name}.gamma`), this.param(`${name}.beta`), cfg.layerNormEps);
      for (let b = 0; b < cfg.numBlocks; b++) {
        const p = `blocks.${b}.`;
        const attnW = {
          wq: this.param(`${p}attn.wq`),
          bq: this.param(`${p}attn.bq`),
          wk: this.param(`${p}attn.wk`),
          bk: this.param(`${p}attn.bk`),
          wv: this.param(`${p}attn.wv`),
          bv: this.param(`${p}attn.bv`),
          wo: this.param(`${p}attn.wo`),
          bo: this.param(`${p}attn.bo`),
        };
        const ffnW = {
          w1: this.param(`${p}ffn.w1`),
          b1: this.param(`${p}ffn.b1`),
          w2: this.param(`${p}ffn.w2`),
          b2: this.param(`${p}ffn.b2`),
        };
        const site = 1 + 4 * b;
        const attn = (t: tf.Tensor) =>
          dropout(
            multiHeadAttention(t, attnW, maskBias, numHeads, cfg.attentionDropout, seedOf(site)),
            cfg.dropout,
            seedOf(site + 1),
          );
        const ffn = (t: tf.Tensor) =>
          dropout(
            feedForward(t, ffnW, cfg.activation, cfg.dropout, seedOf(site + 2)),
            cfg.dropout,
            seedOf(site + 3),
          );
        if (cfg.norm === 'pre') {
          x = tf.add(x, attn(ln(x, `${p}ln1`)));
          x = tf.add(x, ffn(ln(x, `${p}ln2`)));
        } else {
          x = ln(tf.add(x, attn(x)), `${p}ln1`);
          x = ln(tf.add(x, ffn(x)), `${p}ln2`);
        }
      }
      // Padding rows never reach a valid row (keys are masked, a padding query attends only
      // itself), so they are zeroed once here rather than after every block.
      if (cfg.norm === 'pre') x = ln(x, 'final_ln');
      return tf.mul(x, maskD) as tf.Tensor3D;
    });
  }

  /** Hidden state [B, D] at the last position of inputs [B, L] (what scoring ranks items with). */
  lastHidden(inputs: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.forward(inputs);
      const [B, L, D] = h.shape;
      return tf.reshape(tf.slice(h, [0, L - 1, 0], [B, 1, D]), [B, D]) as tf.Tensor2D;
    });
  }

  /** Number of scalar parameters. */
  get numParameters(): number {
    return this.parameters.reduce((s, p) => s + p.variable.size, 0);
  }

  /** Frees every variable. */
  dispose(): void {
    for (const p of this.parameters) p.variable.dispose();
  }
}

/** Checks that every id of `ids` lies in [0, numItems] (numItems is padding); throws naming `name`. */
export function checkInputIds(ids: Int32Array, numItems: number, name = 'inputs'): void {
  const i = firstOutside(ids, 0, numItems);
  if (i >= 0) {
    throw new RangeError(
      `${name}[${i}] = ${ids[i]} is outside [0, ${numItems}] (items 0…${numItems - 1}, padding ${numItems})`,
    );
  }
}
