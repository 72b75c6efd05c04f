/**
 * What the fused training step asks of a device: allocation, views, and one method per layer op
 * of `@cutrec/kernels` (src/ops). `HostOps` runs them as the float64 references on host arrays
 * (the engine's own oracle, and CI's check of the step's wiring); `CudaOps` queues the CUDA
 * kernels on one stream, so a step can be captured into a CUDA graph.
 */
import type { CceOptions, LrSchedule } from '@cutrec/kernels';

/** Feed-forward activation. */
export type Activation = 'relu' | 'gelu';

/** A dropout site of the step (seed and stream are the engine's: the model seed and the step). */
export interface Drop {
  site: number;
  rate: number;
}

/** Storage of a buffer: activations and their gradients ('act': float32 or bfloat16), float32, int32. */
export type BufferKind = 'act' | 'f32' | 'i32';

/** The row mask of the model output: rows whose input id is padding are zero. */
export interface RowMask<B> {
  ids: B;
  padId: number;
}

/** The loss of a step over hidden [N, D] and items [C, D]; `seed` keys its negatives (the trainer's seed). */
export type StepLoss =
  | { kind: 'cce'; options: CceOptions; seed: number }
  | { kind: 'bce'; negatives: number; beta: number; removeAccidentalHits: boolean; seed: number };

/** The optimizer constants of a step (the learning rate at a step comes from `schedule`). */
export interface StepOptimizer {
  lr: number;
  schedule: LrSchedule;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
}

/** Storage of the fused step's 'act' buffers: float32, bfloat16 (CUDA) or float16 (WebGPU with shader-f16). */
export type ActDtype = 'float32' | 'bfloat16' | 'float16';

/** One device's implementation of the step's ops over buffers of type B. */
export interface EngineOps<B> {
  /**
   * Storage type of 'act' buffers. With 'float16' the step back-propagates the sum of the row
   * losses (f16 gradients of a mean over 10^5 rows would underflow) and the optimizer unscales
   * ({@link StepBuffers.gradScale}).
   */
  readonly dtype: ActDtype;
  alloc(n: number, kind: BufferKind): B;
  /** Elements [offset, offset + n) of `b`. */
  view(b: B, offset: number, n: number): B;
  /** The first n elements of `kind` over `b`'s memory (a scratch buffer reused for another kind). */
  alias(b: B, n: number, kind: BufferKind): B;
  zero(b: B, n: number): void;
  /** dst ('act') = src (float32), n elements. */
  castToAct(src: B, dst: B, n: number): void;

  embeddingForward(a: {
    ids: B;
    table: B;
    pos: B;
    out: B;
    R: number;
    L: number;
    D: number;
    scale: number;
    padId: number;
    drop?: Drop;
  }): void;
  embeddingBackward(a: {
    ids: B;
    dOut: B;
    dTable: B;
    dPos: B;
    R: number;
    L: number;
    D: number;
    scale: number;
    padId: number;
    drop?: Drop;
  }): void;
  layerNormForward(a: {
    x: B;
    residual?: { a: B; drop?: Drop };
    sum?: B;
    y: B;
    gamma: B;
    beta: B;
    mean: B;
    rstd: B;
    R: number;
    D: number;
    eps: number;
    rowMask?: RowMask<B>;
  }): void;
  layerNormBackward(a: {
    dy: B;
    s: B;
    gamma: B;
    mean: B;
    rstd: B;
    dx: B;
    dGamma: B;
    dBeta: B;
    R: number;
    D: number;
    dSkip?: B;
    residualGrad?: { da: B; drop?: Drop };
    rowMask?: RowMask<B>;
  }): void;
  /** c = (accumulate ? c : 0) + op(a)·op(b) + bias, row-major; a, b and bias are 'act', c is `out`. */
  matmul(a: {
    a: B;
    b: B;
    c: B;
    M: number;
    N: number;
    K: number;
    transA: boolean;
    transB: boolean;
    accumulate?: boolean;
    bias?: B;
    out: 'act' | 'f32';
  }): void;
  biasGrad(a: { dy: B; db: B; R: number; N: number }): void;
  activationForward(a: { pre: B; out: B; n: number; kind: Activation; drop?: Drop }): void;
  activationBackward(a: { pre: B; dOut: B; dPre: B; n: number; kind: Activation; drop?: Drop }): void;
  attentionForward(a: {
    q: B;
    k: B;
    v: B;
    out: B;
    lse: B;
    ids: B;
    B: number;
    L: number;
    H: number;
    dh: number;
    stride: number;
    padId: number;
    scale: number;
    drop?: Drop;
    /** Scratch of `attentionKeepWords(B, H, L)` uint32 words (@cutrec/kernels) where the CUDA tensor-core kernels may keep the dropout mask; other devices ignore it. */
    keep?: B;
  }): void;
  attentionBackward(a: {
    q: B;
    k: B;
    v: B;
    out: B;
    dOut: B;
    lse: B;
    dq: B;
    dk: B;
    dv: B;
    delta: B;
    ids: B;
    B: number;
    L: number;
    H: number;
    dh: number;
    stride: number;
    padId: number;
    scale: number;
    drop?: Drop;
    /** As attentionForward's. */
    keep?: B;
  }): void;

  /** Per-row loss [N] (and what its backward needs) of hidden against items ('act'), targets int32. */
  lossForward(a: {
    loss: StepLoss;
    hidden: B;
    items: B;
    targets: B;
    rowLoss: B;
    lse: B;
    N: number;
    C: number;
    D: number;
    ignoreIndex: number;
  }): void;
  /** dHidden [N, D] float32 (written) and dItems [C, D] float32 (accumulated) from the per-row upstream dRow. */
  lossBackward(a: {
    loss: StepLoss;
    hidden: B;
    items: B;
    targets: B;
    lse: B;
    dRow: B;
    dHidden: B;
    dItems: B;
    N: number;
    C: number;
    D: number;
    ignoreIndex: number;
    /**
     * A buffer nothing else reads or writes during this call, the device's to use as workspace
     * (WebGPU: the partial sums of the dItems gather, which otherwise allocates its own).
     */
    scratch?: B;
  }): void;
  /**
   * The mean of rowLoss over valid rows (the step's loss, read back later) and dRow = 1/count on
   * them; with `gradScale` (float32 [1]) dRow = 1 there (the sum's gradient) and gradScale = 1/count.
   */
  meanLoss(a: { rowLoss: B; targets: B; N: number; ignoreIndex: number; dRow: B; gradScale?: B }): void;

  /**
   * Ranks [U] (int32) of targets among all C items for the hidden rows at offset + u·rowStride:
   * items c ≠ y scoring higher, or equal with a lower id, not counting `seen` items (CSR, sorted).
   */
  rankTargets(a: {
    hidden: B;
    rowStride: number;
    offset: number;
    items: B;
    targets: B;
    U: number;
    C: number;
    D: number;
    seen?: { offsets: B; items: B };
    ranks: B;
  }): void;

  /**
   * The top k items [U, k] of the hidden rows at offset + u·rowStride among all C items: ids
   * (int32, −1 past a row's candidates) and scores (float32, −∞ there), best first, ties to the
   * lower id, `seen` items (CSR, sorted) left out. `rows` (float32 [U·D]) and `scores` (float32,
   * at least U; the catalog streams through it) are scratch. Absent on devices without it.
   */
  topK?(a: {
    hidden: B;
    rowStride: number;
    offset: number;
    items: B;
    U: number;
    C: number;
    D: number;
    k: number;
    seen?: { offsets: B; items: B };
    rows: B;
    scores: B;
    ids: B;
    outScores: B;
  }): void;
  /** Why {@link topK} cannot take k lists at width D here (a kernel limit), or undefined when it can. */
  topKUnsupported?(k: number, D: number): string | undefined;

  /** Σ (s·g)² into the device scalar `out` (s: the device scalar `gradScale`, else 1). */
  gradNormSquared(a: { g: B; n: number; out: B; gradScale?: B }): void;
  /** AdamW over the flat buffers at the current step; also refreshes `paramsAct` (the 'act' copy) when given. */
  adamwUpdate(a: {
    params: B;
    grads: B;
    m: B;
    v: B;
    n: number;
    nDecay: number;
    opt: StepOptimizer;
    normSq: B;
    paramsAct?: B;
    /** The gradient is s·grads (s: this device scalar, meanLoss's gradScale). */
    gradScale?: B;
  }): void;
  /** The step counter += 1 (on the device for CUDA). */
  stepIncrement(): void;
}
