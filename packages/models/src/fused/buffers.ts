/**
 * The shapes table of a fused step and the activations it keeps for the backward pass, allocated
 * once when the engine is built (llm.c's ActivationTensors). Sizes are in elements.
 */
import { attentionKeepWords } from '@cutrec/kernels';
import type { ResolvedSASRecConfig } from '../config.js';
import type { ActDtype, BufferKind, EngineOps } from './ops.js';

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
 * One block's activations. The backward keeps only what it cannot recompute without a GEMM that
 * would not buy a whole buffer: q, k, v, ctx and lse (attention), the sums of the residual stream
 * that enter a block (pre-norm inp; post-norm mid and sum2) and the layer-norm statistics.
 * Everything else lives in the four scratch buffers of {@link bufferSpecs} and is written again by
 * the backward where it needs it (the embeddings, the layer norms, the activation, W1's GEMM and,
 * pre-norm, Wo's GEMM and the sum mid).
 */
export interface BlockActivations<B> {
  /** Pre-norm, blocks after the first: the block input (the previous block's output, summed by LN1). */
  inp: B;
  /** LN1 of the block input (pre-norm; work1: the q, k, v GEMMs read it before the attention writes anything). */
  ln1: B;
  mean1: B;
  rstd1: B;
  q: B;
  k: B;
  v: B;
  ctx: B;
  lse: B;
  /**
   * Attention output projection, before dropout (Q0, qkvGrad's first R·D: the previous
   * feed-forward's pre and g are dead by then; LN2, post-norm LN1, reads it before W1's GEMM
   * writes pre).
   */
  a: B;
  /**
   * Pre-norm: inp + drop(a), summed by LN2; in the forward only, over dRes (free until the final
   * LN's backward; the next LN1, or the final LN, reads it and adds g). The backward writes it again
   * ({@link StepBuffers.midAgain}). Post-norm: the same sum, LN1's input, kept.
   */
  mid: B;
  /** Pre-norm: LN2(mid). Post-norm: LN1(mid), the residual stream. The feed-forward's input (work1). */
  ln2: B;
  mean2: B;
  rstd2: B;
  /**
   * Feed-forward pre-activation [R, F] (kept when F > 3·D, else over qkvGrad and recomputed:
   * pre-norm from qkvGrad's offset R·D, post-norm from 0), activation after dropout [R, F] (`dF`),
   * output projection [R, D] (Q0: pre is dead once f is written; pre-norm float32: work2, free once
   * LN2 read the block input (block 0: the embeddings), so that the final LN can write hidden into
   * Q0, see {@link StepBuffers.hidden}).
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
 *
 * Pre-norm forward: the embeddings in work2; per block LN1 into work1 (block inputs after the first
 * are kept: LN1 sums them), q, k, v, ctx kept, a into Q0, LN2 sums mid into dRes and writes work1,
 * pre from qkvGrad's offset R·D, f into work1, g into Q0 (float32: work2); the final LN sums
 * finalSum into work1 and writes hidden. Pre-norm backward, the order of a block and where each
 * tensor is (Q0 and Q1: qkvGrad's first and second R·D; dRes holds the residual gradient
 * throughout, dG arrives in Q0):
 * 1. a again = ctx·Wo + bo into Q1; block 0's embeddings again into work2; LN2's forward again
 *    sums mid = inp + drop(a) into work2 (block 0: in place over the embeddings) and writes its
 *    output, the feed-forward input, into work1.
 * 2. pre again = W1·(work1) from qkvGrad's offset R·D (a is dead); f again into work1 (the input is
 *    dead); W2's gradients and dF = dG·W2ᵀ into work1; the activation's backward in place.
 * 3. LN2(mid) again into Q0 (dG is dead), W1's gradients, dLn2 into Q0 (read first by W1's weight
 *    gradient); LN2's backward: dA into work1 (dF is dead), dRes += its input gradient.
 * 4. Wo's gradients, dCtx into work2 (mid is dead); the attention's backward: dq into work1 (dA is
 *    dead), dk into Q0 (dLn2 is dead), dv into Q1.
 * 5. Block 0's embeddings again into its ctx (dead after the attention's backward); LN1 again into
 *    work2 (dCtx is dead); the q, k, v weight gradients, then dLn1 over LN1 in work2; LN1's
 *    backward: dRes += its input gradient, the previous block's dG into Q0 (dk is dead).
 */
export interface StepBuffers<B> {
  ids: B;
  targets: B;
  /**
   * The embeddings [R, D] (work2; pre-norm without blocks work1, where the final LN's backward reads
   * them while dOut is in work2). Post-norm: the backward writes them there again before block 0's
   * q, k, v backward; pre-norm: into work2 and block 0's ctx ({@link StepBuffers} steps 1 and 5).
   */
  emb: B;
  blocks: BlockActivations<B>[];
  /** Pre-norm: the last block's output (summed by the final LN; work1, free after the last f), its mean and rstd. */
  finalSum: B;
  meanF: B;
  rstdF: B;
  /**
   * The model output [R, D] the loss reads (the loss kernels need it and dHid at offset 0). Work2,
   * except pre-norm float32: Q0 (the final LN reads mid in dRes and g in work2 and writes finalSum
   * into work1; the loss backward then writes dHid into work2, and the final LN's backward writes
   * dG into Q0 once hidden is dead). Pre-norm bfloat16 keeps g in Q0 and hidden in work2, as dHid
   * needs all of qkvGrad's first 2·R·D.
   */
  hidden: B;
  rowLoss: B;
  lse: B;
  dRow: B;
  /**
   * float32 gradient of the loss w.r.t. hidden and its 'act' copy. float32 storage: one buffer,
   * pre-norm work2 (the final LN's backward reads it while it writes dG into Q0, and no op may read
   * one view of qkvGrad and write another), post-norm Q0. bfloat16: dHid over qkvGrad's first
   * 2·R·D act elements (R·D float32) and dOut pre-norm in work2 (hidden there is dead once the loss
   * backward read it; before this plan it was qkvGrad's third R·D), post-norm qkvGrad's third R·D.
   */
  dHid: B;
  dOut: B;
  /** The gradient of the residual stream (pre-norm; post-norm: between LN1's backward and the next LN2's). */
  dRes: B;
  /**
   * Workspace of the loss backward (its `scratch`). Pre-norm: dRes, dead from the end of the forward
   * (its last tensor, the last block's mid, was read by the final LN) until the final LN's backward
   * writes the residual gradient there; post-norm: none.
   */
  lossScratch?: B;
  /** The gradient of g before its dropout (pre-norm Q0, post-norm work2). */
  dG: B;
  /**
   * The feed-forward input written again by its backward: before W1's GEMM recomputes pre
   * (pre-norm work1: step 1 above writes it; post-norm dRes) and before W1's weight gradient
   * (pre-norm Q0, post-norm work2; f and dF overwrote the first).
   */
  ffnIn: B;
  ffnInAgain: B;
  /** Pre-norm: Wo's output again (Q1), and the sum mid again (work2), for the block's backward (steps 1–3 above). */
  aAgain: B;
  midAgain: B;
  /** The activation again, then its gradient and the pre-activation's, in place [R, F] (pre-norm work1, post-norm dRes). */
  dF: B;
  /** The gradient of the feed-forward input (pre-norm Q0, post-norm work1). */
  dLn2: B;
  /** Pre-norm: LN1 again and, over it, the gradient of LN1's output (work2; the weight gradients read LN1 first). */
  ln1Again: B;
  dLn1: B;
  /** The gradient of a before its dropout (pre-norm work1, post-norm Q0). */
  dA: B;
  /** The gradient of ctx (work2). */
  dCtx: B;
  /** Pre-norm: work1, Q0, Q1. Post-norm: Q0, Q1 and qkvGrad's third R·D. */
  dq: B;
  dk: B;
  dv: B;
  delta: B;
  normSq: B;
  /**
   * float16 storage: the float32 scalar 1/count that meanLoss writes, by which the optimizer scales
   * the gradients of the summed loss (absent otherwise: the gradients are the mean's).
   */
  gradScale?: B;
  /**
   * The attention's dropout keep mask (uint32 words, `attentionKeepWords`; read only by CUDA's bf16
   * tensor-core kernels, written at the start of each attention call). Pre-norm: its own buffer,
   * allocated only for bfloat16 storage (dq fills work1 during the attention's backward). Post-norm:
   * over work1, free while the attention kernels run (the forward reads ln1 before, writes ln2 after;
   * the backward reads dLn2 before, writes dLn2 after), where the words fit there. Undefined
   * otherwise (then the kernels draw).
   */
  keep?: B;
}

/**
 * [name, elements, kind] of every buffer of a step; the single list that allocation and the memory
 * prediction read (`dtype`: the storage of 'act' buffers, which decides pre-norm's keep mask). Four
 * scratch buffers hold everything the backward does not keep, one tensor after another
 * ({@link allocateStepBuffers}, {@link StepBuffers}):
 * - qkvGrad. Pre-norm: R·D + R·max(D, F) (2·R·D when pre is kept): Q0 holds a, g (bf16), fp32
 *   hidden, dG, the feed-forward input again, dLn2, dk (and bf16 dHid with Q1); from R·D: pre, a
 *   again, dv. Post-norm: 3·R·D: a, pre, g, dHid and dOut, pre again, dA, dq, dk, dv.
 * - work1 (pre-norm R·max(D, F)): ln1, ln2, the feed-forward input again, f, finalSum, dF, dA;
 *   pre-norm dq; post-norm the keep mask, dLn2.
 * - work2: emb; pre-norm g (fp32), bf16 hidden, dHid and dOut, mid again, dCtx, ln1 again and dLn1;
 *   post-norm hidden and the block outputs, dG, the feed-forward input again.
 * - dRes (post-norm R·max(D, F)): the residual gradient; pre-norm the forward's mid; post-norm the
 *   feed-forward input, f, dF.
 * Pre-norm with bfloat16 storage adds the keep mask's own buffer ({@link StepBuffers.keep}).
 */
export function bufferSpecs(
  sh: StepShapes,
  norm: 'pre' | 'post',
  dtype: ActDtype = 'float32',
): [string, number, BufferKind][] {
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
      [`${p}mid`, pre ? 0 : rd, 'act'],
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
    ['qkvGrad', pre ? rd + (preKept(sh) ? rd : rf) : 3 * rd, 'act'],
    // f and dF [R, F] live in work1 (pre-norm) or dRes (post-norm)
    ['work1', pre ? rf : rd, 'act'],
    ['work2', rd, 'act'],
    ['dRes', pre ? rd : rf, 'act'],
    ['delta', rows, 'f32'],
    ['normSq', 1, 'f32'],
    ['gradScale', dtype === 'float16' ? 1 : 0, 'f32'],
    ['keep', pre && dtype === 'bfloat16' && sh.numBlocks > 0 ? attentionKeepWords(B, H, L) : 0, 'f32'],
  );
  return specs;
}

/**
 * Whether the feed-forward pre-activations are kept per block; else (F ≤ 3·D) the forward writes
 * them into qkvGrad and the backward recomputes them (one GEMM per block).
 */
export function preKept(sh: StepShapes): boolean {
  return sh.F > 3 * sh.D;
}

/** Bytes of the step buffers of `bufferSpecs`. */
export function stepBufferBytes(sh: StepShapes, norm: 'pre' | 'post', dtype: ActDtype): number {
  const act = dtype === 'float32' ? 4 : 2;
  return bufferSpecs(sh, norm, dtype).reduce((s, [, n, kind]) => s + n * (kind === 'act' ? act : 4), 0);
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
  for (const [name, n, kind] of bufferSpecs(sh, norm, ops.dtype))
    if (n > 0) bufs.set(name, ops.alloc(n, kind));
  const get = (name: string): B => bufs.get(name) as B;
  const pre = norm === 'pre';
  const { R, D, F } = sh;
  const rd = R * D;
  const qkvGrad = get('qkvGrad');
  const q0 = ops.view(qkvGrad, 0, rd);
  const q1 = ops.view(qkvGrad, rd, rd);
  const work1 = get('work1');
  const work2 = get('work2');
  const dResBuf = get('dRes');
  // [R, D] and [R, F] over the buffer that holds f and dF (R·max(D, F)), and [R, D] over the other
  const fBuf = pre ? work1 : dResBuf;
  const rdOf = (b: B) => (b === fBuf && F > D ? ops.alias(b, rd, 'act') : b);
  const w1 = rdOf(work1);
  const dRes = rdOf(dResBuf);
  const dF = F < D ? ops.alias(fBuf, R * F, 'act') : fBuf;
  // pre over qkvGrad: pre-norm after Q0 (which holds dG while pre is recomputed), post-norm from 0
  const f32 = ops.dtype === 'float32';
  const preScratch = (): B => (pre ? ops.view(qkvGrad, rd, R * F) : ops.alias(qkvGrad, R * F, 'act'));
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
      a: q0,
      mid: pre ? dRes : at('mid'),
      ln2: w1,
      mean2: at('mean2'),
      rstd2: at('rstd2'),
      pre: preKept(sh) ? at('pre') : preScratch(),
      f: dF,
      g: pre && f32 ? work2 : q0,
      sum2: at('sum2'),
      out: work2,
    });
  }
  // float32 storage: the float32 gradient is its own 'act' copy (pre-norm work2, post-norm Q0)
  const dHid = ops.alias(f32 && pre ? work2 : qkvGrad, rd, 'f32');
  const dOut = f32 ? dHid : pre ? work2 : ops.view(qkvGrad, 2 * rd, rd);
  return {
    ids: get('ids'),
    targets: get('targets'),
    emb: pre && sh.numBlocks === 0 ? w1 : work2,
    blocks,
    finalSum: w1,
    meanF: get('meanF'),
    rstdF: get('rstdF'),
    hidden: pre && f32 ? q0 : work2,
    rowLoss: get('rowLoss'),
    lse: get('lse'),
    dRow: get('dRow'),
    dHid,
    dOut,
    dRes,
    ...(pre ? { lossScratch: dRes } : {}),
    dG: pre ? q0 : work2,
    ffnIn: pre ? w1 : dRes,
    ffnInAgain: pre ? q0 : work2,
    aAgain: q1,
    midAgain: work2,
    dF,
    dLn2: pre ? q0 : w1,
    ln1Again: work2,
    dLn1: work2,
    dA: pre ? w1 : q0,
    dCtx: work2,
    dq: pre ? w1 : q0,
    dk: pre ? q0 : q1,
    dv: pre ? q1 : ops.view(qkvGrad, 2 * rd, rd),
    delta: get('delta'),
    normSq: get('normSq'),
    ...(bufs.has('gradScale') ? { gradScale: get('gradScale') } : {}),
    ...(pre ? (bufs.has('keep') ? { keep: get('keep') } : {}) : keepOverWork1(ops, sh, w1)),
  };
}

/** Post-norm: the attention's keep mask over work1 where its uint32 words (@cutrec/kernels attentionKeepWords) fit there. */
function keepOverWork1<B>(ops: EngineOps<B>, sh: StepShapes, work1: B): { keep?: B } {
  const words = attentionKeepWords(sh.B, sh.H, sh.L);
  const fits = words > 0 && words * 4 <= sh.R * sh.D * (ops.dtype === 'float32' ? 4 : 2);
  return fits ? { keep: ops.alias(work1, words, 'f32') } : {};
}
