/**
 * CUDA as a {@link FusedDevice}: every op is a @cutrec/kernels launcher queued on one stream, the
 * step counter lives in device memory (dropout masks, negatives and the learning rate read it
 * there), and from the second step on the whole step is one CUDA graph, captured once and
 * replayed. A batch goes to the device through pinned, double-buffered host memory on the same
 * stream; losses land in a device ring and are read every few steps.
 */
import {
  cudaActivationBackward,
  cudaActivationForward,
  cudaAdamwUpdate,
  cudaAttentionBackward,
  cudaAttentionForward,
  cudaBceBackward,
  cudaBceForward,
  cudaBiasGrad,
  cudaCastToBf16,
  cudaCceBackward,
  cudaCceForward,
  cudaEmbeddingBackward,
  cudaEmbeddingForward,
  cudaGradNormSquared,
  cudaKernelsUnavailableReason,
  cudaLayerNormBackward,
  cudaLayerNormForward,
  cudaMatmul,
  cudaMeanLoss,
  cudaRankOfTargets,
  cudaStepIncrement,
  cudaTopK,
  type DeviceDropout,
  type DeviceView,
  opUnavailableReason,
} from '@cutrec/kernels';
import {
  CudaContext,
  CudaEvent,
  CudaGraph,
  CudaStream,
  type CudaTensor,
  DeviceBuffer,
  HostBuffer,
} from '@cutrec/tensor';
import type { FusedDevice, PendingRead } from './engine.js';
import type { BufferKind, Drop, EngineOps, StepLoss } from './ops.js';

/** The op folders whose CUDA kernels the fused step launches. */
export const FUSED_CUDA_OPS = [
  'embedding',
  'layernorm',
  'activation',
  'cast',
  'linear',
  'attention',
  'adamw',
  'bce',
  'meanloss',
  'rank',
] as const;

/** Why the fused engine cannot run on CUDA here (no driver or device, a kernel image missing), or undefined when it can. */
export function fusedCudaUnavailableReason(): string | undefined {
  return (
    cudaKernelsUnavailableReason() ??
    FUSED_CUDA_OPS.map((op) => opUnavailableReason(op)).find((r) => r !== undefined)
  );
}

/** The ops a profiling device times (every op of EngineOps that queues kernels). */
const PROFILED_OPS = [
  'zero',
  'castToAct',
  'embeddingForward',
  'embeddingBackward',
  'layerNormForward',
  'layerNormBackward',
  'matmul',
  'biasGrad',
  'activationForward',
  'activationBackward',
  'attentionForward',
  'attentionBackward',
  'lossForward',
  'lossBackward',
  'meanLoss',
  'gradNormSquared',
  'adamwUpdate',
  'stepIncrement',
] as const;

/** Slots of the pinned staging ring of `enqueueUpload` (an upload waits for the copy STAGING_SLOTS uploads back). */
const STAGING_SLOTS = 4;
/** Pinned buffers are allocated in multiples of this (cuMemHostAlloc is slow; sizes settle after the first calls). */
const PINNED_GRAIN = 64 * 1024;
const pinnedBytes = (bytes: number) => Math.max(1, Math.ceil(bytes / PINNED_GRAIN)) * PINNED_GRAIN;

/** A typed range of a device buffer. */
export interface CudaBuf extends DeviceView {
  kind: BufferKind;
  /** Bytes per element. */
  elt: number;
}

/** Options of a {@link CudaDevice}. */
export interface CudaDeviceOptions {
  /** Storage of activations: 'float32' (fp32 mode) or 'bfloat16'. Default 'float32'. */
  dtype?: 'float32' | 'bfloat16';
  /** Capture the step into a CUDA graph from the second step on. Default true ($CUTREC_CUDA_GRAPH=0 turns it off). */
  graph?: boolean;
  /** Losses kept on the device before they must be read. Default 64. */
  lossRing?: number;
  /** Time every op with CUDA events (no graph): see {@link CudaDevice.profile}. Default false. */
  profile?: boolean;
  context?: CudaContext;
}

type OpName = {
  [K in keyof EngineOps<CudaBuf>]-?: NonNullable<EngineOps<CudaBuf>[K]> extends (a: never) => void
    ? K
    : never;
}[keyof EngineOps<CudaBuf>];
type Args<K extends OpName> = NonNullable<EngineOps<CudaBuf>[K]> extends (a: infer A) => void ? A : never;

/** The fused step's ops on CUDA. */
export class CudaDevice implements FusedDevice<CudaBuf> {
  readonly name = 'cuda';
  readonly dtype: 'float32' | 'bfloat16';
  readonly lossRing: number;
  readonly context: CudaContext;
  readonly stream: CudaStream;
  /** The model seed, which keys the dropout masks (the loss carries its own seed); set by the engine. */
  seed = 0;
  private readonly useGraph: boolean;
  private readonly owned: DeviceBuffer[] = [];
  private readonly stepBuf: DeviceBuffer;
  private readonly losses: DeviceBuffer;
  private readonly pinned: HostBuffer[];
  private readonly pinnedDone: (CudaEvent | undefined)[] = [undefined, undefined];
  private nextPinned = 0;
  /** Pinned staging of {@link enqueueUpload}, a ring: a slot is refilled once its last copy has run. */
  private readonly staging: ({ host: HostBuffer; done: CudaEvent } | undefined)[] = new Array(STAGING_SLOTS);
  private nextStaging = 0;
  /** Pinned landing buffers of {@link enqueueReadInt32} not in use, and every one made (for dispose). */
  private readonly freeReads: { host: HostBuffer; done: CudaEvent }[] = [];
  private readonly allReads: { host: HostBuffer; done: CudaEvent }[] = [];
  /** Work kept by {@link runReplayable}: run once eagerly ('ran'), then a graph, or 'eager' where capture failed. */
  private readonly replays = new Map<string, CudaGraph | 'ran' | 'eager'>();
  /** Why the last failed {@link runReplayable} capture failed (that key then runs eagerly). */
  replayError: string | undefined;
  private graph: CudaGraph | undefined;
  private stepsRun = 0;
  private rowsForPinned = 0;

  constructor(options: CudaDeviceOptions = {}) {
    this.context = options.context ?? CudaContext.get();
    this.dtype = options.dtype ?? 'float32';
    this.lossRing = options.lossRing ?? 64;
    this.useGraph = (options.graph ?? true) && !options.profile && process.env.CUTREC_CUDA_GRAPH !== '0';
    this.stream = new CudaStream(this.context, true);
    if (options.profile) this.instrument();
    this.stepBuf = this.own(new DeviceBuffer(4, this.context));
    this.losses = this.own(new DeviceBuffer(this.lossRing * 4, this.context));
    this.pinned = [];
  }

  private own(b: DeviceBuffer): DeviceBuffer {
    this.owned.push(b);
    return b;
  }

  private get call() {
    return { stream: this.stream };
  }

  alloc(n: number, kind: BufferKind): CudaBuf {
    const elt = kind === 'act' && this.dtype === 'bfloat16' ? 2 : 4;
    // Rounded up to 16 bytes so vector loads of the last elements stay inside the allocation.
    const bytes = Math.ceil((n * elt) / 16) * 16;
    const buffer = this.own(new DeviceBuffer(Math.max(16, bytes), this.context));
    return { buffer, byteOffset: 0, bytes: n * elt, kind, elt };
  }
  view(b: CudaBuf, offset: number, n: number): CudaBuf {
    if (offset + n > b.bytes / b.elt) {
      throw new RangeError(
        `cuda device: view [${offset}, ${offset + n}) is outside a buffer of ${b.bytes / b.elt} elements`,
      );
    }
    return { ...b, byteOffset: b.byteOffset + offset * b.elt, bytes: n * b.elt };
  }
  alias(b: CudaBuf, n: number, kind: BufferKind): CudaBuf {
    const elt = kind === 'act' && this.dtype === 'bfloat16' ? 2 : 4;
    if (n * elt > b.bytes) throw new RangeError(`cuda device: alias of ${n * elt} bytes over ${b.bytes}`);
    return { ...b, bytes: n * elt, kind, elt };
  }
  zero(b: CudaBuf, n: number): void {
    if ((n * b.elt) % 4 !== 0) throw new RangeError('cuda device: zero needs a whole number of 32-bit words');
    b.buffer.fill32(0, b.byteOffset, (n * b.elt) / 4, this.stream);
  }
  castToAct(src: CudaBuf, dst: CudaBuf, n: number): void {
    if (dst.elt === 4) {
      dst.buffer.copyFromAsync(src.buffer, dst.byteOffset, src.byteOffset, n * 4, this.stream);
    } else {
      cudaCastToBf16({ src, dst, n }, this.call);
    }
  }

  private dropout(d: Drop | undefined): DeviceDropout | undefined {
    return d ? { seed: this.seed, site: d.site, rate: d.rate, step: this.stepBuf } : undefined;
  }
  private dropped<T extends { drop?: Drop }>(a: T): Omit<T, 'drop'> & { dropout?: DeviceDropout } {
    const { drop, ...rest } = a;
    const dropout = this.dropout(drop);
    return dropout ? { ...rest, dropout } : rest;
  }

  embeddingForward(a: Args<'embeddingForward'>): void {
    cudaEmbeddingForward({ ...this.dropped(a), dtype: this.dtype }, this.call);
  }
  embeddingBackward(a: Args<'embeddingBackward'>): void {
    cudaEmbeddingBackward({ ...this.dropped(a), dtype: this.dtype }, this.call);
  }
  layerNormForward(a: Args<'layerNormForward'>): void {
    const { residual, ...rest } = a;
    cudaLayerNormForward(
      { ...rest, ...(residual ? { residual: this.dropped(residual) } : {}), dtype: this.dtype },
      this.call,
    );
  }
  layerNormBackward(a: Args<'layerNormBackward'>): void {
    const { residualGrad, ...rest } = a;
    cudaLayerNormBackward(
      { ...rest, ...(residualGrad ? { residualGrad: this.dropped(residualGrad) } : {}), dtype: this.dtype },
      this.call,
    );
  }
  matmul(a: Args<'matmul'>): void {
    const { out, ...rest } = a;
    cudaMatmul(
      {
        ...rest,
        accumulate: a.accumulate ?? false,
        dtypeA: this.dtype,
        dtypeB: this.dtype,
        dtypeC: out === 'f32' ? 'float32' : this.dtype,
        ...(a.bias ? { biasDtype: this.dtype } : {}),
        precision: 'fp32',
      },
      this.call,
    );
  }
  biasGrad(a: Args<'biasGrad'>): void {
    cudaBiasGrad({ ...a, dtype: this.dtype }, this.call);
  }
  activationForward(a: Args<'activationForward'>): void {
    cudaActivationForward({ ...this.dropped(a), dtype: this.dtype }, this.call);
  }
  activationBackward(a: Args<'activationBackward'>): void {
    cudaActivationBackward({ ...this.dropped(a), dtype: this.dtype }, this.call);
  }
  attentionForward(a: Args<'attentionForward'>): void {
    cudaAttentionForward({ ...this.dropped(a), dtype: this.dtype }, this.call);
  }
  attentionBackward(a: Args<'attentionBackward'>): void {
    cudaAttentionBackward({ ...this.dropped(a), dtype: this.dtype }, this.call);
  }

  /** A whole buffer as a CudaTensor (the CCE- launchers take whole buffers). */
  private tensor(b: CudaBuf, shape: number[], dtype: CudaTensor['dtype']): CudaTensor {
    if (b.byteOffset !== 0)
      throw new Error('cuda device: the loss kernels need buffers that start at offset 0');
    return { buffer: b.buffer, shape, dtype };
  }

  private cceCall(ignoreIndex: number, loss: Extract<StepLoss, { kind: 'cce' }>) {
    return {
      options: { ...loss.options, seed: loss.seed, step: 0, ignoreIndex, reduction: 'none' as const },
      call: { stream: this.stream, streamPtr: this.stepBuf.address, accumulateItems: true },
    };
  }

  /** The arguments the BCE launchers share. */
  private bceInputs(
    a: Omit<Args<'lossForward'>, 'rowLoss' | 'lse'>,
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
      step: this.stepBuf,
      removeAccidentalHits: loss.removeAccidentalHits,
      ignoreIndex: a.ignoreIndex,
      dtype: this.dtype,
    };
  }

  lossForward(a: Args<'lossForward'>): void {
    const { loss, N, C, D } = a;
    if (loss.kind === 'cce') {
      const { options, call } = this.cceCall(a.ignoreIndex, loss);
      cudaCceForward(
        this.tensor(a.hidden, [N, D], this.dtype),
        this.tensor(a.items, [C, D], this.dtype),
        this.tensor(a.targets, [N], 'int32'),
        options,
        call,
        { loss: a.rowLoss.buffer, lse: a.lse.buffer },
      );
    } else {
      cudaBceForward({ ...this.bceInputs(a, loss), rowLoss: a.rowLoss }, this.call);
    }
  }

  lossBackward(a: Args<'lossBackward'>): void {
    const { loss, N, C, D } = a;
    if (loss.kind === 'cce') {
      const { options, call } = this.cceCall(a.ignoreIndex, loss);
      cudaCceBackward(
        this.tensor(a.hidden, [N, D], this.dtype),
        this.tensor(a.items, [C, D], this.dtype),
        this.tensor(a.targets, [N], 'int32'),
        a.lse.buffer,
        a.dRow.buffer,
        options,
        call,
        { dHidden: a.dHidden.buffer, dItems: this.tensor(a.dItems, [C, D], 'float32').buffer },
      );
    } else {
      cudaBceBackward(
        { ...this.bceInputs(a, loss), dRow: a.dRow, dHidden: a.dHidden, dItems: a.dItems },
        this.call,
      );
    }
  }

  meanLoss(a: Args<'meanLoss'>): void {
    cudaMeanLoss(
      {
        values: a.rowLoss,
        targets: a.targets,
        N: a.N,
        ignoreIndex: a.ignoreIndex,
        out: this.losses,
        ring: this.lossRing,
        step: this.stepBuf,
        dValues: a.dRow,
      },
      this.call,
    );
  }
  rankTargets(a: Args<'rankTargets'>): void {
    cudaRankOfTargets({ ...a, dtype: this.dtype }, this.call);
  }
  topK(a: Args<'topK'>): void {
    cudaTopK({ ...a, dtype: this.dtype }, this.call);
  }
  gradNormSquared(a: Args<'gradNormSquared'>): void {
    cudaGradNormSquared(a, this.call);
  }
  adamwUpdate(a: Args<'adamwUpdate'>): void {
    const { opt } = a;
    cudaAdamwUpdate(
      {
        params: a.params,
        grads: a.grads,
        m: a.m,
        v: a.v,
        n: a.n,
        nDecay: a.nDecay,
        step: this.stepBuf,
        lr: opt.lr,
        schedule: opt.schedule,
        beta1: opt.beta1,
        beta2: opt.beta2,
        eps: opt.eps,
        weightDecay: opt.weightDecay,
        clipNorm: opt.clipNorm,
        normSq: a.normSq,
        ...(a.paramsAct ? { paramsBf16: a.paramsAct } : {}),
      },
      this.call,
    );
  }
  stepIncrement(): void {
    cudaStepIncrement({ step: this.stepBuf }, this.call);
  }

  upload(b: CudaBuf, data: Float32Array | Int32Array): void {
    if (data.byteLength > b.bytes)
      throw new RangeError(`cuda device: ${data.byteLength} bytes do not fit a buffer of ${b.bytes}`);
    this.stream.synchronize();
    b.buffer.write(data, b.byteOffset);
  }
  /**
   * Copies `data` into the next slot of the pinned staging ring (first waiting on that slot's event:
   * the copy that last read it) and queues cuMemcpyHtoDAsync from it on the stream, then records
   * the slot's event: no stream synchronisation, ordered after the work queued before it.
   */
  enqueueUpload(b: CudaBuf, data: Float32Array | Int32Array): void {
    if (data.byteLength > b.bytes)
      throw new RangeError(`cuda device: ${data.byteLength} bytes do not fit a buffer of ${b.bytes}`);
    if (data.byteLength === 0) return;
    const i = this.nextStaging;
    this.nextStaging = (i + 1) % STAGING_SLOTS;
    let slot = this.staging[i];
    slot?.done.synchronize(); // the copy that last read this slot has run
    if (!slot || slot.host.bytes < data.byteLength) {
      slot?.host.free();
      slot = {
        host: new HostBuffer(pinnedBytes(data.byteLength), this.context),
        done: slot?.done ?? new CudaEvent(this.context, { timing: false }),
      };
      this.staging[i] = slot;
    }
    new Uint8Array(slot.host.arrayBuffer, 0, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    b.buffer.uploadAsync(
      slot.host,
      { hostOffset: 0, deviceOffset: b.byteOffset, bytes: data.byteLength },
      this.stream,
    );
    slot.done.record(this.stream);
  }

  /**
   * Queues cuMemcpyDtoHAsync of `n` int32 values into a pinned landing buffer on the stream and
   * records its event; `take` waits on that event only (not the stream: work queued later keeps
   * running) and copies the values out, and the landing buffer is reused by a later read.
   */
  enqueueReadInt32(b: CudaBuf, n: number): PendingRead {
    const bytes = n * 4;
    if (bytes > b.bytes)
      throw new RangeError(`cuda device: a read of ${bytes} bytes from a buffer of ${b.bytes}`);
    let at = this.freeReads.findIndex((r) => r.host.bytes >= bytes);
    if (at < 0 && this.freeReads.length > 0) {
      // Too small: its last copy was taken (so has run); replace its memory with a larger one.
      const r = this.freeReads[0]!;
      r.host.free();
      r.host = new HostBuffer(pinnedBytes(bytes), this.context);
      at = 0;
    }
    let slot: { host: HostBuffer; done: CudaEvent };
    if (at >= 0) {
      slot = this.freeReads.splice(at, 1)[0]!;
    } else {
      slot = {
        host: new HostBuffer(pinnedBytes(bytes), this.context),
        done: new CudaEvent(this.context, { timing: false }),
      };
      this.allReads.push(slot);
    }
    if (n > 0)
      b.buffer.downloadAsync(slot.host, { hostOffset: 0, deviceOffset: b.byteOffset, bytes }, this.stream);
    slot.done.record(this.stream);
    let taken = false;
    return {
      take: () => {
        if (taken) throw new Error('cuda device: a queued read was already taken');
        taken = true;
        slot.done.synchronize();
        const out = new Int32Array(n);
        out.set(new Int32Array(slot.host.arrayBuffer, 0, n));
        this.freeReads.push(slot);
        return out;
      },
    };
  }

  download(b: CudaBuf, n: number): Float32Array {
    this.stream.synchronize();
    if (b.elt === 4) return b.buffer.read(new Float32Array(n), b.byteOffset);
    const bits = b.buffer.read(new Uint16Array(n), b.byteOffset);
    const out = new Float32Array(n);
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = bits[i]! << 16;
    return out;
  }
  downloadInt32(b: CudaBuf, n: number): Int32Array {
    this.stream.synchronize();
    return b.buffer.read(new Int32Array(n), b.byteOffset);
  }
  free(...bufs: CudaBuf[]): void {
    this.stream.synchronize();
    for (const b of bufs) {
      const i = this.owned.indexOf(b.buffer);
      if (i >= 0) this.owned.splice(i, 1);
      b.buffer.free();
    }
  }
  setStep(step: number): void {
    this.stream.synchronize();
    this.stepBuf.write(new Uint32Array([step >>> 0]));
  }

  writeBatch(ids: CudaBuf, targets: CudaBuf, inputs: Int32Array, targetIds: Int32Array): void {
    const R = inputs.length;
    if (this.rowsForPinned !== R) {
      for (const p of this.pinned) p.free();
      this.pinned.length = 0;
      for (let i = 0; i < 2; i++) this.pinned.push(new HostBuffer(R * 8, this.context));
      this.rowsForPinned = R;
    }
    const i = this.nextPinned;
    this.nextPinned ^= 1;
    this.pinnedDone[i]?.synchronize(); // the copy that last read this pinned buffer has finished
    const host = this.pinned[i]!;
    const view = new Int32Array(host.arrayBuffer, 0, 2 * R);
    view.set(inputs, 0);
    view.set(targetIds, R);
    ids.buffer.uploadAsync(host, { hostOffset: 0, deviceOffset: ids.byteOffset, bytes: R * 4 }, this.stream);
    targets.buffer.uploadAsync(
      host,
      { hostOffset: R * 4, deviceOffset: targets.byteOffset, bytes: R * 4 },
      this.stream,
    );
    const done = this.pinnedDone[i] ?? new CudaEvent(this.context, { timing: false });
    done.record(this.stream);
    this.pinnedDone[i] = done;
  }

  /** dst = src (n int32 values): cuMemcpyDtoDAsync on the stream. */
  copyInt32(src: CudaBuf, dst: CudaBuf, n: number): void {
    if (n * 4 > src.bytes || n * 4 > dst.bytes)
      throw new RangeError(`cuda device: a copy of ${n * 4} bytes over ${src.bytes} → ${dst.bytes}`);
    if (n > 0) dst.buffer.copyFromAsync(src.buffer, dst.byteOffset, src.byteOffset, n * 4, this.stream);
  }

  /**
   * The first run of `key` queues `record`'s work eagerly (modules load, plans are made); the
   * second captures it into a CUDA graph and launches it, later runs launch that graph (one
   * cuGraphLaunch, no synchronisation). Without graphs (`graph: false`, profiling,
   * CUTREC_CUDA_GRAPH=0), or where capture fails ({@link replayError}), it runs eagerly.
   */
  runReplayable(key: string, record: () => void): void {
    const kept = this.replays.get(key);
    if (kept instanceof CudaGraph) {
      kept.launch(this.stream);
    } else if (!this.useGraph || kept === 'eager') {
      record();
    } else if (kept === undefined) {
      record();
      this.replays.set(key, 'ran');
    } else {
      let graph: CudaGraph;
      try {
        graph = CudaGraph.capture(this.stream, record);
      } catch (e) {
        this.replayError = `${key}: ${(e as Error).message}`;
        this.replays.set(key, 'eager');
        record();
        return;
      }
      this.replays.set(key, graph);
      graph.launch(this.stream);
    }
  }

  runStep(record: () => void): void {
    if (this.graph) {
      this.graph.launch(this.stream);
    } else if (this.useGraph && this.stepsRun > 0) {
      this.graph = CudaGraph.capture(this.stream, record);
      this.graph.launch(this.stream);
    } else {
      record();
    }
    this.stepsRun += 1;
  }

  lossOf(step: number): number {
    this.stream.synchronize();
    return this.losses.read(new Float32Array(1), (step % this.lossRing) * 4)[0]!;
  }

  private timings: { op: string; start: CudaEvent; end: CudaEvent }[] | undefined;

  /** Wraps every op so that it records CUDA events around its kernels (profiling; turns graphs off). */
  private instrument(): void {
    this.timings = [];
    const self = this as unknown as Record<string, (...args: unknown[]) => void>;
    for (const op of PROFILED_OPS) {
      const f = self[op]!.bind(this);
      self[op] = (...args: unknown[]) => {
        const start = new CudaEvent(this.context).record(this.stream);
        f(...args);
        this.timings!.push({ op, start, end: new CudaEvent(this.context).record(this.stream) });
      };
    }
  }

  /** With `profile`: milliseconds per op (summed over calls) since the last call, slowest first. */
  profile(): { op: string; calls: number; ms: number }[] {
    if (!this.timings) throw new Error('CudaDevice.profile: build the device with { profile: true }');
    this.stream.synchronize();
    const by = new Map<string, { calls: number; ms: number }>();
    for (const t of this.timings) {
      const r = by.get(t.op) ?? { calls: 0, ms: 0 };
      r.calls += 1;
      r.ms += t.start.elapsedMs(t.end);
      by.set(t.op, r);
      t.start.destroy();
      t.end.destroy();
    }
    this.timings.length = 0;
    return [...by.entries()].map(([op, r]) => ({ op, ...r })).sort((a, b) => b.ms - a.ms);
  }

  /** Bytes of device memory free now. */
  freeBytes(): number {
    return this.context.memInfo().free;
  }

  /** Kernel nodes of the captured step graph (undefined before the second step). */
  get graphNodes(): number | undefined {
    return this.graph?.nodeCount;
  }

  dispose(): void {
    this.stream.synchronize();
    this.graph?.destroy();
    this.graph = undefined;
    for (const g of this.replays.values()) if (g instanceof CudaGraph) g.destroy();
    this.replays.clear();
    for (const b of this.owned) b.free();
    this.owned.length = 0;
    for (const p of this.pinned) p.free();
    this.pinned.length = 0;
    for (const slot of [...this.staging, ...this.allReads]) {
      slot?.host.free();
      slot?.done.destroy();
    }
    this.staging.fill(undefined);
    this.allReads.length = 0;
    this.freeReads.length = 0;
  }
}
