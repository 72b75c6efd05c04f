/**
 * Ranking metrics over full-catalog rankings, at any cutoff k.
 *
 * Single target (leave-one-out, temporal split), with r the target's 0-based rank:
 *   HR@k = Recall@k = [r < k]          NDCG@k = [r < k] / log2(r + 2)
 *   MRR@k = MAP@k = [r < k] / (r + 1)  Precision@k = [r < k] / k
 * Over top-k lists of many users:
 *   Coverage@k  = |∪ top-k lists| / numItems
 *   Surprisal@k = mean over recommended items of −log2(p_i), p_i = (users with i in training) /
 *                 (users with any training item), an unseen item counted as seen by one user;
 *                 normalized (default) divides by log2(numUsers), giving [0, 1].
 * The list forms (`ndcgOfList`, ...) take any number of relevant items (IDCG over min(|rel|, k)).
 */

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer ≥ 1, got ${k}`);
}

/** Hit rate (= Recall for one target) at k of a 0-based rank: 1 if rank < k else 0. */
export function hitAt(rank: number, k: number): number {
  return rank < k ? 1 : 0;
}
/** NDCG at k of a single target at 0-based `rank`: 1/log2(rank+2) if rank < k else 0. */
export function ndcgAt(rank: number, k: number): number {
  return rank < k ? 1 / Math.log2(rank + 2) : 0;
}
/** Reciprocal rank at k (= average precision for one target): 1/(rank+1) if rank < k else 0. */
export function mrrAt(rank: number, k: number): number {
  return rank < k ? 1 / (rank + 1) : 0;
}
/** Precision at k of a single target: 1/k if rank < k else 0. */
export function precisionAt(rank: number, k: number): number {
  return rank < k ? 1 / k : 0;
}

/** NDCG@k of a ranked list against a set of relevant items (binary gains). */
export function ndcgOfList(list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  checkK(k);
  let dcg = 0;
  for (let i = 0; i < Math.min(k, list.length); i++) if (relevant.has(list[i]!)) dcg += 1 / Math.log2(i + 2);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) idcg += 1 / Math.log2(i + 2);
  return idcg === 0 ? 0 : dcg / idcg;
}
/** Recall@k of a ranked list: relevant items in the first k over all relevant items. */
export function recallOfList(list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  checkK(k);
  if (relevant.size === 0) return 0;
  let hits = 0;
  for (let i = 0; i < Math.min(k, list.length); i++) if (relevant.has(list[i]!)) hits++;
  return hits / relevant.size;
}
/** Precision@k of a ranked list: relevant items in the first k over k. */
export function precisionOfList(list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  checkK(k);
  let hits = 0;
  for (let i = 0; i < Math.min(k, list.length); i++) if (relevant.has(list[i]!)) hits++;
  return hits / k;
}
/** Reciprocal rank@k of a ranked list: 1/(position+1) of the first relevant item in the first k. */
export function rrOfList(list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  checkK(k);
  for (let i = 0; i < Math.min(k, list.length); i++) if (relevant.has(list[i]!)) return 1 / (i + 1);
  return 0;
}
/** Average precision@k: Σ over relevant positions i < k of Precision@(i+1), over min(|relevant|, k). */
export function apOfList(list: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  checkK(k);
  if (relevant.size === 0) return 0;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < Math.min(k, list.length); i++) {
    if (relevant.has(list[i]!)) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  return sum / Math.min(relevant.size, k);
}

/** Per-item popularity for Surprisal: distinct training users per item, and the user count. */
export interface ItemPopularity {
  /** counts[i] = number of users whose training sequence contains item i. */
  counts: Int32Array;
  /** Users with at least one training item. */
  numUsers: number;
}

/** Item popularity (distinct users per item) of training sequences over a catalog of numItems. */
export function itemPopularity(train: readonly ArrayLike<number>[], numItems: number): ItemPopularity {
  const counts = new Int32Array(numItems);
  const last = new Int32Array(numItems).fill(-1);
  let numUsers = 0;
  for (let u = 0; u < train.length; u++) {
    const s = train[u]!;
    if (s.length > 0) numUsers++;
    for (let t = 0; t < s.length; t++) {
      const i = s[t]!;
      if (i < 0 || i >= numItems)
        throw new RangeError(`train[${u}][${t}] = ${i} is outside [0, ${numItems})`);
      if (last[i] !== u) {
        last[i] = u;
        counts[i]!++;
      }
    }
  }
  return { counts, numUsers };
}

/** Self-information −log2(p_i) of item i (p_i as in the module doc), divided by log2(numUsers) when normalized. */
export function selfInformation(pop: ItemPopularity, item: number, normalized = true): number {
  const n = Math.max(pop.numUsers, 1);
  const c = Math.min(Math.max(pop.counts[item] ?? 0, 1), n);
  const bits = Math.log2(n / c);
  if (!normalized) return bits;
  return n > 1 ? bits / Math.log2(n) : 0;
}

/** Coverage@k: the fraction of the numItems catalog that appears in any list's first k items. */
export function coverageAt(lists: Iterable<ArrayLike<number>>, k: number, numItems: number): number {
  checkK(k);
  const seen = new Uint8Array(numItems);
  let n = 0;
  for (const l of lists) {
    for (let i = 0; i < Math.min(k, l.length); i++) {
      const c = l[i]!;
      if (!seen[c]) {
        seen[c] = 1;
        n++;
      }
    }
  }
  return numItems === 0 ? 0 : n / numItems;
}

/** Surprisal@k: mean self-information of the items in the lists' first k (0 when there are none). */
export function surprisalAt(
  lists: Iterable<ArrayLike<number>>,
  k: number,
  pop: ItemPopularity,
  normalized = true,
): number {
  checkK(k);
  let sum = 0;
  let n = 0;
  for (const l of lists) {
    for (let i = 0; i < Math.min(k, l.length); i++) {
      sum += selfInformation(pop, l[i]!, normalized);
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/** Options of `RankingMetrics`. */
export interface RankingMetricsOptions {
  /** Cutoffs, e.g. [1, 5, 10, 20, 100]. */
  ks: readonly number[];
  /** Catalog size (needed for Coverage). */
  numItems: number;
  /** Item popularity for Surprisal (omit to leave Surprisal out). */
  popularity?: ItemPopularity;
  /** Normalize Surprisal to [0, 1] (default true). */
  normalizeSurprisal?: boolean;
}

/** Metric names `RankingMetrics.result()` reports, each as `${name}@${k}`. */
export const METRIC_NAMES = [
  'ndcg',
  'hr',
  'recall',
  'mrr',
  'map',
  'precision',
  'coverage',
  'surprisal',
] as const;

/** The rank metrics of {@link RankingMetrics}, in its sums' order. */
const RANK_NAMES = ['ndcg', 'hr', 'recall', 'mrr', 'map', 'precision'] as const;

/**
 * Streams single-target results (ranks, or top-k lists with their targets) and reports the mean
 * of every metric at every k: `{ 'ndcg@10': ..., 'hr@10': ..., 'coverage@10': ..., ... }`.
 * Coverage and Surprisal use only what `addTopK` added; `count` is the number of examples.
 */
export class RankingMetrics {
  readonly ks: readonly number[];
  private readonly numItems: number;
  private readonly popularity: ItemPopularity | undefined;
  private readonly normalized: boolean;
  /** Σ over examples of each rank metric: [k index · RANK_NAMES.length + metric] (no string keys per example). */
  private readonly sums: Float64Array;
  private readonly covered: Uint8Array[];
  private readonly coveredCount: number[];
  private readonly surprisalSum: number[];
  private readonly surprisalN: number[];
  private lists = 0;
  count = 0;

  constructor(options: RankingMetricsOptions) {
    if (options.ks.length === 0) throw new RangeError('ks must list at least one cutoff');
    for (const k of options.ks) checkK(k);
    this.ks = [...options.ks];
    this.numItems = options.numItems;
    this.popularity = options.popularity;
    this.normalized = options.normalizeSurprisal ?? true;
    this.covered = this.ks.map(() => new Uint8Array(options.numItems));
    this.coveredCount = this.ks.map(() => 0);
    this.surprisalSum = this.ks.map(() => 0);
    this.surprisalN = this.ks.map(() => 0);
    this.sums = new Float64Array(this.ks.length * RANK_NAMES.length);
  }

  /** Adds one example by its target's 0-based rank (e.g. from `rankOfTarget`). */
  addRank(rank: number): void {
    if (!(rank >= 0)) throw new RangeError(`rank must be ≥ 0, got ${rank}`);
    this.count++;
    const s = this.sums;
    for (let j = 0; j < this.ks.length; j++) {
      const k = this.ks[j]!;
      const hit = hitAt(rank, k);
      const mrr = mrrAt(rank, k);
      const o = j * RANK_NAMES.length; // RANK_NAMES order
      s[o]! += ndcgAt(rank, k);
      s[o + 1]! += hit;
      s[o + 2]! += hit;
      s[o + 3]! += mrr;
      s[o + 4]! += mrr;
      s[o + 5]! += precisionAt(rank, k);
    }
  }

  /**
   * Adds one example by its top-k list (at least max(ks) items unless the catalog is smaller) and
   * its target: the rank is the target's position in the list, or "beyond the list" when absent.
   */
  addTopK(list: ArrayLike<number>, target: number): void {
    let pos = -1;
    for (let i = 0; i < list.length; i++) {
      if (list[i] === target) {
        pos = i;
        break;
      }
    }
    this.addRank(pos >= 0 ? pos : Math.max(list.length, ...this.ks));
    this.lists++;
    this.ks.forEach((k, j) => {
      const cov = this.covered[j]!;
      for (let i = 0; i < Math.min(k, list.length); i++) {
        const c = list[i]!;
        if (c < 0 || c >= this.numItems)
          throw new RangeError(`top-k list item ${c} is outside [0, ${this.numItems})`);
        if (!cov[c]) {
          cov[c] = 1;
          this.coveredCount[j]!++;
        }
        if (this.popularity) {
          this.surprisalSum[j]! += selfInformation(this.popularity, c, this.normalized);
          this.surprisalN[j]!++;
        }
      }
    });
  }

  /** Mean of each metric over the examples added, keyed `${metric}@${k}` (0 when none were added). */
  result(): Record<string, number> {
    const out: Record<string, number> = {};
    this.ks.forEach((k, j) => {
      RANK_NAMES.forEach((m, i) => {
        out[`${m}@${k}`] = this.count === 0 ? 0 : this.sums[j * RANK_NAMES.length + i]! / this.count;
      });
    });
    if (this.lists > 0) {
      this.ks.forEach((k, j) => {
        out[`coverage@${k}`] = this.numItems === 0 ? 0 : this.coveredCount[j]! / this.numItems;
        if (this.popularity)
          out[`surprisal@${k}`] = this.surprisalN[j] === 0 ? 0 : this.surprisalSum[j]! / this.surprisalN[j]!;
      });
    }
    return out;
  }
}
