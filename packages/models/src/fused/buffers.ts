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
 * One block's activations. The backward keeps only what it cannot recompute cheaply: q, k, v, ctx
 * and lse (attention), the sums of the residual stream (inp, mid, post-norm sum2/out) and the
 * layer-norm statistics. The rest are written by the forward
 * into backward scratch, which the forward does not otherwise use (`a`, `g`: dA/dG; `f`: dF; `pre`:
 * dq/dk/dv; pre-norm `ln1`, `ln2`: dCtx and dLn), and recomputed by the backward where it needs
 * them (layer norms, the activation, W1's GEMM).
 */
export interface BlockActivations<B> {
  /** Pre-norm, blocks after the first: the block input (the previous block's output, summed by LN1). */
  inp: B;
  /** Pre-norm: LN1 of the block input (scratch). */
  ln1: B;
  mean1: B;
  rstd1: B;
  q: B;
  k: B;
  v: B;
  ctx: B;
  lse: B;
  /** Attention output projection, before dropout (scratch shared by every block: the dA/dG buffer). */
  a: B;
  /** Pre-norm: inp + drop(a) (summed by LN2). Post-norm: the same sum, LN1's input. */
  mid: B;
  /** Pre-norm: LN2(mid) (scratch). Post-norm: LN1(mid), the residual stream. The feed-forward's input. */
  ln2: B;
  mean2: B;
  rstd2: B;
  /**
   * Feed-forward pre-activation [R, F] (kept when F > 3·D, else in the dq/dk/dv scratch and
   * recomputed), activation after dropout [R, F] (the dF scratch), output projection [R, D] (as `a`).
   */
  pre: B;
  f: B;
  g: B;
  /** Post-norm: ln2 + drop(g) (LN2's input) and LN2 of it (the block output). */
  sum2: B;
  out: B;
}

/** Everything a step keeps: the batch, activations, loss terms and backward scratch. */
export interface StepBuffers<B> {
  ids: B;
  targets: B;
  emb: B;
  blocks: BlockActivations<B>[];
  /** Pre-norm: the last block's output (summed by the final LN), its mean and rstd. */
  finalSum: B;
  meanF: B;
  rstdF: B;
  /** The model output [R, D] the loss reads (pre-norm: the dRes scratch, first written after the loss backward). */
  hidden: B;
  rowLoss: B;
  lse: B;
  dRow: B;
  /**
   * float32 gradient of the loss w.r.t. hidden, and its 'act' copy (the same buffer in float32):
   * both over the dq/dk/dv scratch, which the attention backward writes only after they are read.
   */
  dHid: B;
  dOut: B;
  dRes: B;
  dLn: B;
  /** The gradient of a sub-layer output before its dropout (dA of attention, dG of the feed-forward: one buffer). */
  dA: B;
  dG: B;
  dF: B;
  dq: B;
  dk: B;
  dv: B;
  dCtx: B;
  delta: B;
  normSq: B;
  /**
   * The attention's dropout keep mask (uint32 words, `attentionKeepWords`), over dAG: free while
   * the attention kernels run (the forward writes a into it after them, the backward has read dA
   * before them). Undefined where the mask would not fit there (then the kernels draw).
   */
  keep?: B;
}

/** [name, elements, kind] of every buffer of a step; the single list that allocation and the memory prediction read. */
export function bufferSpecs(sh: StepShapes, norm: 'pre' | 'post'): [string, number, BufferKind][] {
  const { R, D, F, B, H, L } = sh;
  const rd = R * D;
  const rows = B * H * L;
  const pre = norm === 'pre';
  const specs: [string, number, BufferKind][] = [
    ['ids', R, 'i32'],
    ['targets', R, 'i32'],
    ['emb', rd, 'act'],
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
      [`${p}ln2`, pre ? 0 : rd, 'act'],
      [`${p}mean2`, R, 'f32'],
      [`${p}rstd2`, R, 'f32'],
      [`${p}pre`, preKept(sh) ? R * F : 0, 'act'],
      [`${p}sum2`, pre ? 0 : rd, 'act'],
      [`${p}out`, pre ? 0 : rd, 'act'],
    );
  }
  specs.push(
    ['finalSum', pre && sh.numBlocks > 0 ? rd : 0, 'act'],
    ['meanF', pre ? R : 0, 'f32'],
    ['rstdF', pre ? R : 0, 'f32'],
    ['rowLoss', R, 'f32'],
    ['lse', R, 'f32'],
    ['dRow', R, 'f32'],
    // dq, dk, dv; before the attention backward: dHid (float32, R·D) and, in bfloat16, dOut after it;
    // in the forward and the feed-forward backward: pre (when it fits)
    ['qkvGrad', 3 * rd, 'act'],
    ['dRes', rd, 'act'],
    ['dLn', rd, 'act'],
    ['dAG', rd, 'act'],
    ['dF', R * F, 'act'],
    ['dCtx', rd, 'act'],
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

/** Allocates every buffer of a step once (sizes 0 are skipped: aliases are filled in below). */
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
  const proj = get('dAG');
  const blocks: BlockActivations<B>[] = [];
  for (let b = 0; b < sh.numBlocks; b++) {
    const at = (n: string) => get(`blocks.${b}.${n}`);
    blocks.push({
      inp: at('inp'),
      ln1: get('dCtx'),
      mean1: at('mean1'),
      rstd1: at('rstd1'),
      q: at('q'),
      k: at('k'),
      v: at('v'),
      ctx: at('ctx'),
      lse: at('lse'),
      a: proj,
      mid: at('mid'),
      ln2: pre ? get('dLn') : at('ln2'),
      mean2: at('mean2'),
      rstd2: at('rstd2'),
      pre: preKept(sh) ? at('pre') : ops.alias(qkvGrad, R * F, 'act'),
      f: get('dF'),
      g: proj,
      sum2: at('sum2'),
      out: at('out'),
    });
  }
  const dHid = ops.alias(qkvGrad, R * D, 'f32');
  const lastOut = sh.numBlocks > 0 ? blocks[sh.numBlocks - 1]!.out : get('emb');
  return {
    ids: get('ids'),
    targets: get('targets'),
    emb: get('emb'),
    blocks,
    finalSum: get('finalSum'),
    meanF: get('meanF'),
    rstdF: get('rstdF'),
    hidden: pre ? get('dRes') : lastOut,
    rowLoss: get('rowLoss'),
    lse: get('lse'),
    dRow: get('dRow'),
    dHid,
    dOut: ops.dtype === 'float32' ? dHid : ops.view(qkvGrad, 2 * R * D, R * D),
    dRes: get('dRes'),
    dLn: get('dLn'),
    dA: get('dAG'),
    dG: get('dAG'),
    dF: get('dF'),
    dq: ops.view(qkvGrad, 0, R * D),
    dk: ops.view(qkvGrad, R * D, R * D),
    dv: ops.view(qkvGrad, 2 * R * D, R * D),
    dCtx: get('dCtx'),
    delta: get('delta'),
    normSq: get('normSq'),
    ...keepMask(ops, sh, get('dAG')),
  };
}

/** The attention's keep mask over dAG where its uint32 words (@cutrec/kernels attentionKeepWords) fit there. */
function keepMask<B>(ops: EngineOps<B>, sh: StepShapes, dAG: B): { keep?: B } {
  const words = attentionKeepWords(sh.B, sh.H, sh.L);
  const fits = words > 0 && words * 4 <= sh.R * sh.D * (ops.dtype === 'float32' ? 4 : 2);
  return fits ? { keep: ops.alias(dAG, words, 'f32') } : {};
}
