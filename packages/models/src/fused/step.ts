/**
 * One fused SASRec training step as a readable list of op calls (llm.c's train_gpt2.cu): `forward`
 * layer by layer, `backward` the same list in reverse, `update` the optimizer. It is written once
 * over {@link EngineOps}, so the same list runs on the host references and on CUDA.
 *
 * Pre-norm (default): x = emb; per block x = x + drop(Wo·attn(LN1(x))), x = x + drop(W2·act(W1·LN2(x)));
 * hidden = LN_final(x)·mask. The residual add of each sub-layer is fused into the layer norm that
 * follows it (its `sum` output). Post-norm: x = LN1(x + drop(attn(x))), x = LN2(x + drop(ffn(x))).
 * Dropout sites: 0 embeddings; block b: 1+4b attention probabilities, 2+4b attention output,
 * 3+4b feed-forward inner activation, 4+4b feed-forward output (models/src/sasrec.ts).
 */
import type { ResolvedSASRecConfig } from '../config.js';
import { preKept, type StepBuffers, type StepShapes } from './buffers.js';
import { entryOf, type ParamLayout } from './layout.js';
import type { Drop, EngineOps, StepLoss, StepOptimizer } from './ops.js';

/** What a step runs over: the ops, shapes, buffers and the flat parameter buffers. */
export interface StepContext<B> {
  ops: EngineOps<B>;
  config: ResolvedSASRecConfig;
  sh: StepShapes;
  bufs: StepBuffers<B>;
  layout: ParamLayout;
  /** float32 parameters, gradients, Adam moments (flat, `layout`). */
  params: B;
  grads: B;
  m: B;
  v: B;
  /** The 'act' copy of the parameters that GEMMs and the loss read (= params in float32). */
  weights: B;
  loss: StepLoss;
  optimizer: StepOptimizer;
  ignoreIndex: number;
  /** Dropout on (training) or off (evaluation forward). */
  training: boolean;
}

const param = <B>(c: StepContext<B>, buf: B, name: string): B => {
  const e = entryOf(c.layout, name);
  return c.ops.view(buf, e.offset, e.size);
};
const P = <B>(c: StepContext<B>, name: string) => param(c, c.params, name);
const G = <B>(c: StepContext<B>, name: string) => param(c, c.grads, name);
const W = <B>(c: StepContext<B>, name: string) => param(c, c.weights, name);

function drop<B>(c: StepContext<B>, site: number, rate: number): Drop | undefined {
  return c.training && rate > 0 ? { site, rate } : undefined;
}

/** Y [R, out] = X [R, in] · W + b (b from the 'act' copy, as W: a bf16 output with a bf16 bias is cuBLASLt's fast epilogue). */
function linear<B>(c: StepContext<B>, x: B, w: string, b: string, y: B, nIn: number, nOut: number): void {
  c.ops.matmul({
    a: x,
    b: W(c, w),
    c: y,
    M: c.sh.R,
    N: nOut,
    K: nIn,
    transA: false,
    transB: false,
    bias: W(c, b),
    out: 'act',
  });
}

/** dW = Xᵀ·dY and db = Σ dY. */
function linearParamGrads<B>(
  c: StepContext<B>,
  x: B,
  dy: B,
  w: string,
  b: string,
  nIn: number,
  nOut: number,
): void {
  const { ops, sh } = c;
  ops.matmul({ a: x, b: dy, c: G(c, w), M: nIn, N: nOut, K: sh.R, transA: true, transB: false, out: 'f32' });
  ops.biasGrad({ dy, db: G(c, b), R: sh.R, N: nOut });
}

/** dX (+)= dY·Wᵀ. */
function linearInputGrad<B>(
  c: StepContext<B>,
  dy: B,
  w: string,
  dx: B,
  nIn: number,
  nOut: number,
  accumulate: boolean,
): void {
  c.ops.matmul({
    a: dy,
    b: W(c, w),
    c: dx,
    M: c.sh.R,
    N: nIn,
    K: nOut,
    transA: false,
    transB: true,
    accumulate,
    out: 'act',
  });
}

/** dW = Xᵀ·dY, db = Σ dY, and dX (+)= dY·Wᵀ. */
function linearBackward<B>(
  c: StepContext<B>,
  x: B,
  dy: B,
  w: string,
  b: string,
  dx: B,
  nIn: number,
  nOut: number,
  accumulate: boolean,
): void {
  linearParamGrads(c, x, dy, w, b, nIn, nOut);
  linearInputGrad(c, dy, w, dx, nIn, nOut, accumulate);
}

function attentionArgs<B>(c: StepContext<B>, b: number) {
  const { sh } = c;
  return {
    ids: c.bufs.ids,
    B: sh.B,
    L: sh.L,
    H: sh.H,
    dh: sh.dh,
    stride: sh.D,
    padId: sh.C,
    scale: 1 / Math.sqrt(sh.dh),
    drop: drop(c, 1 + 4 * b, c.config.attentionDropout),
    ...(c.bufs.keep ? { keep: c.bufs.keep } : {}),
  };
}

/** Attention sub-layer of block b on input h: q, k, v, ctx, and a = Wo·ctx + bo (before dropout). */
function attention<B>(c: StepContext<B>, b: number, h: B): void {
  const blk = c.bufs.blocks[b]!;
  const p = `blocks.${b}.attn.`;
  const D = c.sh.D;
  linear(c, h, `${p}wq`, `${p}bq`, blk.q, D, D);
  linear(c, h, `${p}wk`, `${p}bk`, blk.k, D, D);
  linear(c, h, `${p}wv`, `${p}bv`, blk.v, D, D);
  c.ops.attentionForward({
    q: blk.q,
    k: blk.k,
    v: blk.v,
    out: blk.ctx,
    lse: blk.lse,
    ...attentionArgs(c, b),
  });
  linear(c, blk.ctx, `${p}wo`, `${p}bo`, blk.a, D, D);
}

/** Backward of `attention` up to q, k, v from dA (the gradient of a): Wo's gradients, dCtx, then dq, dk, dv. */
function attentionCoreBackward<B>(c: StepContext<B>, b: number): void {
  const { ops, bufs, sh } = c;
  const blk = bufs.blocks[b]!;
  const p = `blocks.${b}.attn.`;
  linearBackward(c, blk.ctx, bufs.dA, `${p}wo`, `${p}bo`, bufs.dCtx, sh.D, sh.D, false);
  ops.attentionBackward({
    q: blk.q,
    k: blk.k,
    v: blk.v,
    out: blk.ctx,
    dOut: bufs.dCtx,
    lse: blk.lse,
    dq: bufs.dq,
    dk: bufs.dk,
    dv: bufs.dv,
    delta: bufs.delta,
    ...attentionArgs(c, b),
  });
}

/**
 * Backward of the q, k, v projections of input h: their gradients, then dH (+)= the gradient of h
 * (the three weight gradients first: h may be the buffer dH is written into, as pre-norm's LN1
 * again, which dLn1 overwrites).
 */
function qkvBackward<B>(c: StepContext<B>, b: number, h: B, dH: B, accumulate: boolean): void {
  const { bufs, sh } = c;
  const p = `blocks.${b}.attn.`;
  const D = sh.D;
  const grads: [B, string][] = [
    [bufs.dq, 'q'],
    [bufs.dk, 'k'],
    [bufs.dv, 'v'],
  ];
  for (const [dy, n] of grads) linearParamGrads(c, h, dy, `${p}w${n}`, `${p}b${n}`, D, D);
  grads.forEach(([dy, n], i) => {
    linearInputGrad(c, dy, `${p}w${n}`, dH, D, D, accumulate || i > 0);
  });
}

/** Feed-forward sub-layer of block b on input h: pre = W1·h + b1, f = drop(act(pre)), g = W2·f + b2. */
function feedForward<B>(c: StepContext<B>, b: number, h: B): void {
  const blk = c.bufs.blocks[b]!;
  const p = `blocks.${b}.ffn.`;
  const { D, F, R } = c.sh;
  linear(c, h, `${p}w1`, `${p}b1`, blk.pre, D, F);
  c.ops.activationForward({
    pre: blk.pre,
    out: blk.f,
    n: R * F,
    kind: c.config.activation,
    drop: drop(c, 3 + 4 * b, c.config.dropout),
  });
  linear(c, blk.f, `${p}w2`, `${p}b2`, blk.g, F, D);
}

/**
 * Backward of `feedForward` from dG: parameter gradients, and dH (+)= the gradient of its input
 * h = `ln` (the layer norm `name` of `s`, mid, with `mean` and `rstd`), which it writes again from
 * mid twice: into `ffnIn` before W1's GEMM recomputes pre (when the forward's copy was scratch;
 * pre-norm: already there, written with mid again by {@link midAgain}), and into `ffnInAgain`
 * before W1's weight gradient (f, then dF, overwrote the first: one buffer fewer). f is recomputed
 * from pre into dF, which W2's weight gradient reads before its input gradient overwrites it.
 */
function feedForwardBackward<B>(
  c: StepContext<B>,
  b: number,
  ln: { name: string; s: B; mean: B; rstd: B; written: boolean },
  dH: B,
  accumulate: boolean,
): void {
  const { ops, bufs } = c;
  const blk = bufs.blocks[b]!;
  const p = `blocks.${b}.ffn.`;
  const { D, F, R } = c.sh;
  const input = (y: B) => layerNormAgain(c, ln.name, ln.s, ln.mean, ln.rstd, y);
  if (!preKept(c.sh)) {
    const ffnIn = ln.written ? bufs.ffnIn : input(bufs.ffnIn);
    linear(c, ffnIn, `${p}w1`, `${p}b1`, blk.pre, D, F);
  }
  const act = {
    pre: blk.pre,
    n: R * F,
    kind: c.config.activation,
    drop: drop(c, 3 + 4 * b, c.config.dropout),
  };
  ops.activationForward({ ...act, out: bufs.dF });
  linearBackward(c, bufs.dF, bufs.dG, `${p}w2`, `${p}b2`, bufs.dF, F, D, false);
  ops.activationBackward({ ...act, dOut: bufs.dF, dPre: bufs.dF });
  linearBackward(c, input(bufs.ffnInAgain), bufs.dF, `${p}w1`, `${p}b1`, dH, D, F, accumulate);
}

function lnArgs<B>(c: StepContext<B>, name: string) {
  return { gamma: P(c, `${name}.gamma`), beta: P(c, `${name}.beta`), R: c.sh.R, D: c.sh.D };
}

function lnGrads<B>(c: StepContext<B>, name: string) {
  return {
    gamma: P(c, `${name}.gamma`),
    dGamma: G(c, `${name}.gamma`),
    dBeta: G(c, `${name}.beta`),
    R: c.sh.R,
    D: c.sh.D,
  };
}

/**
 * Pre-norm: layer norm `name` of x again into y (the forward wrote it into scratch), rewriting mean
 * and rstd with the values the forward computed (the forward normalises the stored sum).
 */
function layerNormAgain<B>(c: StepContext<B>, name: string, x: B, mean: B, rstd: B, y: B): B {
  c.ops.layerNormForward({ x, y, mean, rstd, eps: c.config.layerNormEps, ...lnArgs(c, name) });
  return y;
}

/** The embeddings into `out` (default `bufs.emb`): scale·item + position, dropout (site 0), padding rows zero. */
function embed<B>(c: StepContext<B>, out: B = c.bufs.emb): B {
  const { sh, bufs } = c;
  c.ops.embeddingForward({
    ids: bufs.ids,
    table: P(c, 'item_emb'),
    pos: P(c, 'pos_emb'),
    out,
    R: sh.R,
    L: sh.L,
    D: sh.D,
    scale: Math.sqrt(sh.D),
    padId: sh.C,
    drop: drop(c, 0, c.config.dropout),
  });
  return out;
}

/**
 * Post-norm: the backward's copy of block b's input, the embeddings (b = 0) or the previous block's
 * output, written again into their scratch (work2).
 */
function blockInputAgain<B>(c: StepContext<B>, b: number): B {
  if (b === 0) return embed(c);
  const prev = c.bufs.blocks[b - 1]!;
  return layerNormAgain(c, `blocks.${b - 1}.ln2`, prev.sum2, prev.mean2, prev.rstd2, prev.out);
}

/**
 * Pre-norm: block b's mid = inp + drop(a) again, for its backward (the forward's was scratch):
 * a = ctx·Wo + bo again into `aAgain` (the forward's GEMM on the same inputs), block 0's input (the
 * embeddings) again into `midAgain`, then LN2's forward with the forward's residual sum and dropout
 * (site 2 + 4b, the same stream: the same bits), which writes mid into `midAgain` (block 0: in
 * place over the embeddings), LN2 of it into `ffnIn` (the feed-forward backward's input) and the
 * forward's mean and rstd again. Returns mid.
 */
function midAgain<B>(c: StepContext<B>, b: number): B {
  const { bufs, sh } = c;
  const blk = bufs.blocks[b]!;
  const p = `blocks.${b}.attn.`;
  linear(c, blk.ctx, `${p}wo`, `${p}bo`, bufs.aAgain, sh.D, sh.D);
  const inp = b === 0 ? embed(c, bufs.midAgain) : blk.inp;
  c.ops.layerNormForward({
    x: inp,
    residual: { a: bufs.aAgain, drop: drop(c, 2 + 4 * b, c.config.dropout) },
    sum: bufs.midAgain,
    y: bufs.ffnIn,
    mean: blk.mean2,
    rstd: blk.rstd2,
    eps: c.config.layerNormEps,
    ...lnArgs(c, `blocks.${b}.ln2`),
  });
  return bufs.midAgain;
}

/** The forward pass: embeddings, the blocks, the output hidden [R, D] in `bufs.hidden`. */
export function forward<B>(c: StepContext<B>): void {
  const { ops, bufs, sh, config: cfg } = c;
  const eps = cfg.layerNormEps;
  const rowMask = { ids: bufs.ids, padId: sh.C };
  embed(c);
  let x = bufs.emb; // the residual stream entering the next block
  let pending: { a: B; drop: Drop | undefined } | undefined; // pre-norm: a sub-layer output not yet added to x
  for (let b = 0; b < sh.numBlocks; b++) {
    const blk = bufs.blocks[b]!;
    const ln1 = `blocks.${b}.ln1`;
    const ln2 = `blocks.${b}.ln2`;
    const attnDrop = drop(c, 2 + 4 * b, cfg.dropout);
    const ffnDrop = drop(c, 4 + 4 * b, cfg.dropout);
    if (cfg.norm === 'pre') {
      const inp = pending ? blk.inp : x;
      ops.layerNormForward({
        x,
        ...(pending ? { residual: pending, sum: inp } : {}),
        y: blk.ln1,
        mean: blk.mean1,
        rstd: blk.rstd1,
        eps,
        ...lnArgs(c, ln1),
      });
      attention(c, b, blk.ln1);
      ops.layerNormForward({
        x: inp,
        residual: { a: blk.a, drop: attnDrop },
        sum: blk.mid,
        y: blk.ln2,
        mean: blk.mean2,
        rstd: blk.rstd2,
        eps,
        ...lnArgs(c, ln2),
      });
      feedForward(c, b, blk.ln2);
      x = blk.mid;
      pending = { a: blk.g, drop: ffnDrop };
    } else {
      attention(c, b, x);
      ops.layerNormForward({
        x,
        residual: { a: blk.a, drop: attnDrop },
        sum: blk.mid,
        y: blk.ln2,
        mean: blk.mean1,
        rstd: blk.rstd1,
        eps,
        ...lnArgs(c, ln1),
      });
      feedForward(c, b, blk.ln2);
      const last = b === sh.numBlocks - 1;
      ops.layerNormForward({
        x: blk.ln2,
        residual: { a: blk.g, drop: ffnDrop },
        sum: blk.sum2,
        y: blk.out,
        mean: blk.mean2,
        rstd: blk.rstd2,
        eps,
        ...lnArgs(c, ln2),
        ...(last ? { rowMask } : {}),
      });
      x = blk.out;
    }
  }
  if (cfg.norm === 'pre') {
    ops.layerNormForward({
      x,
      ...(pending ? { residual: pending, sum: bufs.finalSum } : {}),
      y: bufs.hidden,
      mean: bufs.meanF,
      rstd: bufs.rstdF,
      eps,
      rowMask,
      ...lnArgs(c, 'final_ln'),
    });
  }
}

/** The loss of the forward's hidden states: per-row terms, the mean (kept by the ops), and dRow. */
export function lossForward<B>(c: StepContext<B>): void {
  const { ops, bufs, sh } = c;
  const items = ops.view(c.weights, entryOf(c.layout, 'item_emb').offset, sh.C * sh.D);
  ops.lossForward({
    loss: c.loss,
    hidden: bufs.hidden,
    items,
    targets: bufs.targets,
    rowLoss: bufs.rowLoss,
    lse: bufs.lse,
    N: sh.R,
    C: sh.C,
    D: sh.D,
    ignoreIndex: c.ignoreIndex,
  });
  ops.meanLoss({
    rowLoss: bufs.rowLoss,
    targets: bufs.targets,
    N: sh.R,
    ignoreIndex: c.ignoreIndex,
    dRow: bufs.dRow,
    ...(bufs.gradScale ? { gradScale: bufs.gradScale } : {}),
  });
}

/** The backward pass into `grads` (zeroed first): the loss, the blocks in reverse, the embeddings. */
export function backward<B>(c: StepContext<B>): void {
  const { ops, bufs, sh, config: cfg } = c;
  const rowMask = { ids: bufs.ids, padId: sh.C };
  ops.zero(c.grads, c.layout.total);
  const itemGrad = ops.view(c.grads, entryOf(c.layout, 'item_emb').offset, sh.C * sh.D);
  const items = ops.view(c.weights, entryOf(c.layout, 'item_emb').offset, sh.C * sh.D);
  ops.lossBackward({
    loss: c.loss,
    hidden: bufs.hidden,
    items,
    targets: bufs.targets,
    lse: bufs.lse,
    dRow: bufs.dRow,
    dHidden: bufs.dHid,
    dItems: itemGrad,
    N: sh.R,
    C: sh.C,
    D: sh.D,
    ignoreIndex: c.ignoreIndex,
    ...(bufs.lossScratch ? { scratch: bufs.lossScratch } : {}),
  });
  if (bufs.dOut !== bufs.dHid) ops.castToAct(bufs.dHid, bufs.dOut, sh.R * sh.D);
  const last = sh.numBlocks - 1;
  const ffnDrop = (b: number) => drop(c, 4 + 4 * b, cfg.dropout);
  const attnDrop = (b: number) => drop(c, 2 + 4 * b, cfg.dropout);
  let dX = bufs.dOut; // the gradient of the residual stream at the current point
  if (cfg.norm === 'pre') {
    const sFinal = sh.numBlocks > 0 ? bufs.finalSum : bufs.emb;
    ops.layerNormBackward({
      dy: bufs.dOut,
      s: sFinal,
      mean: bufs.meanF,
      rstd: bufs.rstdF,
      dx: bufs.dRes,
      rowMask,
      ...(sh.numBlocks > 0 ? { residualGrad: { da: bufs.dG, drop: ffnDrop(last) } } : {}),
      ...lnGrads(c, 'final_ln'),
    });
    dX = bufs.dRes;
    for (let b = last; b >= 0; b--) {
      const blk = bufs.blocks[b]!;
      const mid = midAgain(c, b);
      const ln2 = { name: `blocks.${b}.ln2`, s: mid, mean: blk.mean2, rstd: blk.rstd2, written: true };
      feedForwardBackward(c, b, ln2, bufs.dLn2, false);
      ops.layerNormBackward({
        dy: bufs.dLn2,
        s: mid,
        mean: blk.mean2,
        rstd: blk.rstd2,
        dx: bufs.dRes,
        dSkip: bufs.dRes,
        residualGrad: { da: bufs.dA, drop: attnDrop(b) },
        ...lnGrads(c, `blocks.${b}.ln2`),
      });
      attentionCoreBackward(c, b);
      // block 0's input again into its ctx (dead now); LN1 again into dLn1's buffer (qkvBackward
      // reads it before it writes dLn1)
      const inp = b === 0 ? embed(c, blk.ctx) : blk.inp;
      qkvBackward(
        c,
        b,
        layerNormAgain(c, `blocks.${b}.ln1`, inp, blk.mean1, blk.rstd1, bufs.ln1Again),
        bufs.dLn1,
        false,
      );
      ops.layerNormBackward({
        dy: bufs.dLn1,
        s: inp,
        mean: blk.mean1,
        rstd: blk.rstd1,
        dx: bufs.dRes,
        dSkip: bufs.dRes,
        ...(b > 0 ? { residualGrad: { da: bufs.dG, drop: ffnDrop(b - 1) } } : {}),
        ...lnGrads(c, `blocks.${b}.ln1`),
      });
    }
  } else {
    for (let b = last; b >= 0; b--) {
      const blk = bufs.blocks[b]!;
      ops.layerNormBackward({
        dy: dX,
        s: blk.sum2,
        mean: blk.mean2,
        rstd: blk.rstd2,
        dx: bufs.dLn2,
        residualGrad: { da: bufs.dG, drop: ffnDrop(b) },
        ...(b === last ? { rowMask } : {}),
        ...lnGrads(c, `blocks.${b}.ln2`),
      });
      // ln2 is LN1 of mid here; its first copy goes into dRes (read above, written below)
      const ln2 = { name: `blocks.${b}.ln1`, s: blk.mid, mean: blk.mean1, rstd: blk.rstd1, written: false };
      feedForwardBackward(c, b, ln2, bufs.dLn2, true);
      ops.layerNormBackward({
        dy: bufs.dLn2,
        s: blk.mid,
        mean: blk.mean1,
        rstd: blk.rstd1,
        dx: bufs.dRes,
        residualGrad: { da: bufs.dA, drop: attnDrop(b) },
        ...lnGrads(c, `blocks.${b}.ln1`),
      });
      attentionCoreBackward(c, b);
      qkvBackward(c, b, blockInputAgain(c, b), bufs.dRes, true);
      dX = bufs.dRes;
    }
  }
  ops.embeddingBackward({
    ids: bufs.ids,
    dOut: dX,
    dTable: G(c, 'item_emb'),
    dPos: G(c, 'pos_emb'),
    R: sh.R,
    L: sh.L,
    D: sh.D,
    scale: Math.sqrt(sh.D),
    padId: sh.C,
    drop: drop(c, 0, cfg.dropout),
  });
}

/** The optimizer: global gradient norm (when clipping), AdamW over the flat buffers, step + 1. */
export function update<B>(c: StepContext<B>): void {
  const { ops, bufs, layout } = c;
  const scale = bufs.gradScale ? { gradScale: bufs.gradScale } : {};
  if (c.optimizer.clipNorm > 0)
    ops.gradNormSquared({ g: c.grads, n: layout.total, out: bufs.normSq, ...scale });
  ops.adamwUpdate({
    params: c.params,
    grads: c.grads,
    m: c.m,
    v: c.v,
    n: layout.total,
    nDecay: layout.nDecay,
    opt: c.optimizer,
    normSq: bufs.normSq,
    ...(c.weights !== c.params ? { paramsAct: c.weights } : {}),
    ...scale,
  });
  ops.stepIncrement();
}

/** A whole training step: forward, loss, backward, update. */
export function trainStep<B>(c: StepContext<B>): void {
  forward(c);
  lossForward(c);
  backward(c);
  update(c);
}
