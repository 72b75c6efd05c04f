/**
 * WebGPU as a {@link FusedDevice}: every op is a @cutrec/kernels WGSL launcher (src/ops/<op>/wgsl.ts)
 * whose dispatches are collected while the step is written and submitted as one command buffer
 * (one `Recording`); the step counter lives in a device u32 (dropout masks, BCE negatives and the
 * learning-rate schedule read it there; `stepIncrement` advances it on the device), and losses land
 * in a device ring read back asynchronously. Storage is float32, or float16 for the 'act' buffers
 * (`dtype: 'float16'`, where the adapter has 'shader-f16': every kernel gets `act: 'f16'`).
 *
 * Read-backs are asynchronous in WebGPU: `download`/`lossOf` throw, and the engine uses
 * `downloadAsync`/`lossOfAsync` (FusedTrainer's `trainStepAsync`, `takeLossesAsync`, `parametersAsync`,
 * `gradientsAsync`, `momentsAsync`, `syncModelAsync`, `rankTargetsAsync`; `fromModel` reads a tfjs model asynchronously).
 * From the second step on the step is recorded once (a `Recording`: pipelines, bind groups and
 * params made once) and replayed; the CCE- kernels take the negatives' stream as a param, so their
 * dispatches' params are rewritten each replay (`setParams`), everything else reads the step
 * counter on the device.
 */
import {
  type CceOptions,
  gemmSplits,
  type ParamValues,
  type Recording,
  Runner,
  resolveOptions,
  type Step,
  topKWgslUnsupported,
  type WgslAct,
  type WgslDropout,
  type WgslLayout,
  type WgslView,
  wgslActivationBackward,
  wgslActivationForward,
  wgslAdamwUpdate,
  wgslAttentionBackward,
  wgslAttentionForward,
  wgslBceBackward,
  wgslBceForward,
  wgslBiasGrad,
  wgslCastToAct,
  wgslCceBackwardSteps,
  wgslCceForwardSteps,
  wgslEmbeddingBackward,
  wgslEmbeddingForward,
  wgslGradNormSquared,
  wgslLayerNormBackward,
  wgslLayerNormForward,
  wgslLayoutOf,
  wgslMatmul,
  wgslMeanLoss,
  wgslRankOfTargets,
  wgslStepIncrement,
  wgslTopK,
} from '@cutrec/kernels';
import { memoryMeter, unpackF16, waitQuietly } from '@cutrec/tensor';
import type { FusedDevice, PendingRead } from './engine.js';
import type { BufferKind, Drop, EngineOps, StepLoss } from './ops.js';

/** A WebGPU buffer of the fused engine: elements [offset, offset + n) (4-byte elements; 2-byte for 'act' in float16). */
export interface WebGpuBuf extends WgslView {
  buffer: GPUBuffer;
  offset: number;
  n: number;
  kind: BufferKind;
}

type OpName = {
  [K in keyof EngineOps<WebGpuBuf>]-?: NonNullable<EngineOps<WebGpuBuf>[K]> extends (a: never) => void
    ? K
    : never;
}[keyof EngineOps<WebGpuBuf>];
type Args<K extends OpName> = NonNullable<EngineOps<WebGpuBuf>[K]> extends (a: infer A) => void ? A : never;

/** Options of a {@link WebGpuDevice}. */
export interface WebGpuDeviceOptions {
  /** Losses kept on the device before they must be read. Default 64. */
  lossRing?: number;
  /** Record the step once (from the second step on) and replay it. Default true ($CUTREC_WEBGPU_RECORD=0 turns it off). */
  record?: boolean;
  /**
   * Wait for read-backs with the thread asleep between Dawn's event polls (`waitQuietly`), not
   * spinning. Default: where the kernels use the 'cpu' layout (a software adapter, whose "GPU"
   * is the CPU's other threads: spinning there took a core from the step, 1.5–1.7× slower).
   */
  quietWaits?: boolean;
  /**
   * Storage of the 'act' buffers (activations, their gradients, the parameters' act copy):
   * 'float32' (default) or 'float16' (needs the adapter's 'shader-f16' feature).
   */
  dtype?: 'float32' | 'float16';
  /**
   * float16: the GEMMs' arithmetic, 'f32' (default) or 'f16' (products and each K step's partial
   * sums in f16 on the 'gpu' 128 × 128 kernel; @cutrec/kernels WgslMatmulArgs.math). Unmeasured on
   * a GPU with fast f16 so far: a benchmark option, not a default.
   */
  gemmMath?: 'f32' | 'f16';
}

/**
 * The most storage buffers one of the engine's kernels binds (the layer norm's and attention's
 * 10; test/fused-webgpu.test.ts checks it against every kernel its cases build). WebGPU
 * guarantees 8 per shader stage; Dawn exposes 10 on Metal and more on Vulkan and D3D12.
 */
export const FUSED_WEBGPU_STORAGE_BUFFERS = 10;

/** Why the fused engine cannot run on `device`, or undefined when it can. */
export function webGpuUnsupported(device: Pick<GPUDevice, 'limits'>): string | undefined {
  const have = device.limits.maxStorageBuffersPerShaderStage;
  if (have < FUSED_WEBGPU_STORAGE_BUFFERS) {
    return `the fused engine's kernels bind up to ${FUSED_WEBGPU_STORAGE_BUFFERS} storage buffers, and this WebGPU adapter allows ${have} per shader stage (maxStorageBuffersPerShaderStage)`;
  }
  return undefined;
}

/** A step recorded once: the recording, its CCE- dispatches (index, params) and what to free at the end. */
interface RecordedStep {
  rec: Recording;
  cce: { index: number; params: ParamValues }[];
  release: (() => void)[];
}

/** The fused step's ops on a WebGPU device. */
export class WebGpuDevice implements FusedDevice<WebGpuBuf> {
  readonly name = 'webgpu';
  readonly dtype: 'float32' | 'float16';
  /** The kernels' storage of 'act' bindings. */
  private readonly act: WgslAct;
  private readonly gemmMath: 'f32' | 'f16';
  readonly lossRing: number;
  seed = 0;
  private readonly owned: GPUBuffer[] = [];
  private readonly stepBuf: GPUBuffer;
  private readonly losses: GPUBuffer;
  private readonly runner: Runner;
  /** Steps queued by the ops since the last flush. */
  private pending: Step[] = [];
  private releases: (() => void)[] = [];
  /** The host's copy of the step counter (the CCE- negatives' stream is a param). */
  private hostStep = 0;
  private readonly useRecording: boolean;
  private recorded: RecordedStep | undefined;
  /** Work recorded by {@link runReplayable}, by key. */
  private readonly replays = new Map<string, RecordedStep>();
  private stepsRun = 0;
  /** CCE- dispatches queued so far (indices into `pending`). */
  private cceMarks: { index: number; params: ParamValues }[] = [];
  /** The split-K scratch (see splitScratch) and the kernel layout of this adapter. */
  private splitPart: { buffer: GPUBuffer; n: number } | undefined;
  private readonly layout: WgslLayout;
  private readonly quietWaits: boolean;

  constructor(
    readonly device: GPUDevice,
    options: WebGpuDeviceOptions = {},
  ) {
    const why = webGpuUnsupported(device);
    if (why) throw new RangeError(why);
    this.dtype = options.dtype ?? 'float32';
    if (this.dtype === 'float16' && !device.features.has('shader-f16')) {
      throw new RangeError(
        "webgpu device: dtype 'float16' needs the adapter's 'shader-f16' feature, which this one lacks; use fp32",
      );
    }
    this.act = this.dtype === 'float16' ? 'f16' : 'f32';
    if (options.gemmMath === 'f16' && this.act !== 'f16')
      throw new RangeError("webgpu device: gemmMath 'f16' needs dtype 'float16'");
    this.gemmMath = options.gemmMath ?? 'f32';
    this.lossRing = options.lossRing ?? 64;
    this.useRecording = (options.record ?? true) && process.env.CUTREC_WEBGPU_RECORD !== '0';
    this.runner = Runner.of(device);
    this.layout = wgslLayoutOf(device);
    this.quietWaits = options.quietWaits ?? this.layout === 'cpu';
    this.stepBuf = this.make(4, 'cutrec-fused-step');
    this.losses = this.make(this.lossRing * 4, 'cutrec-fused-losses');
  }

  private make(bytes: number, label: string): GPUBuffer {
    // Through the memory meter, so the run's peak GPU bytes count the engine's buffers.
    const b = memoryMeter().createBuffer(this.device, {
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      label,
    });
    this.owned.push(b);
    return b;
  }
  private get step(): WgslView {
    return { buffer: this.stepBuf, offset: 0 };
  }
  private queue(steps: Step[]): void {
    for (const s of steps) this.pending.push(s);
  }
  /** Queues CCE- steps, marking their dispatches (whose `stream` param follows the step). */
  private queueCce(f: { steps: Step[]; release(): void }): void {
    for (const s of f.steps) {
      if ('program' in s) this.cceMarks.push({ index: this.pending.length, params: s.params });
      this.pending.push(s);
    }
    this.releases.push(f.release);
  }
  /** Submits the queued steps as one command buffer. */
  private flush(): void {
    if (this.pending.length === 0) return;
    const steps = this.pending;
    this.pending = [];
    this.cceMarks = [];
    this.runner.submit(steps, 'cutrec-fused-step');
    for (const r of this.releases.splice(0)) r();
  }

  /** Bytes of one element of a `kind` buffer. */
  private elt(kind: BufferKind): number {
    return kind === 'act' && this.act === 'f16' ? 2 : 4;
  }
  alloc(n: number, kind: BufferKind): WebGpuBuf {
    return { buffer: this.make(n * this.elt(kind), `cutrec-fused-${kind}`), offset: 0, n, kind };
  }
  view(b: WebGpuBuf, offset: number, n: number): WebGpuBuf {
    if (offset + n > b.n) {
      throw new RangeError(
        `webgpu device: view [${offset}, ${offset + n}) is outside a buffer of ${b.n} elements`,
      );
    }
    return { ...b, offset: b.offset + offset, n };
  }
  alias(b: WebGpuBuf, n: number, kind: BufferKind): WebGpuBuf {
    const [from, to] = [this.elt(b.kind), this.elt(kind)];
    if (n * to > b.n * from)
      throw new RangeError(`webgpu device: alias of ${n * to} bytes over ${b.n * from}`);
    if ((b.offset * from) % to !== 0)
      throw new RangeError(`webgpu device: alias at byte ${b.offset * from} of ${to}-byte elements`);
    return { ...b, offset: (b.offset * from) / to, n, kind };
  }
  /** Byte range [offset, offset + size) of elements [b.offset, b.offset + n) of `b`. */
  private bytes(b: WebGpuBuf, n: number): { offset: number; size: number } {
    const e = this.elt(b.kind);
    return { offset: b.offset * e, size: n * e };
  }
  zero(b: WebGpuBuf, n: number): void {
    const r = this.bytes(b, n);
    if (r.offset % 4 || r.size % 4)
      throw new RangeError(`webgpu device: zero of bytes [${r.offset}, +${r.size}) is not 4-byte aligned`);
    if (n > 0) this.pending.push({ clear: b.buffer, ...r });
  }
  castToAct(src: WebGpuBuf, dst: WebGpuBuf, n: number): void {
    if (this.act === 'f16') {
      this.queue(wgslCastToAct(this.device, { src, dst, n, act: this.act }));
      return;
    }
    if (src.buffer === dst.buffer && src.offset === dst.offset) return;
    if (n > 0) {
      this.pending.push({
        copy: {
          src: src.buffer,
          srcOffset: src.offset * 4,
          dst: dst.buffer,
          dstOffset: dst.offset * 4,
          size: n * 4,
        },
      });
    }
  }

  private dropout(d: Drop | undefined): WgslDropout | undefined {
    return d ? { seed: this.seed, site: d.site, rate: d.rate } : undefined;
  }
  private dropped<T extends { drop?: Drop }>(
    a: T,
  ): Omit<T, 'drop'> & { dropout?: WgslDropout; step: WgslView } {
    const { drop, ...rest } = a;
    const dropout = this.dropout(drop);
    return { ...rest, ...(dropout ? { dropout } : {}), step: this.step };
  }

  embeddingForward(a: Args<'embeddingForward'>): void {
    this.queue(wgslEmbeddingForward(this.device, { ...this.dropped(a), V: a.table.n / a.D, act: this.act }));
  }
  embeddingBackward(a: Args<'embeddingBackward'>): void {
    this.queue(
      wgslEmbeddingBackward(this.device, { ...this.dropped(a), V: a.dTable.n / a.D, act: this.act }),
    );
  }
  layerNormForward(a: Args<'layerNormForward'>): void {
    const { residual, ...rest } = a;
    const d = residual ? this.dropout(residual.drop) : undefined;
    this.queue(
      wgslLayerNormForward(this.device, {
        ...rest,
        ...(residual ? { residual: { a: residual.a, ...(d ? { dropout: d } : {}) } } : {}),
        step: this.step,
        act: this.act,
      }),
    );
  }
  layerNormBackward(a: Args<'layerNormBackward'>): void {
    const { residualGrad, ...rest } = a;
    const d = residualGrad ? this.dropout(residualGrad.drop) : undefined;
    this.queue(
      wgslLayerNormBackward(this.device, {
        ...rest,
        ...(residualGrad ? { residualGrad: { da: residualGrad.da, ...(d ? { dropout: d } : {}) } } : {}),
        step: this.step,
        act: this.act,
      }),
    );
  }
  matmul(a: Args<'matmul'>): void {
    const { out, ...rest } = a;
    // A long K over few output tiles (the weight gradients: K = the batch's rows) is split on a GPU.
    const splits = this.layout === 'gpu' ? gemmSplits(a.M, a.N, a.K) : 1;
    const splitK = splits > 1 ? { part: this.splitScratch(splits * a.M * a.N), splits } : undefined;
    this.queue(
      wgslMatmul(this.device, {
        ...rest,
        accumulate: a.accumulate ?? false,
        ...(splitK ? { splitK } : {}),
        act: this.act,
        cF32: out === 'f32',
        math: this.gemmMath,
      }),
    );
  }

  /**
   * A scratch of at least `floats` for split-K partial sums. One is reused by every GEMM (they run
   * in order); a larger need makes a larger one and keeps the old (recorded steps may bind it).
   */
  private splitScratch(floats: number): WgslView {
    if (!this.splitPart || this.splitPart.n < floats)
      this.splitPart = { buffer: this.make(floats * 4, 'cutrec-fused-splitk'), n: floats };
    return { buffer: this.splitPart.buffer, offset: 0 };
  }
  biasGrad(a: Args<'biasGrad'>): void {
    this.queue(wgslBiasGrad(this.device, { ...a, act: this.act }));
  }
  activationForward(a: Args<'activationForward'>): void {
    this.queue(wgslActivationForward(this.device, { ...this.dropped(a), act: this.act }));
  }
  activationBackward(a: Args<'activationBackward'>): void {
    this.queue(wgslActivationBackward(this.device, { ...this.dropped(a), act: this.act }));
  }
  attentionForward({ keep: _, ...a }: Args<'attentionForward'>): void {
    this.queue(wgslAttentionForward(this.device, { ...this.dropped(a), act: this.act }));
  }
  attentionBackward({ keep: _, ...a }: Args<'attentionBackward'>): void {
    this.queue(wgslAttentionBackward(this.device, { ...this.dropped(a), act: this.act }));
  }

  /** The bytes of `b` as a binding (its size rounded up to 4 bytes). */
  private binding(b: WebGpuBuf): GPUBufferBinding {
    const r = this.bytes(b, b.n);
    return { buffer: b.buffer, offset: r.offset, size: Math.ceil(r.size / 4) * 4 };
  }
  private whole(b: WebGpuBuf, what: string): GPUBuffer {
    if (b.offset !== 0) throw new Error(`webgpu device: the loss kernels need ${what} to start at offset 0`);
    return b.buffer;
  }
  private cceOptions(
    a: { N: number; C: number; D: number; ignoreIndex: number },
    loss: Extract<StepLoss, { kind: 'cce' }>,
  ) {
    const options: CceOptions = {
      ...loss.options,
      seed: loss.seed,
      step: this.hostStep,
      ignoreIndex: a.ignoreIndex,
      reduction: 'none',
      impl: 'wgsl',
      checkInputs: false,
    };
    return resolveOptions(options, { N: a.N, C: a.C, D: a.D }, 'webgpu');
  }
  private bceInputs(
    a: {
      hidden: WebGpuBuf;
      items: WebGpuBuf;
      targets: WebGpuBuf;
      N: number;
      C: number;
      D: number;
      ignoreIndex: number;
    },
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
      act: this.act,
    };
  }

  lossForward(a: Args<'lossForward'>): void {
    const { loss } = a;
    if (loss.kind === 'cce') {
      const f = wgslCceForwardSteps(
        this.device,
        { N: a.N, C: a.C, D: a.D },
        {
          hidden: this.whole(a.hidden, 'hidden'),
          items: this.whole(a.items, 'items'),
          targets: this.whole(a.targets, 'targets'),
          lse: this.whole(a.lse, 'lse'),
          loss: this.whole(a.rowLoss, 'rowLoss'),
        },
        this.cceOptions(a, loss),
        { act: this.act },
      );
      this.queueCce(f);
    } else {
      this.queue(wgslBceForward(this.device, { ...this.bceInputs(a, loss), rowLoss: a.rowLoss }));
    }
  }
  lossBackward(a: Args<'lossBackward'>): void {
    const { loss } = a;
    if (loss.kind === 'cce') {
      const b = wgslCceBackwardSteps(
        this.device,
        { N: a.N, C: a.C, D: a.D },
        {
          hidden: this.whole(a.hidden, 'hidden'),
          items: this.whole(a.items, 'items'),
          targets: this.whole(a.targets, 'targets'),
          lse: this.whole(a.lse, 'lse'),
          dLoss: this.whole(a.dRow, 'dRow'),
          dHidden: this.whole(a.dHidden, 'dHidden'),
          dItems: this.whole(a.dItems, 'dItems'),
          ...(a.scratch ? { itemsScratch: this.binding(a.scratch) } : {}),
        },
        this.cceOptions(a, loss),
        { act: this.act },
      );
      this.queueCce(b);
    } else {
      this.queue(
        wgslBceBackward(this.device, {
          ...this.bceInputs(a, loss),
          dRow: a.dRow,
          dHidden: a.dHidden,
          dItems: a.dItems,
        }),
      );
    }
  }
  meanLoss(a: Args<'meanLoss'>): void {
    this.queue(
      wgslMeanLoss(this.device, {
        values: a.rowLoss,
        targets: a.targets,
        N: a.N,
        ignoreIndex: a.ignoreIndex,
        out: { buffer: this.losses, offset: 0 },
        ring: this.lossRing,
        step: this.step,
        dValues: a.dRow,
        ...(a.gradScale ? { gradScale: a.gradScale } : {}),
      }),
    );
  }
  rankTargets(a: Args<'rankTargets'>): void {
    const { seen, ...rest } = a;
    this.queue(
      wgslRankOfTargets(this.device, {
        ...rest,
        ...seenArg(seen),
        act: this.act,
      }),
    );
  }
  /** The fused WGSL top-k (one workgroup per user over the whole catalog; `rows`/`scores` unused). */
  topK(a: Args<'topK'>): void {
    const { seen, rows: _rows, scores: _scores, ...rest } = a;
    this.queue(
      wgslTopK(this.device, {
        ...rest,
        ...seenArg(seen),
        act: this.act,
      }),
    );
  }
  topKUnsupported(k: number, D: number): string | undefined {
    return topKWgslUnsupported(this.device, k, D);
  }
  gradNormSquared(a: Args<'gradNormSquared'>): void {
    this.queue(wgslGradNormSquared(this.device, a));
  }
  adamwUpdate(a: Args<'adamwUpdate'>): void {
    const { opt } = a;
    this.queue(
      wgslAdamwUpdate(this.device, {
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
        normSq: a.normSq,
        ...(a.paramsAct && a.paramsAct.buffer !== a.params.buffer ? { paramsAct: a.paramsAct } : {}),
        ...(a.gradScale ? { gradScale: a.gradScale } : {}),
        act: this.act,
      }),
    );
  }
  stepIncrement(): void {
    this.queue(wgslStepIncrement(this.device, { step: this.step }));
  }

  upload(b: WebGpuBuf, data: Float32Array | Int32Array): void {
    if (data.length > b.n)
      throw new RangeError(`webgpu device: ${data.length} values do not fit a buffer of ${b.n}`);
    if (this.elt(b.kind) !== 4)
      throw new Error('webgpu device: uploads go to float32 or int32 buffers (then castToAct)');
    this.flush();
    this.device.queue.writeBuffer(b.buffer, b.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }
  /** {@link upload}: `queue.writeBuffer` takes the data at the call and runs after the work submitted before it. */
  enqueueUpload(b: WebGpuBuf, data: Float32Array | Int32Array): void {
    this.upload(b, data);
  }
  /** Submits the queued work and the copy into a staging buffer now; `take` resolves when it is mapped. */
  enqueueReadInt32(b: WebGpuBuf, n: number): PendingRead {
    if (n > b.n) throw new RangeError(`webgpu device: a read of ${n} values from a buffer of ${b.n}`);
    const values = this.downloadInt32Async(b, n);
    values.catch(() => {}); // rejected only when taken, not as an unhandled rejection meanwhile
    return { take: () => values };
  }
  copyInt32(src: WebGpuBuf, dst: WebGpuBuf, n: number): void {
    if (n > src.n || n > dst.n)
      throw new RangeError(`webgpu device: a copy of ${n} values over ${src.n} → ${dst.n}`);
    if (n > 0) {
      this.pending.push({
        copy: {
          src: src.buffer,
          srcOffset: src.offset * 4,
          dst: dst.buffer,
          dstOffset: dst.offset * 4,
          size: n * 4,
        },
      });
    }
  }
  /**
   * Runs the work `record` queues as one submission, recorded under `key` the first time (pipelines,
   * bind groups and params made once, as the step's) and replayed from then on: an evaluation's
   * chunks after the first cost one encode and submit each. Without recording ({@link
   * WebGpuDeviceOptions.record} false) the work joins the queued work.
   */
  runReplayable(key: string, record: () => void): void {
    if (!this.useRecording) {
      record();
      return;
    }
    let r = this.replays.get(key);
    if (!r) {
      this.flush();
      r = this.recordPending(record, `cutrec-fused-${key}`);
      this.replays.set(key, r);
    }
    r.rec.submit();
  }

  /** Runs `record` into an empty queue and makes what it queued a {@link Recording} (not yet submitted). */
  private recordPending(record: () => void, label: string): RecordedStep {
    record();
    const r = { rec: this.runner.record(this.pending, label), cce: this.cceMarks, release: this.releases };
    this.pending = [];
    this.cceMarks = [];
    this.releases = [];
    return r;
  }
  download(): Float32Array {
    throw new Error(
      'webgpu device: read-backs are asynchronous: use downloadAsync (FusedTrainer.parametersAsync, gradientsAsync, momentsAsync, syncModelAsync)',
    );
  }
  downloadInt32(): Int32Array {
    throw new Error('webgpu device: read-backs are asynchronous: use downloadInt32Async');
  }
  private async read(b: GPUBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    this.flush();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder();
    if (bytes > 0) enc.copyBufferToBuffer(b, byteOffset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    const mapped = staging.mapAsync(GPUMapMode.READ);
    await (this.quietWaits ? waitQuietly(mapped) : mapped);
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
  }
  /** The first `n` values of `b` as float32 (f16 'act' values widened), after all queued work. */
  async downloadAsync(b: WebGpuBuf, n: number): Promise<Float32Array> {
    if (this.elt(b.kind) === 4) return new Float32Array(await this.read(b.buffer, b.offset * 4, n * 4));
    const start = b.offset & ~1; // copies start at a 4-byte boundary
    const bits = new Uint16Array(await this.read(b.buffer, start * 2, (b.offset - start + n) * 2));
    return unpackF16(bits.subarray(b.offset - start));
  }
  /** The first `n` values of an int32 buffer, after all queued work. */
  async downloadInt32Async(b: WebGpuBuf, n: number): Promise<Int32Array> {
    return new Int32Array(await this.read(b.buffer, b.offset * 4, n * 4));
  }
  free(...bufs: WebGpuBuf[]): void {
    this.flush();
    for (const b of bufs) {
      const i = this.owned.indexOf(b.buffer);
      if (i >= 0) this.owned.splice(i, 1);
      memoryMeter().destroy(b.buffer);
    }
  }
  setStep(step: number): void {
    this.flush();
    this.hostStep = step;
    this.device.queue.writeBuffer(this.stepBuf, 0, new Uint32Array([step >>> 0]));
  }
  writeBatch(ids: WebGpuBuf, targets: WebGpuBuf, inputs: Int32Array, targetIds: Int32Array): void {
    this.upload(ids, inputs);
    this.upload(targets, targetIds);
  }
  runStep(record: () => void): void {
    const r = this.recorded;
    if (r) {
      for (const c of r.cce) r.rec.setParams(c.index, { ...c.params, stream: this.hostStep });
      r.rec.submit();
    } else if (this.useRecording && this.stepsRun > 0) {
      this.flush();
      this.recorded = this.recordPending(record, 'cutrec-fused-step');
      this.recorded.rec.submit();
    } else {
      record();
      this.flush();
    }
    this.hostStep += 1;
    this.stepsRun += 1;
  }

  /** Recordings kept by {@link runReplayable} (one per key). */
  get replayableCount(): number {
    return this.replays.size;
  }

  /** Whether the step is replayed from a recording (after the second step). */
  get replaying(): boolean {
    return this.recorded !== undefined;
  }
  lossOf(): number {
    throw new Error(
      'webgpu device: read-backs are asynchronous: use lossOfAsync (FusedTrainer.trainStepAsync)',
    );
  }
  /** The mean loss of completed step `step`, read from the device ring. */
  async lossOfAsync(step: number): Promise<number> {
    const slot = (step >>> 0) % this.lossRing;
    return new Float32Array(await this.read(this.losses, slot * 4, 4))[0]!;
  }
  dispose(): void {
    this.pending = [];
    for (const r of [...(this.recorded ? [this.recorded] : []), ...this.replays.values()]) {
      r.rec.destroy();
      for (const f of r.release) f();
    }
    this.recorded = undefined;
    this.replays.clear();
    for (const b of this.owned.splice(0)) memoryMeter().destroy(b);
  }
}

/** The kernels' `seen` argument (CSR views and their entry count) of the engine's seen buffers. */
function seenArg(seen: { offsets: WebGpuBuf; items: WebGpuBuf } | undefined): {
  seen?: { offsets: WebGpuBuf; items: WebGpuBuf; nnz: number };
} {
  return seen ? { seen: { offsets: seen.offsets, items: seen.items, nnz: seen.items.n } } : {};
}
