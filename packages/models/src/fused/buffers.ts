/**
 * The shapes table of a fused step and the activations it keeps for the backward pass, allocated
 * once when the engine is built (llm.c's ActivationTensors). Sizes are in elements.
 */
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

/** One block's saved activations (see step.ts for what each holds in pre- and post-norm). */
export interface BlockActivations<B> {
  /** Pre-norm, blocks after the first: the block input (the previous block's output, summed by LN1). */
  inp: B;
  ln1: B;
  mean1: B;
  rstd1: B;
  q: B;
  k: B;
  v: B;
  ctx: B;
  lse: B;
  /** Attention output projection, before dropout. */
  a: B;
  /** Pre-norm: inp + drop(a) (summed by LN2). Post-norm: the same sum, LN1's input. */
  mid: B;
  /** Pre-norm: LN2(mid). Post-norm: LN1(mid). The feed-forward's input. */
  ln2: B;
  mean2: B;
  rstd2: B;
  /** Feed-forward pre-activation [R, F], activation after dropout [R, F], output projection [R, D]. */
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
  /** The model output [R, D] the loss reads. */
  hidden: B;
  rowLoss: B;
  lse: B;
  dRow: B;
  /** float32 gradient of the loss w.r.t. hidden, and its 'act' copy (the same buffer in float32). */
  dHid: B;
  dOut: B;
  dRes: B;
  dLn: B;
  dA: B;
  dG: B;
  dF: B;
  dq: B;
  dk: B;
  dv: B;
  dCtx: B;
  delta: B;
  normSq: B;
}

/** [name, elements, kind] of every buffer of a step; the single list that allocation and the memory prediction read. */
export function bufferSpecs(
  sh: StepShapes,
  norm: 'pre' | 'post',
  dtype: 'float32' | 'bfloat16',
): [string, number, BufferKind][] {
  const { R, D, F, B, H, L } = sh;
  const rd = R * D;
  const rows = B * H * L;
  const specs: [string, number, BufferKind][] = [
    ['ids', R, 'i32'],
    ['targets', R, 'i32'],
    ['emb', rd, 'act'],
  ];
  for (let b = 0; b < sh.numBlocks; b++) {
    const p = `blocks.${b}.`;
    const pre = norm === 'pre';
    specs.push(
      [`${p}inp`, pre && b > 0 ? rd : 0, 'act'],
      [`${p}ln1`, pre ? rd : 0, 'act'],
      [`${p}mean1`, R, 'f32'],
      [`${p}rstd1`, R, 'f32'],
      [`${p}q`, rd, 'act'],
      [`${p}k`, rd, 'act'],
      [`${p}v`, rd, 'act'],
      [`${p}ctx`, rd, 'act'],
      [`${p}lse`, rows, 'f32'],
      [`${p}a`, rd, 'act'],
      [`${p}mid`, rd, 'act'],
      [`${p}ln2`, rd, 'act'],
      [`${p}mean2`, R, 'f32'],
      [`${p}rstd2`, R, 'f32'],
      [`${p}pre`, R * F, 'act'],
      [`${p}f`, R * F, 'act'],
      [`${p}g`, rd, 'act'],
      [`${p}sum2`, pre ? 0 : rd, 'act'],
      [`${p}out`, pre ? 0 : rd, 'act'],
    );
  }
  const preFinal = norm === 'pre';
  specs.push(
    ['finalSum', preFinal && sh.numBlocks > 0 ? rd : 0, 'act'],
    ['meanF', preFinal ? R : 0, 'f32'],
    ['rstdF', preFinal ? R : 0, 'f32'],
    ['hidden', preFinal ? rd : 0, 'act'],
    ['rowLoss', R, 'f32'],
    ['lse', R, 'f32'],
    ['dRow', R, 'f32'],
    ['dHid', rd, 'f32'],
    ['dOut', dtype === 'float32' ? 0 : rd, 'act'],
    ['dRes', rd, 'act'],
    ['dLn', rd, 'act'],
    ['dA', rd, 'act'],
    ['dG', rd, 'act'],
    ['dF', R * F, 'act'],
    ['dq', rd, 'act'],
    ['dk', rd, 'act'],
    ['dv', rd, 'act'],
    ['dCtx', rd, 'act'],
    ['delta', rows, 'f32'],
    ['normSq', 1, 'f32'],
  );
  return specs;
}

/** Bytes of the step buffers of `bufferSpecs`. */
export function stepBufferBytes(sh: StepShapes, norm: 'pre' | 'post', dtype: 'float32' | 'bfloat16'): number {
  const act = dtype === 'float32' ? 4 : 2;
  return bufferSpecs(sh, norm, dtype).reduce((s, [, n, kind]) => s + n * (kind === 'act' ? act : 4), 0);
}

/** Allocates every buffer of a step once (sizes 0 are skipped: aliases are filled in below). */
export function allocateStepBuffers<B>(
  ops: EngineOps<B>,
  sh: StepShapes,
  norm: 'pre' | 'post',
): StepBuffers<B> {
  const bufs = new Map<string, B>();
  for (const [name, n, kind] of bufferSpecs(sh, norm, ops.dtype))
    if (n > 0) bufs.set(name, ops.alloc(n, kind));
  const get = (name: string): B => bufs.get(name) as B;
  const blocks: BlockActivations<B>[] = [];
  for (let b = 0; b < sh.numBlocks; b++) {
    const p = `blocks.${b}.`;
    const at = (n: string) => get(p + n);
    blocks.push({
      inp: at('inp'),
      ln1: at('ln1'),
      mean1: at('mean1'),
      rstd1: at('rstd1'),
      q: at('q'),
      k: at('k'),
      v: at('v'),
      ctx: at('ctx'),
      lse: at('lse'),
      a: at('a'),
      mid: at('mid'),
      ln2: at('ln2'),
      mean2: at('mean2'),
      rstd2: at('rstd2'),
      pre: at('pre'),
      f: at('f'),
      g: at('g'),
      sum2: at('sum2'),
      out: at('out'),
    });
  }
  const dHid = get('dHid');
  const lastOut = sh.numBlocks > 0 ? blocks[sh.numBlocks - 1]!.out : get('emb');
  return {
    ids: get('ids'),
    targets: get('targets'),
    emb: get('emb'),
    blocks,
    finalSum: get('finalSum'),
    meanF: get('meanF'),
    rstdF: get('rstdF'),
    hidden: norm === 'pre' ? get('hidden') : lastOut,
    rowLoss: get('rowLoss'),
    lse: get('lse'),
    dRow: get('dRow'),
    dHid,
    dOut: ops.dtype === 'float32' ? dHid : get('dOut'),
    dRes: get('dRes'),
    dLn: get('dLn'),
    dA: get('dA'),
    dG: get('dG'),
    dF: get('dF'),
    dq: get('dq'),
    dk: get('dk'),
    dv: get('dv'),
    dCtx: get('dCtx'),
    delta: get('delta'),
    normSq: get('normSq'),
  };
}
