/**
 * Bytes and FLOPs each loss implementation must move for one forward+backward pass: the numbers
 * the roofline divides by the device's copy bandwidth and matmul rate. They count compulsory
 * traffic to device memory under the stated algorithm (no help from caches beyond one tile), so
 * the fraction of the roofline a kernel reaches is a lower bound on how well it uses the device.
 */
import type { LossShape } from './shapes.js';

/** The loss implementations `cutrec-bench loss` measures. */
export const BENCH_IMPLS = ['tfjs-naive-ce', 'tfjs-naive-sampled', 'tfjs', 'wgsl', 'cuda'] as const;
export type BenchImpl = (typeof BENCH_IMPLS)[number];

/** Which rows share negatives; 'all' is full-catalog cross-entropy (no negatives drawn). */
export const BENCH_SHARES = ['row', 'block', 'batch', 'all'] as const;
export type BenchShare = (typeof BENCH_SHARES)[number];

/** Options of {@link lossWork}. */
export interface WorkOptions {
  /** Rows per block for share 'block'. Default 64. */
  blockRows?: number;
  /** Bytes per element of `hidden` and `items` (4 for float32, 2 for bfloat16/float16). Default 4. */
  elementBytes?: number;
}

/** What one forward+backward pass must compute and move. */
export interface LossWork {
  /** Floating-point operations (a multiply-add counts 2). */
  flops: number;
  /** Bytes read from and written to device memory. */
  bytes: number;
  /** Item-table rows gathered per pass (R in the formulas). */
  gatheredRows: number;
  /** Logits per pass (P in the formulas). */
  logits: number;
}

/**
 * R, the item rows one pass reads for the negatives: N·K for 'row', ⌈N/B⌉·K for 'block', K for
 * 'batch', C for 'all'.
 */
export function gatheredRows(shape: LossShape, share: BenchShare, blockRows = 64): number {
  const { N, C, K } = shape;
  switch (share) {
    case 'row':
      return N * K;
    case 'block':
      return Math.ceil(N / blockRows) * K;
    case 'batch':
      return K;
    case 'all':
      return C;
  }
}

/**
 * Bytes and FLOPs of one forward+backward pass of `impl` with `share` at `shape` (see the README
 * for the derivation). With e the input element size, f = 4 (float32 gradients), R gathered rows,
 * P logits (N·K, or N·C for 'all'), and c = K + 1 columns per row (C for 'all'):
 *
 * - fused (`wgsl`, `cuda`): FLOPs 8·N·c·D (forward 2, backward recompute 2, dH 2, dW 2);
 *   bytes e·D·(4N + 2R) + f·D·(3N + C + 2R) + 20·N.
 * - `tfjs` (chunked ops): FLOPs 8·N·c·D; bytes 4·(6·R·D + 7·P + 9·N·D + 2·C·D).
 * - `tfjs-naive-sampled`: FLOPs 6·N·c·D; bytes 4·(5·R·D + 6·P + 8·N·D + 2·C·D).
 * - `tfjs-naive-ce`: FLOPs 6·N·C·D; bytes 4·(8·N·C + 3·C·D + 3·N·D).
 */
export function lossWork(
  impl: BenchImpl,
  share: BenchShare,
  shape: LossShape,
  options: WorkOptions = {},
): LossWork {
  const { N, C, D, K } = shape;
  const e = options.elementBytes ?? 4;
  const f = 4;
  if (impl === 'tfjs-naive-ce') {
    return {
      flops: 6 * N * C * D,
      bytes: 4 * (8 * N * C + 3 * C * D + 3 * N * D),
      gatheredRows: C,
      logits: N * C,
    };
  }
  const R = gatheredRows(shape, share, options.blockRows ?? 64);
  const P = share === 'all' ? N * C : N * K;
  const cols = share === 'all' ? C : K + 1;
  switch (impl) {
    case 'wgsl':
    case 'cuda':
      return {
        flops: 8 * N * cols * D,
        bytes: e * D * (4 * N + 2 * R) + f * D * (3 * N + C + 2 * R) + 20 * N,
        gatheredRows: R,
        logits: P,
      };
    case 'tfjs':
      return {
        flops: 8 * N * cols * D,
        bytes: 4 * (6 * R * D + 7 * P + 9 * N * D + 2 * C * D),
        gatheredRows: R,
        logits: P,
      };
    case 'tfjs-naive-sampled':
      return {
        flops: 6 * N * cols * D,
        bytes: 4 * (5 * R * D + 6 * P + 8 * N * D + 2 * C * D),
        gatheredRows: R,
        logits: P,
      };
  }
}

/** What a naive tfjs implementation will hold at its peak, predicted before running it. */
export interface MemoryPrediction {
  /** Predicted peak extra bytes of forward+backward (gradient outputs included). */
  peakBytes: number;
  /** The largest single tensor it makes (must fit one storage binding on WebGPU). */
  largestTensorBytes: number;
  /** What that tensor is. */
  largestTensor: string;
}

/**
 * Predicted peak extra memory of one forward+backward pass (float32):
 *
 * - `tfjs-naive-ce`: the [N, C] logits, one-hot labels, softmax and its gradient alive together,
 *   5·4·N·C, plus the gradients 4·(N + C)·D.
 * - `tfjs-naive-sampled`: the gathered [R, D] negatives (R = N·K, ⌈N/B⌉·K or K) and their
 *   gradient, 2·4·R·D, six [N, K+1] float arrays 6·4·N·(K+1), the positives 4·N·D and the
 *   gradients 4·(N + C)·D.
 * - fused and chunked implementations: the gradients 4·(N + C)·D and a bounded working set
 *   (64 MiB for `tfjs`, a few bytes per row for `wgsl`/`cuda`).
 */
export function predictMemory(
  impl: BenchImpl,
  share: BenchShare,
  shape: LossShape,
  blockRows = 64,
): MemoryPrediction {
  const { N, C, D, K } = shape;
  const grads = 4 * (N + C) * D;
  const table = { bytes: 4 * C * D, what: `items [${C}, ${D}]` };
  const largest = (...xs: { bytes: number; what: string }[]) =>
    xs.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  switch (impl) {
    case 'tfjs-naive-ce': {
      const l = largest(table, { bytes: 4 * N * C, what: `logits [${N}, ${C}]` });
      return { peakBytes: 5 * 4 * N * C + grads, largestTensorBytes: l.bytes, largestTensor: l.what };
    }
    case 'tfjs-naive-sampled': {
      const R = gatheredRows(shape, share, blockRows);
      const l = largest(
        table,
        { bytes: 4 * R * D, what: `gathered negatives [${R}, ${D}]` },
        { bytes: 4 * N * (K + 1), what: `logits [${N}, ${K + 1}]` },
      );
      return {
        peakBytes: 2 * 4 * R * D + 6 * 4 * N * (K + 1) + 4 * N * D + grads,
        largestTensorBytes: l.bytes,
        largestTensor: l.what,
      };
    }
    case 'tfjs':
      return { peakBytes: grads + 64 * 2 ** 20, largestTensorBytes: table.bytes, largestTensor: table.what };
    case 'wgsl':
    case 'cuda':
      return { peakBytes: grads + 16 * N, largestTensorBytes: table.bytes, largestTensor: table.what };
  }
}
