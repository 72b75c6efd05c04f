/** SASRec's configuration: sizes, regularisation, normalisation placement and the init seed. */

/** What a SASRec model is built from; every field but `numItems` and `maxLen` has a default. */
export interface SASRecConfig {
  /** Catalog size C: items are 0 … C−1; id C is padding. */
  numItems: number;
  /** Sequence length L the model reads (inputs are left-padded to it). */
  maxLen: number;
  /** Hidden size D. Default 64. */
  hidden?: number;
  /** Transformer blocks. Default 2. */
  numBlocks?: number;
  /** Attention heads (must divide `hidden`). Default 2. */
  numHeads?: number;
  /** Inner size of the point-wise feed-forward. Default `hidden`. */
  ffnHidden?: number;
  /** Feed-forward activation. Default 'relu'. */
  activation?: 'relu' | 'gelu';
  /** Dropout on embeddings, attention outputs and feed-forward. Default 0.2. */
  dropout?: number;
  /** Dropout on attention weights. Default `dropout`. */
  attentionDropout?: number;
  /** Layer norm before each sub-layer with a final norm ('pre', default), or after each residual ('post'). */
  norm?: 'pre' | 'post';
  /** Layer-norm epsilon. Default 1e-6. */
  layerNormEps?: number;
  /** Integer seed in [0, 2^53) for initialisation and dropout. Default 0. */
  seed?: number;
}

/** A config with every default filled in. */
export type ResolvedSASRecConfig = Required<SASRecConfig>;

function checkInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`SASRec config.${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
}

function checkRate(name: string, v: number): void {
  if (!(v >= 0 && v < 1)) throw new RangeError(`SASRec config.${name} must be in [0, 1), got ${v}`);
}

/** Fills in defaults and checks every field; throws naming the field and its limit. */
export function resolveConfig(config: SASRecConfig): ResolvedSASRecConfig {
  const hidden = config.hidden ?? 64;
  const dropout = config.dropout ?? 0.2;
  const r: ResolvedSASRecConfig = {
    numItems: config.numItems,
    maxLen: config.maxLen,
    hidden,
    numBlocks: config.numBlocks ?? 2,
    numHeads: config.numHeads ?? 2,
    ffnHidden: config.ffnHidden ?? hidden,
    activation: config.activation ?? 'relu',
    dropout,
    attentionDropout: config.attentionDropout ?? dropout,
    norm: config.norm ?? 'pre',
    layerNormEps: config.layerNormEps ?? 1e-6,
    seed: config.seed ?? 0,
  };
  // The padding id C must be a valid int32 and the table [C+1, D] addressable.
  checkInt('numItems', r.numItems, 1, 2 ** 31 - 2);
  checkInt('maxLen', r.maxLen, 1, 1 << 20);
  checkInt('hidden', r.hidden, 1, 1 << 16);
  checkInt('numBlocks', r.numBlocks, 0, 1024);
  checkInt('numHeads', r.numHeads, 1, r.hidden);
  if (r.hidden % r.numHeads !== 0) {
    throw new RangeError(`SASRec config.numHeads (${r.numHeads}) must divide config.hidden (${r.hidden})`);
  }
  checkInt('ffnHidden', r.ffnHidden, 1, 1 << 20);
  if (r.activation !== 'relu' && r.activation !== 'gelu') {
    throw new RangeError(
      `SASRec config.activation must be 'relu' or 'gelu', got ${JSON.stringify(r.activation)}`,
    );
  }
  checkRate('dropout', r.dropout);
  checkRate('attentionDropout', r.attentionDropout);
  if (r.norm !== 'pre' && r.norm !== 'post') {
    throw new RangeError(`SASRec config.norm must be 'pre' or 'post', got ${JSON.stringify(r.norm)}`);
  }
  if (!(r.layerNormEps > 0))
    throw new RangeError(`SASRec config.layerNormEps must be > 0, got ${r.layerNormEps}`);
  checkInt('seed', r.seed, 0);
  return r;
}
