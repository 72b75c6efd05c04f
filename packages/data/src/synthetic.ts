/**
 * A synthetic dataset with planted sequential structure. Users belong to latent groups; each group
 * has its own sparse Markov chain over items: from item i the next item is one of `successors`
 * group-specific items (weights ∝ 2^-m for the m-th) with probability 1 − noise, else a draw from a
 * Zipf-skewed "background" popularity. First items come from the background. A sequence model can
 * learn the chains (and infer the group from the history); a popularity ranking cannot.
 *
 * Because the generating process is known, the Bayes-optimal next-item distribution given a
 * history is exact: the group posterior (uniform prior × chain likelihoods) mixes the groups'
 * transition rows at the last item. Ranking by it gives the best achievable NDCG in expectation;
 * `oracle` ranks with the true group known instead (an upper bound nobody can reach from data).
 */
import { type Dataset, datasetFromSequences } from './dataset.js';
import { RankingMetrics } from './metrics.js';
import { evaluatePopularity } from './popularity.js';
import { checkSeed, Rng } from './random.js';
import { rankOfTarget, topK } from './ranking.js';
import { type Example, leaveOneOut, type Split } from './split.js';

/**
 * Options of `syntheticDataset`; every field has a default. The defaults (one chain over 200 items,
 * 2 successors, noise 0.05) are CPU-friendly: SASRec with CCE- reaches over 90% of the planted best
 * NDCG@10 in one epoch on a CPU; raise `numGroups` to make the whole history matter.
 */
export interface SyntheticOptions {
  /** Users (default 2000). */
  numUsers?: number;
  /** Catalog size (default 200). */
  numItems?: number;
  /** Latent groups, each with its own transition chain (default 1). */
  numGroups?: number;
  /** Shortest sequence, ≥ 3 so that every user has a test and a validation item (default 10). */
  minLength?: number;
  /** Longest sequence (default 20); lengths are uniform in [minLength, maxLength]. */
  maxLength?: number;
  /** Successors per item per group (default 2). */
  successors?: number;
  /** Probability that a step ignores the chain and draws from the background (default 0.05). */
  noise?: number;
  /** Zipf exponent of the background popularity (default 1). */
  popularitySkew?: number;
  /** Seed, integer in [0, 2^53) (default 0). */
  seed?: number;
}

/** Default sizes of the synthetic dataset (what `cutrec train` uses without a dataset). */
export const SYNTHETIC_DEFAULTS: Required<SyntheticOptions> = {
  numUsers: 2000,
  numItems: 200,
  numGroups: 1,
  minLength: 10,
  maxLength: 20,
  successors: 2,
  noise: 0.05,
  popularitySkew: 1,
  seed: 0,
};

/** Headline numbers on the leave-one-out test targets at k = 10, seen items not removed. */
export interface SyntheticReference {
  /** NDCG@10 of the Bayes-optimal ranking (group posterior from the history), on the test targets. */
  ndcg10: number;
  /** HR@10 of the same ranking. */
  hr10: number;
  /** Its expected NDCG@10 over the true next-item distribution (no sampling noise of the targets). */
  expectedNdcg10: number;
}

/** A generated dataset with its planted truth and reference results. */
export interface SyntheticData {
  dataset: Dataset;
  options: Required<SyntheticOptions>;
  /** Each user's true group. */
  groups: Int32Array;
  /** Leave-one-out split of `dataset` (what the reference numbers use). */
  split: Split;
  /** Bayes-optimal ranking (posterior over groups): the best a model can do from the history. */
  best: SyntheticReference;
  /** Ranking with the true group known: an upper bound above `best`. */
  oracle: SyntheticReference;
  /** The popularity baseline (from the training sequences) on the same targets. */
  popularity: { ndcg10: number; hr10: number };
  /** Background popularity of each item (sums to 1). */
  background: Float64Array;
  /** successors[(g * numItems + i) * S + m]: group g's m-th successor of item i. */
  successorTable: Int32Array;
  /** The true next-item distribution after `history` (non-empty): group posterior, or `group` if given. */
  nextItemDistribution(history: ArrayLike<number>, group?: number): Float64Array;
  /** The posterior over groups given a history (uniform prior). */
  groupPosterior(history: ArrayLike<number>): Float64Array;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
}

/** Generates a synthetic dataset from `options` (same options and seed → same data, everywhere). */
export function syntheticDataset(options: SyntheticOptions = {}): SyntheticData {
  const o: Required<SyntheticOptions> = { ...SYNTHETIC_DEFAULTS, ...options };
  checkInt('numUsers', o.numUsers, 1);
  checkInt('numGroups', o.numGroups, 1);
  checkInt('successors', o.successors, 1);
  checkInt('minLength', o.minLength, 1);
  checkInt('maxLength', o.maxLength, o.minLength);
  checkInt('numItems', o.numItems, o.successors + 1);
  if (!(o.noise >= 0 && o.noise <= 1)) throw new RangeError(`noise must be in [0, 1], got ${o.noise}`);
  if (!(o.popularitySkew >= 0 && Number.isFinite(o.popularitySkew))) {
    throw new RangeError(`popularitySkew must be a finite number ≥ 0, got ${o.popularitySkew}`);
  }
  checkSeed(o.seed);
  const C = o.numItems;
  const G = o.numGroups;
  const S = o.successors;
  const structure = new Rng(o.seed, 1);

  // Background popularity: Zipf over a random order of the items.
  const perm = structure.shuffle(Int32Array.from({ length: C }, (_, i) => i));
  const background = new Float64Array(C);
  let z = 0;
  for (let r = 0; r < C; r++) {
    const w = 1 / (r + 1) ** o.popularitySkew;
    background[perm[r]!] = w;
    z += w;
  }
  for (let i = 0; i < C; i++) background[i]! /= z;
  const bgCdf = new Float64Array(C);
  let acc = 0;
  for (let i = 0; i < C; i++) {
    acc += background[i]!;
    bgCdf[i] = acc;
  }
  const drawBackground = (rng: Rng): number => {
    const x = rng.float() * acc;
    let lo = 0;
    let hi = C - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bgCdf[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  // Successor weights ∝ 2^-m, and each group's successor lists (distinct, never the item itself).
  const weights = Float64Array.from({ length: S }, (_, m) => 2 ** -m);
  const wsum = weights.reduce((a, b) => a + b, 0);
  for (let m = 0; m < S; m++) weights[m]! /= wsum;
  const successorTable = new Int32Array(G * C * S);
  for (let g = 0; g < G; g++) {
    for (let i = 0; i < C; i++) {
      const base = (g * C + i) * S;
      for (let m = 0; m < S; m++) {
        let j: number;
        do {
          j = structure.int(C);
        } while (j === i || successorTable.subarray(base, base + m).includes(j));
        successorTable[base + m] = j;
      }
    }
  }

  /** P_g(next = j | last = i). */
  const transition = (g: number, i: number, j: number): number => {
    let p = o.noise * background[j]!;
    const base = (g * C + i) * S;
    for (let m = 0; m < S; m++) if (successorTable[base + m] === j) p += (1 - o.noise) * weights[m]!;
    return p;
  };

  // Users.
  const users = new Rng(o.seed, 2);
  const groups = new Int32Array(o.numUsers);
  const sequences: Int32Array[] = [];
  const timestamps: Float64Array[] = [];
  for (let u = 0; u < o.numUsers; u++) {
    const g = users.int(G);
    groups[u] = g;
    const n = o.minLength + users.int(o.maxLength - o.minLength + 1);
    const s = new Int32Array(n);
    const ts = new Float64Array(n);
    let t = users.int(1_000_000);
    s[0] = drawBackground(users);
    ts[0] = t;
    for (let k = 1; k < n; k++) {
      if (users.float() < o.noise) s[k] = drawBackground(users);
      else {
        const x = users.float();
        let m = 0;
        let c = weights[0]!;
        while (x >= c && m < S - 1) c += weights[++m]!;
        s[k] = successorTable[(g * C + s[k - 1]!) * S + m]!;
      }
      t += 1 + users.int(1000);
      ts[k] = t;
    }
    sequences.push(s);
    timestamps.push(ts);
  }
  const dataset = datasetFromSequences(sequences, { numItems: C, timestamps });

  const groupPosterior = (history: ArrayLike<number>): Float64Array => {
    const logp = new Float64Array(G);
    for (let g = 0; g < G; g++) {
      for (let t = 1; t < history.length; t++)
        logp[g]! += Math.log(transition(g, history[t - 1]!, history[t]!));
    }
    const mx = Math.max(...logp);
    let sum = 0;
    for (let g = 0; g < G; g++) {
      logp[g] = Math.exp(logp[g]! - mx);
      sum += logp[g]!;
    }
    for (let g = 0; g < G; g++) logp[g]! /= sum;
    return logp;
  };
  const nextItemDistribution = (history: ArrayLike<number>, group?: number): Float64Array => {
    if (history.length === 0) return background.slice();
    const post =
      group === undefined
        ? groupPosterior(history)
        : Float64Array.from({ length: G }, (_, g) => (g === group ? 1 : 0));
    const last = history[history.length - 1]!;
    const p = new Float64Array(C);
    for (let j = 0; j < C; j++) p[j] = o.noise * background[j]!;
    for (let g = 0; g < G; g++) {
      if (post[g] === 0) continue;
      const base = (g * C + last) * S;
      for (let m = 0; m < S; m++) p[successorTable[base + m]!]! += post[g]! * (1 - o.noise) * weights[m]!;
    }
    return p;
  };

  const split = leaveOneOut(dataset);
  const reference = (known: boolean): SyntheticReference => {
    const m = new RankingMetrics({ ks: [10], numItems: C });
    let expected = 0;
    for (const ex of split.test) {
      const p = nextItemDistribution(ex.history, known ? groups[ex.user] : undefined);
      m.addRank(rankOfTarget(p, ex.target));
      const top = topK(p, 10);
      for (let r = 0; r < top.length; r++) expected += p[top[r]!]! / Math.log2(r + 2);
    }
    const res = m.result();
    return {
      ndcg10: res['ndcg@10']!,
      hr10: res['hr@10']!,
      expectedNdcg10: split.test.length ? expected / split.test.length : 0,
    };
  };
  const pop = evaluatePopularity(split.train, split.test, { ks: [10], numItems: C });
  return {
    dataset,
    options: o,
    groups,
    split,
    best: reference(false),
    oracle: reference(true),
    popularity: { ndcg10: pop['ndcg@10']!, hr10: pop['hr@10']! },
    background,
    successorTable,
    nextItemDistribution,
    groupPosterior,
  };
}

/**
 * Metrics of the Bayes-optimal ranking (or, with `knownGroup`, the true group's) on any examples
 * of a synthetic dataset, at any k, seen items removed or not — to compare with a model evaluated
 * the same way.
 */
export function plantedMetrics(
  synth: SyntheticData,
  examples: readonly Example[],
  options: { ks: readonly number[]; removeSeen?: boolean; knownGroup?: boolean },
): Record<string, number> {
  const m = new RankingMetrics({ ks: options.ks, numItems: synth.options.numItems });
  for (const ex of examples) {
    const p = synth.nextItemDistribution(ex.history, options.knownGroup ? synth.groups[ex.user] : undefined);
    m.addRank(rankOfTarget(p, ex.target, options.removeSeen ? ex.history : undefined));
  }
  return m.result();
}
