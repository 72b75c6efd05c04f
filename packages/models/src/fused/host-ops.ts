/**
 * The fused step's ops on the host: every op is @cutrec/kernels' float64 reference over
 * Float64Array buffers, run at once. Slow, exact: the engine's oracle of its own wiring (CI
 * checks it against the tfjs SASRec) and a fused engine for machines with no GPU. With
 * `dtype: 'bfloat16'` the 'act' buffers hold what bf16 storage holds — every value an op writes
 * into one is rounded to the nearest bf16 — while the arithmetic stays float64: the reference the
 * bf16 device engines are held to, with their storage's rounding and none of their own.
 * `dtype: 'float16'` rounds them to f16 the same way, for the WebGPU f16 engine (whose step
 * back-propagates the summed loss: meanLoss's `gradScale`).
 */
import {
  activationBackward,
  activationForward,
  adamwUpdate,
  attentionBackward,
  attentionForward,
  bceBackward,
  bceForward,
  biasGrad,
  type DropoutSpec,
  embeddingBackward,
  embeddingForward,
  gradNormSquared,
  layerNormBackward,
  layerNormForward,
  matmul,
  meanLoss,
  rankOfTargets,
  referenceBackward,
  referenceForward,
  resolveOptions,
  topKReference,
} from '@cutrec/kernels';
import { packBf16, packF16, unpackBf16, unpackF16 } from '@cutrec/tensor';
import type { ActDtype, Drop, EngineOps, StepLoss } from './ops.js';

type H = Float64Array;

/** Options of {@link HostOps} (and HostDevice). */
export interface HostOpsOptions {
  /** Storage of 'act' buffers: float32 (default; kept in float64), bfloat16 or float16 (values rounded on write). */
  dtype?: ActDtype;
}

/** EngineOps on host Float64Arrays (float64 arithmetic; 'act' values rounded to bf16 or f16 in those dtypes). */
export class HostOps implements EngineOps<H> {
  readonly dtype: ActDtype;
  /** Steps completed: the stream of dropout masks and negatives. */
  step = 0;
  /** The mean loss of the last `meanLoss`. */
  lastLoss = 0;

  /** The model seed, which keys the dropout masks (the loss carries its own seed); set by the engine. */
  seed = 0;

  constructor(options: HostOpsOptions = {}) {
    this.dtype = options.dtype ?? 'float32';
  }

  /** bfloat16, float16: the first n elements of each 'act' output (n: all of it) rounded as that storage rounds them. */
  private stored(n: number | undefined, ...outs: (H | undefined)[]): void {
    if (this.dtype === 'float32') return;
    const round =
      this.dtype === 'bfloat16' ? (x: H) => unpackBf16(packBf16(x)) : (x: H) => unpackF16(packF16(x));
    for (const b of outs) {
      if (!b) continue;
      const x = n === undefined ? b : b.subarray(0, n);
      x.set(round(x));
    }
  }

  alloc(n: number): H {
    return new Float64Array(n);
  }
  view(b: H, offset: number, n: number): H {
    return b.subarray(offset, offset + n);
  }
  alias(b: H, n: number): H {
    if (n > b.length) throw new RangeError(`host device: alias of ${n} elements over ${b.length}`);
    return b.subarray(0, n);
  }
  zero(b: H, n: number): void {
    b.fill(0, 0, n);
  }
  castToAct(src: H, dst: H, n: number): void {
    dst.set(src.subarray(0, n));
    this.stored(n, dst);
  }

  private spec(d: Drop | undefined): DropoutSpec | undefined {
    return d ? { seed: this.seed, stream: this.step, site: d.site, rate: d.rate } : undefined;
  }
  private dropped<T extends { drop?: Drop }>(a: T): Omit<T, 'drop'> & { dropout?: DropoutSpec } {
    const { drop, ...rest } = a;
    const dropout = this.spec(drop);
    return dropout ? { ...rest, dropout } : rest;
  }

  embeddingForward(a: Parameters<EngineOps<H>['embeddingForward']>[0]): void {
    embeddingForward(this.dropped(a));
    this.stored(a.R * a.D, a.out);
  }
  embeddingBackward(a: Parameters<EngineOps<H>['embeddingBackward']>[0]): void {
    embeddingBackward(this.dropped(a));
  }
  layerNormForward(a: Parameters<EngineOps<H>['layerNormForward']>[0]): void {
    const { residual, ...rest } = a;
    layerNormForward({ ...rest, ...(residual ? { residual: this.dropped(residual) } : {}) });
    this.stored(a.R * a.D, a.y, a.sum);
  }
  layerNormBackward(a: Parameters<EngineOps<H>['layerNormBackward']>[0]): void {
    const { residualGrad, ...rest } = a;
    layerNormBackward({ ...rest, ...(residualGrad ? { residualGrad: this.dropped(residualGrad) } : {}) });
    this.stored(a.R * a.D, a.dx, a.dSkip, residualGrad?.da);
  }
  matmul(a: Parameters<EngineOps<H>['matmul']>[0]): void {
    const { out, ...rest } = a;
    matmul(rest);
    if (out === 'act') this.stored(a.M * a.N, a.c);
  }
  biasGrad(a: Parameters<EngineOps<H>['biasGrad']>[0]): void {
    biasGrad(a);
  }
  activationForward(a: Parameters<EngineOps<H>['activationForward']>[0]): void {
    activationForward(this.dropped(a));
    this.stored(a.n, a.out);
  }
  activationBackward(a: Parameters<EngineOps<H>['activationBackward']>[0]): void {
    activationBackward(this.dropped(a));
    this.stored(a.n, a.dPre);
  }
  attentionForward({ keep: _, ...a }: Parameters<EngineOps<H>['attentionForward']>[0]): void {
    attentionForward(this.dropped(a));
    this.stored(undefined, a.out);
  }
  attentionBackward({ keep: _, ...a }: Parameters<EngineOps<H>['attentionBackward']>[0]): void {
    attentionBackward(this.dropped(a));
    this.stored(undefined, a.dq, a.dk, a.dv);
  }

  private cceOptions(
    loss: Extract<StepLoss, { kind: 'cce' }>,
    ignoreIndex: number,
    N: number,
    C: number,
    D: number,
  ) {
    return resolveOptions(
      {
        ...loss.options,
        seed: loss.seed,
        step: this.step,
        ignoreIndex,
        reduction: 'none',
        impl: 'reference',
      },
      { N, C, D },
      'cpu',
    );
  }

  /** The arguments the BCE references share. */
  private bceInputs(
    a: Omit<Parameters<EngineOps<H>['lossForward']>[0], 'rowLoss' | 'lse'>,
    loss: Extract<StepLoss, { kind: 'bce' }>,
  ) {
    return {
      hidden: a.hidden,
      items: a.items,
      targets: a.targets,
      N: a.N,
      C: a.C,
      D: a.D,
      K: loss.negatives,
      beta: loss.beta,
      seed: loss.seed,
      step: this.step,
      removeAccidentalHits: loss.removeAccidentalHits,
      ignoreIndex: a.ignoreIndex,
    };
  }

  lossForward(a: Parameters<EngineOps<H>['lossForward']>[0]): void {
    const { loss, hidden, items, targets, N, C, D } = a;
    if (loss.kind === 'cce') {
      const r = referenceForward(
        { hidden, items, targets, N, C, D },
        this.cceOptions(loss, a.ignoreIndex, N, C, D),
      );
      a.rowLoss.set(r.loss);
      a.lse.set(r.lse);
    } else {
      bceForward({ ...this.bceInputs(a, loss), rowLoss: a.rowLoss });
    }
  }

  lossBackward(a: Parameters<EngineOps<H>['lossBackward']>[0]): void {
    const { loss, hidden, items, targets, N, C, D } = a;
    if (loss.kind === 'cce') {
      const r = referenceBackward(
        { hidden, items, targets, N, C, D },
        a.dRow,
        this.cceOptions(loss, a.ignoreIndex, N, C, D),
      );
      a.dHidden.set(r.dHidden);
      for (let i = 0; i < C * D; i++) a.dItems[i]! += r.dItems[i]!;
    } else {
      bceBackward({ ...this.bceInputs(a, loss), dRow: a.dRow, dHidden: a.dHidden, dItems: a.dItems });
    }
  }

  meanLoss(a: Parameters<EngineOps<H>['meanLoss']>[0]): void {
    this.lastLoss = meanLoss({
      values: a.rowLoss,
      targets: a.targets,
      N: a.N,
      ignoreIndex: a.ignoreIndex,
      dValues: a.dRow,
      ...(a.gradScale ? { gradScale: a.gradScale } : {}),
    });
  }
  rankTargets(a: Parameters<EngineOps<H>['rankTargets']>[0]): void {
    rankOfTargets(a);
  }
  /** The plain-sort reference over the whole score matrix (test-sized catalogs). */
  topK(a: Parameters<NonNullable<EngineOps<H>['topK']>>[0]): void {
    const { U, C, D, k } = a;
    const scores = new Float64Array(U * C);
    for (let u = 0; u < U; u++) {
      const h = a.offset + u * a.rowStride;
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += a.hidden[h + d]! * a.items[c * D + d]!;
        scores[u * C + c] = s;
      }
    }
    const seen = a.seen && {
      offsets: Int32Array.from(a.seen.offsets.subarray(0, U + 1)),
      items: Int32Array.from(a.seen.items),
    };
    const r = topKReference(scores, U, C, k, seen);
    a.ids.set(r.items);
    a.outScores.set(r.scores);
  }
  gradNormSquared(a: Parameters<EngineOps<H>['gradNormSquared']>[0]): void {
    a.out[0] = gradNormSquared(a.g, a.n, a.gradScale ? a.gradScale[0]! : 1);
  }
  adamwUpdate(a: Parameters<EngineOps<H>['adamwUpdate']>[0]): void {
    const { opt } = a;
    adamwUpdate({
      params: a.params,
      grads: a.grads,
      m: a.m,
      v: a.v,
      n: a.n,
      nDecay: a.nDecay,
      step: this.step,
      lr: opt.lr,
      schedule: opt.schedule,
      beta1: opt.beta1,
      beta2: opt.beta2,
      eps: opt.eps,
      weightDecay: opt.weightDecay,
      clipNorm: opt.clipNorm,
      normSq: a.normSq[0]!,
      ...(a.gradScale ? { gradScale: a.gradScale[0]! } : {}),
    });
    if (a.paramsAct) {
      a.paramsAct.set(a.params.subarray(0, a.n));
      this.stored(a.n, a.paramsAct);
    }
  }
  stepIncrement(): void {
    this.step += 1;
  }
}
