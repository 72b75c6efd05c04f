/**
 * The shapes table of a fused step and the activations it keeps for the backward pass, allocated
 * once when the engine is built (llm.c's ActivationTensors). Sizes are in elements.
 */
import { attentionKeepWords } from '@cutrec/kernels';
import type { ResolvedSASRecConfig } from '../config.js';
import type { BufferKind, EngineOps } from './ops.js';

/** Every size a step uses, from the model config and the batch size. */
export interface StepShapes {
  /** Sequences per batch, length, hidden, heads, head size, feed-forward size. */
  B: number;
  L: number;
  D: number;
  H: number;
  dh: number;
  F: number;
  /** Rows B·L; catalog C (padding id = C); table rows V = C + 1. */
  R: number;
  C: number;
  V: number;
  numBlocks: number;
}

/** The shapes of a step of `config` at batch size `B`. */
export function stepShapes(config: ResolvedSASRecConfig, B: number): StepShapes {
  const { maxLen: L, hidden: D, numHeads: H, ffnHidden: F, numItems: C, numBlocks } = config;
  return { B, L, D, H, dh: D / H, F, R: B * L, C, V: C + 1, numBlocks };
}

/**
 * One block's activations. The backward keeps only what it cannot recompute without a GEMM: q, k,
 * v, ctx and lse (attention), the sums of the residual stream (pre-norm inp and mid, post-norm mid
 * and sum2) and the layer-norm statistics. Everything else lives in the four scratch buffers of
 * {@link bufferSpecs} and is written again by the backward where it needs it (the embeddings, the
 * layer norms, the activation, W1's GEMM).
 */
export interface BlockActivations<B> {
  /** Pre-norm, blocks after the first: the block input (the previous block's output, summed by LN1). */
  inp: B;
  /** Pre-norm: LN1 of the block input (work1; the backward writes it there again). */
  ln1: B;
  mean1: B;
  rstd1: B;
  q: B;
  k: B;
  v: B;
  ctx: B;
  lse: B;
  /** Attention output projection, before dropout (qkvGrad's first R·D). */
  a: B;
  /** Pre-norm: inp + drop(a) (summed by LN2). Post-norm: the same sum, LN1's input. */
  mid: B;
  /** Pre-norm: LN2(mid). Post-norm: LN1(mid), the residual stream. The feed-forward's input (work1). */
  ln2: B;
  mean2: B;
  rstd2: B;
  /**
   * Feed-forward pre-activation [R, F] (kept when F > 3·D, else over qkvGrad and recomputed),
   * activation after dropout [R, F] (`dF`), output projection [R, D] (pre-norm work2, post-norm
   * qkvGrad's first R·D).
   */
  pre: B;
  f: B;
  g: B;
  /**
   * Post-norm: ln2 + drop(g) (LN2's input) and LN2 of it (the block output, work2: the backward
   * writes it there again from sum2 before the next block's q, k, v backward).
   */
  sum2: B;
  out: B;
}

/**
 * Everything a step keeps: the batch, activations, loss terms and backward scratch. The scratch
 * (qkvGrad, work1, work2, dRes) holds one tensor after another; in each op call the buffers it
 * reads are not the ones it writes (except in place: the same view), as WebGPU requires.
 */
export interface StepBuffers<B> {
  ids: B;
  targets: B;
  /** The embeddings [R, D] (work2: the backward writes them there again before block 0's q, k, v backward). */
  emb: B;
  blocks: BlockActivations<B>[];
  /** Pre-norm: the last block's output (summed by the final LN; work1), its mean and rstd. */
  finalSum: B;
  meanF: B;
  rstdF: B;
  /** The model output [R, D] the loss reads (pre-norm: dRes, first written after the loss backward; post-norm: work2). */
  hidden: B;
  rowLoss: B;
  lse: B;
  dRow: B;
  /**
   * float32 gradient of the loss w.r.t. hidden, and its 'act' copy (the same buffer in float32):
   * both over qkvGrad, which the attention backward writes only after they are read.
   */
  dHid: B;
  dOut: B;
  /** The gradient of the residual stream (pre-norm; post-norm: between LN1's backward and the next LN2's). */
  dRes: B;
  /** The gradient of g before its dropout (work2). */
  dG: B;
  /**
   * The feed-forward input written again by its backward: before W1's GEMM recomputes pre
   * (pre-norm work1, post-norm dRes) and before W1's weight gradient (work2; f and dF overwrote the first).
   */
  ffnIn: B;
  ffnInAgain: B;
  /** The activation again, then its gradient and the pre-activation's, in place [R, F] (pre-norm work1, post-norm dRes). */
  dF: B;
  /** The gradient of the feed-forward input (pre-norm work2, post-norm work1). */
  dLn2: B;
  /** Pre-norm: the gradient of LN1's output (work1; written after LN1 again there was read). */
  dLn1: B;
  /** The gradient of a before its dropout (pre-norm work1, post-norm qkvGrad's first R·D). */
  dA: B;
  /** The gradient of ctx (work2). */
  dCtx: B;
  dq: B;
  dk: B;
  dv: B;
  delta: B;
  normSq: B;
  /**
   * The attention's dropout keep mask (uint32 words, `attentionKeepWords`), over work1: free while
   * the attention kernels run (in the forward ln1 was read before, ln2 is written after; in the
   * backward dA or dLn2 was read before, LN1 again or post-norm dLn2 is written after). Undefined
   * where the mask would not fit there (then the kernels draw).
   */
  keep?: B;
}

/**
 * [name, elements, kind] of every buffer of a step; the single list that allocation and the memory
 * prediction read. Four scratch buffers hold everything the backward does not keep, one tensor
 * after another ({@link allocateStepBuffers}): qkvGrad (3·R·D: a, pre, post-norm g; dHid and dOut;
 * pre again; post-norm dA; dq, dk, dv), work1 (ln1, ln2, the keep mask; pre-norm f, finalSum, dF,
 * dA, dLn1; post-norm dLn2), work2 (emb, the block outputs; dG, dCtx, the feed-forward input again;
 * pre-norm g, dLn2) and dRes (pre-norm hidden; the residual gradient; post-norm f, dF).
 */
export function bufferSpecs(sh: StepShapes, norm: 'pre' | 'post'): [string, number, BufferKind][] {
  const { R, D, F, B, H, L } = sh;
  const rd = R * D;
  const rf = R * Math.max(D, F);
  const rows = B * H * L;
  const pre = norm === 'pre';
  const specs: [string, number, BufferKind][] = [
    ['ids', R, 'i32'],
    ['targets', R, 'i32'],
  ];
  for (let b = 0; b < sh.numBlocks; b++) {
    const p = `blocks.${b}.`;
    specs.push(
      [`${p}inp`, pre && b > 0 ? rd : 0, 'act'],
      [`${p}mean1`, R, 'f32'],
      [`${p}rstd1`, R, 'f32'],
      [`${p}q`, rd, 'act'],
      [`${p}k`, rd, 'act'],
      [`${p}v`, rd, 'act'],
      [`${p}ctx`, rd, 'act'],
      [`${p}lse`, rows, 'f32'],
      [`${p}mid`, rd, 'act'],
      [`${p}mean2`, R, 'f32'],
      [`${p}rstd2`, R, 'f32'],
      [`${p}pre`, preKept(sh) ? R * F : 0, 'act'],
      [`${p}sum2`, pre ? 0 : rd, 'act'],
    );
  }
  specs.push(
    ['meanF', pre ? R : 0, 'f32'],
    ['rstdF', pre ? R : 0, 'f32'],
    ['rowLoss', R, 'f32'],
    ['lse', R, 'f32'],
    ['dRow', R, 'f32'],
    ['qkvGrad', 3 * rd, 'act'],
    // f and dF [R, F] live in work1 (pre-norm) or dRes (post-norm)
    ['work1', pre ? rf : rd, 'act'],
    ['work2', rd, 'act'],
    ['dRes', pre ? rd : rf, 'act'],
    ['delta', rows, 'f32'],
    ['normSq', 1, 'f32'],
  );
  return specs;
}

/**
 * Whether the feed-forward pre-activations are kept per block; else (F ≤ 3·D) the forward writes
 * them into the dq/dk/dv scratch and the backward recomputes them (one GEMM per block).
 */
export function preKept(sh: StepShapes): boolean {
  return sh.F > 3 * sh.D;
}

/** Bytes of the step buffers of `bufferSpecs`. */
export function stepBufferBytes(sh: StepShapes, norm: 'pre' | 'post', dtype: 'float32' | 'bfloat16'): number {
  const act = dtype === 'float32' ? 4 : 2;
  return bufferSpecs(sh, norm).reduce((s, [, n, kind]) => s + n * (kind === 'act' ? act : 4), 0);
}

/**
 * Allocates every buffer of a step once (sizes 0 are skipped) and places the scratch tensors. Each
 * placement is free from the op that writes the tensor to the last op that reads it (src/fused/step.ts),
 * and no op reads one view of a buffer and writes another (test/fused-buffers.test.ts checks both).
 */
export function allocateStepBuffers<B>(
  ops: EngineOps<B>,
  sh: StepShapes,
  norm: 'pre' | 'post',
): StepBuffers<B> {
  const bufs = new Map<string, B>();
  for (const [name, n, kind] of bufferSpecs(sh, norm)) if (n > 0) bufs.set(name, ops.alloc(n, kind));
  const get = (name: string): B => bufs.get(name) as B;
  const pre = norm === 'pre';
  const { R, D, F } = sh;
  const qkvGrad = get('qkvGrad');
  const qkv0 = ops.view(qkvGrad, 0, R * D);
  const work1 = get('work1');
  const work2 = get('work2');
  const dResBuf = get('dRes');
  // [R, D] and [R, F] over the buffer that holds f and dF (R·max(D, F)), and [R, D] over the other
  const fBuf = pre ? work1 : dResBuf;
  const rdOf = (b: B) => (b === fBuf && F > D ? ops.alias(b, R * D, 'act') : b);
  const w1 = rdOf(work1);
  const dRes = rdOf(dResBuf);
  const dF = F < D ? ops.alias(fBuf, R * F, 'act') : fBuf;
  const blocks: BlockActivations<B>[] = [];
  for (let b = 0; b < sh.numBlocks; b++) {
    const at = (n: string) => get(`blocks.${b}.${n}`);
    blocks.push({
      inp: at('inp'),
      ln1: w1,
      mean1: at('mean1'),
      rstd1: at('rstd1'),
      q: at('q'),
      k: at('k'),
      v: at('v'),
      ctx: at('ctx'),
      lse: at('lse'),
      a: qkv0,
      mid: at('mid'),
      ln2: w1,
      mean2: at('mean2'),
      rstd2: at('rstd2'),
      pre: preKept(sh) ? at('pre') : ops.alias(qkvGrad, R * F, 'act'),
      f: dF,
      g: pre ? work2 : qkv0,
      sum2: at('sum2'),
      out: work2,
    });
  }
  const dHid = ops.alias(qkvGrad, R * D, 'f32');
  return {
    ids: get('ids'),
    targets: get('targets'),
    emb: work2,
    blocks,
    finalSum: w1,
    meanF: get('meanF'),
    rstdF: get('rstdF'),
    hidden: pre ? dRes : work2,
    rowLoss: get('rowLoss'),
    lse: get('lse'),
    dRow: get('dRow'),
    dHid,
    dOut: ops.dtype === 'float32' ? dHid : ops.view(qkvGrad, 2 * R * D, R * D),
    dRes,
    dG: work2,
    ffnIn: pre ? w1 : dRes,
    ffnInAgain: work2,
    dF,
    dLn2: pre ? work2 : w1,
    dLn1: w1,
    dA: pre ? w1 : qkv0,
    dCtx: work2,
    dq: qkv0,
    dk: ops.view(qkvGrad, R * D, R * D),
    dv: ops.view(qkvGrad, 2 * R * D, R * D),
    delta: get('delta'),
    normSq: get('normSq'),
    ...keepMask(ops, sh, w1),
  };
}

/** The attention's keep mask over work1 where its uint32 words (@cutrec/kernels attentionKeepWords) fit there. */
function keepMask<B>(ops: EngineOps<B>, sh: StepShapes, work1: B): { keep?: B } {
  const words = attentionKeepWords(sh.B, sh.H, sh.L);
  const fits = words > 0 && words * 4 <= sh.R * sh.D * (ops.dtype === 'float32' ? 4 : 2);
  return fits ? { keep: ops.alias(work1, words, 'f32') } : {};
}
