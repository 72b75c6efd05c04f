/**
 * The fused SASRec trainer: the step of step.ts over buffers allocated once on a device
 * (`FusedDevice`: the host references, or CUDA), with the tfjs SASRec's parameter names, so its
 * parameters and Adam moments move to and from the tfjs engine and its checkpoints.
 */

import type { Example } from '@cutrec/data';
import { type SeenItems, TOPK_CUDA_MAX_K, type TopK } from '@cutrec/kernels';
import * as tf from '@tensorflow/tfjs';
import type { TrainingState } from '../checkpoint/checkpoint.js';
import { type ResolvedSASRecConfig, resolveConfig, type SASRecConfig } from '../config.js';
import type { EngineEvaluateOptions, TrainingEngine } from '../engine.js';
import { gbceBeta } from '../losses/sampled-bce.js';
import { checkLossSpec, type LossSpec } from '../losses/types.js';
import { type ResolvedAdamWConfig, resolveAdamW } from '../optim/adamw.js';
import { learningRate } from '../optim/schedule.js';
import { checkInputIds, initialValues, parameterSpecs, SASRec } from '../sasrec.js';
import { type Batch, checkBatch, type TrainerOptions } from '../train.js';
import { allocateStepBuffers, type StepShapes, stepBufferBytes, stepShapes } from './buffers.js';
import {
  checkSeenLists,
  largestChunkSeen,
  type RankScratch,
  TOPK_CHUNK_ITEMS,
  type TopKScratch,
} from './eval-scratch.js';
import { evaluateFused } from './evaluate.js';
import { type ParamLayout, packFlat, paramLayout, unpackFlat } from './layout.js';
import type { ActDtype, EngineOps, StepLoss, StepOptimizer } from './ops.js';
import { forward, type StepContext, trainStep } from './step.js';

/** A device the fused step runs on: its ops plus transfers, step recording and the loss read-back. */
export interface FusedDevice<B> extends EngineOps<B> {
  /** A name for messages ('host', 'cuda'). */
  readonly name: string;
  /** The model seed, which keys the dropout masks; the engine sets it. */
  seed: number;
  /** Copies host values into `b` (ordered before later work). */
  upload(b: B, data: Float32Array | Int32Array): void;
  /**
   * Queues a copy of host values into `b` after the work queued so far, without waiting for that
   * work (CUDA: pinned staging and an async copy on the stream; WebGPU: `queue.writeBuffer`; the
   * host: a copy). `data` is taken at the call: the caller may change it as soon as this returns.
   */
  enqueueUpload(b: B, data: Float32Array | Int32Array): void;
  /**
   * Queues a read-back of the first `n` int32 values of `b` as the work queued so far leaves them,
   * without waiting: later work may overwrite `b` at once. `take` (once) waits for the values:
   * synchronously on the host and CUDA, as a Promise on WebGPU.
   */
  enqueueReadInt32(b: B, n: number): PendingRead;
  /** The first `n` values of `b` as float32, after all queued work. */
  download(b: B, n: number): Float32Array;
  /** The first `n` values of an int32 buffer, after all queued work. */
  downloadInt32(b: B, n: number): Int32Array;
  /** Sets the step counter (the stream of dropout and negatives, and the schedule's position). */
  setStep(step: number): void;
  /** Writes the batch for the next step (ids and targets, [R] each). */
  writeBatch(ids: B, targets: B, inputs: Int32Array, targetIds: Int32Array): void;
  /** Queues dst = src over `n` int32 values (both 'i32' buffers or views). */
  copyInt32(src: B, dst: B, n: number): void;
  /**
   * Runs the work `record` queues; the device may keep it under `key` and replay it the next times
   * (CUDA: captured into a graph on a key's second run, then replayed; WebGPU: recorded on the
   * first, then replayed; the host runs `record`).
   * Under one key, `record` must queue the same work on the same buffers every time: only the
   * buffers' contents may change between runs.
   */
  runReplayable(key: string, record: () => void): void;
  /** Runs the work `record` queues as one step (CUDA: captured once into a graph, then replayed). */
  runStep(record: () => void): void;
  /** The mean loss of completed step `step` (0-based); may wait for it. */
  lossOf(step: number): number;
  /** Frees buffers allocated with `alloc` outside the engine's own (evaluation scratch). */
  free(...bufs: B[]): void;
  /** Steps whose losses can wait on the device before they must be read. */
  readonly lossRing: number;
  /** Bytes of device memory free now (undefined where there is no such limit, e.g. the host). */
  freeBytes?(): number;
  /** Asynchronous read-back (devices that cannot wait synchronously: WebGPU, whose `download` throws). */
  downloadAsync?(b: B, n: number): Promise<Float32Array>;
  /** Asynchronous {@link downloadInt32} (WebGPU). */
  downloadInt32Async?(b: B, n: number): Promise<Int32Array>;
  /** Asynchronous {@link lossOf} (WebGPU). */
  lossOfAsync?(step: number): Promise<number>;
  dispose(): void;
}

/** A read-back queued by {@link FusedDevice.enqueueReadInt32}; `take` may be called once. */
export interface PendingRead {
  take(): Int32Array | Promise<Int32Array>;
}

/** Options of a {@link FusedTrainer}: the tfjs Trainer's, plus the batch size the buffers are sized for. */
export interface FusedTrainerOptions extends TrainerOptions {
  /** Sequences per step; smaller batches are padded with empty sequences (which change nothing). */
  batchSize: number;
}

/** The step's loss from a {@link LossSpec}; throws for what the fused engine does not run. */
export function stepLoss(spec: LossSpec, numItems: number, seed: number): StepLoss {
  checkLossSpec(spec);
  switch (spec.kind) {
    case 'custom':
      throw new RangeError(
        "engine 'fused' runs the built-in losses (ce, cce-, bce, gbce), not loss.kind 'custom'; use engine 'tfjs'",
      );
    case 'ce':
      return { kind: 'cce', options: { negatives: 'all' }, seed };
    case 'cce-': {
      const sampler = spec.sampler ?? 'uniform';
      if (sampler === 'inBatch') {
        throw new RangeError(
          "engine 'fused' does not run loss.sampler 'inBatch'; use 'uniform' or 'popularity', or engine 'tfjs'",
        );
      }
      return {
        kind: 'cce',
        options: {
          negatives: spec.negatives,
          share: spec.share ?? 'row',
          sampler,
          ...(spec.blockRows !== undefined ? { blockRows: spec.blockRows } : {}),
          logQ: spec.logQ ?? true,
          removeAccidentalHits: spec.removeAccidentalHits ?? true,
        },
        seed,
      };
    }
    case 'bce':
      return {
        kind: 'bce',
        negatives: spec.negatives ?? 1,
        beta: 1,
        removeAccidentalHits: spec.removeAccidentalHits ?? true,
        seed,
      };
    case 'gbce':
      return {
        kind: 'bce',
        negatives: spec.negatives,
        beta: gbceBeta(spec.negatives, numItems, spec.t),
        removeAccidentalHits: spec.removeAccidentalHits ?? true,
        seed,
      };
  }
}

const GiB = 2 ** 30;
/** cuBLASLt's workspace and other fixed device allocations, beyond the buffers listed in buffers.ts. */
const FIXED_BYTES = 64 * 2 ** 20;

/** Device bytes a fused trainer allocates: parameters, gradients, moments, the act copy, the step buffers. */
export function fusedBytes(
  layout: ParamLayout,
  sh: StepShapes,
  norm: 'pre' | 'post',
  dtype: ActDtype,
): {
  params: number;
  activations: number;
  total: number;
} {
  const params = layout.total * 4 * 4 + (dtype === 'float32' ? 0 : layout.total * 2);
  const activations = stepBufferBytes(sh, norm, dtype);
  return { params, activations, total: params + activations + FIXED_BYTES };
}

/** Throws before anything is allocated when the engine's buffers would not fit the device's free memory. */
function checkFits<B>(
  device: FusedDevice<B>,
  layout: ParamLayout,
  sh: StepShapes,
  norm: 'pre' | 'post',
): void {
  const free = device.freeBytes?.();
  if (free === undefined) return;
  const need = fusedBytes(layout, sh, norm, device.dtype);
  if (need.total <= free) return;
  const room = free - need.params - FIXED_BYTES;
  const fitB = room > 0 ? Math.floor((sh.B * room) / need.activations) : 0;
  throw new RangeError(
    `the fused engine needs ${(need.total / GiB).toFixed(2)} GiB (activations ${(need.activations / GiB).toFixed(2)} GiB for batch size ${sh.B} × max-len ${sh.L} × hidden ${sh.D}, parameters and Adam state ${(need.params / GiB).toFixed(2)} GiB) and the ${device.name} device has ${(free / GiB).toFixed(2)} GiB free: ` +
      (fitB >= 1
        ? `lower --batch-size to ${fitB} or less (or --max-len / --hidden)`
        : `the parameters, Adam state and workspaces alone (${((need.params + FIXED_BYTES) / GiB).toFixed(2)} GiB) do not fit: lower --hidden, or free device memory`),
  );
}

/** g·s in place (float16 storage: the device holds the summed loss's gradients, s = 1/count). */
function scaled(g: Float32Array, s: number): Float32Array {
  for (let i = 0; i < g.length; i++) g[i] = g[i]! * s;
  return g;
}

let nextRankId = 0;

/** SASRec training with the fused step on one device; `step` counts completed steps. */
export class FusedTrainer<B = unknown> implements TrainingEngine {
  readonly engine = 'fused' as const;
  readonly config: ResolvedSASRecConfig;
  /** The tfjs model it was built from, if any (what `syncModel` writes by default). */
  readonly model: SASRec | undefined;
  readonly device: FusedDevice<B>;
  readonly layout: ParamLayout;
  readonly shapes: StepShapes;
  readonly seed: number;
  readonly ignoreIndex: number;
  readonly loss: LossSpec;
  readonly optimizerConfig: ResolvedAdamWConfig;
  private readonly ctx: StepContext<B>;
  private readonly checkIds: boolean;
  private completed = 0;
  private readLosses = 0;
  private lastFinite: { step: number; loss: number } | undefined;
  private rank: RankScratch<B> | undefined;
  private topk: TopKScratch<B> | undefined;
  /** Top-k scratches allocated so far (each one's generation, which keys its replayable work). */
  private topkAllocations = 0;
  /** Tells this trainer's replayable rank work from another's on a shared device. */
  private readonly rankId = nextRankId++;

  /**
   * Allocates every buffer and uploads the parameters: `initial` by name when given, else a tfjs
   * model's current values (read synchronously, so a CPU-backend model; a WebGPU-backend model
   * goes through {@link FusedTrainer.fromModel}), else a config's initial values (no tfjs involved).
   */
  constructor(
    source: SASRec | SASRecConfig,
    device: FusedDevice<B>,
    options: FusedTrainerOptions,
    initial?: Record<string, ArrayLike<number>>,
  ) {
    const model = source instanceof SASRec ? source : undefined;
    const cfg = model ? model.config : resolveConfig(source as SASRecConfig);
    this.config = cfg;
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`FusedTrainer: batchSize must be an integer ≥ 1, got ${options.batchSize}`);
    }
    this.model = model;
    this.device = device;
    this.seed = options.seed ?? cfg.seed;
    this.ignoreIndex = options.ignoreIndex ?? -1;
    this.checkIds = options.checkIds ?? true;
    this.layout = paramLayout(cfg);
    this.shapes = stepShapes(cfg, options.batchSize);
    const adam = resolveAdamW(options.optimizer);
    this.loss = options.loss;
    this.optimizerConfig = adam;
    const optimizer: StepOptimizer = {
      lr: adam.lr,
      schedule: adam.schedule,
      beta1: adam.betas[0],
      beta2: adam.betas[1],
      eps: adam.eps,
      weightDecay: adam.weightDecay,
      clipNorm: adam.clipNorm,
    };
    device.seed = cfg.seed;
    checkFits(device, this.layout, this.shapes, cfg.norm);
    const n = this.layout.total;
    const params = device.alloc(n, 'f32');
    const weights = device.dtype === 'float32' ? params : device.alloc(n, 'act');
    this.ctx = {
      ops: device,
      config: cfg,
      sh: this.shapes,
      bufs: allocateStepBuffers(device, this.shapes, cfg.norm),
      layout: this.layout,
      params,
      grads: device.alloc(n, 'f32'),
      m: device.alloc(n, 'f32'),
      v: device.alloc(n, 'f32'),
      weights,
      loss: stepLoss(options.loss, cfg.numItems, this.seed),
      optimizer,
      ignoreIndex: this.ignoreIndex,
      training: true,
    };
    const values: Record<string, ArrayLike<number>> = {};
    if (initial) {
      Object.assign(values, initial);
    } else if (model) {
      for (const p of model.parameters) values[p.name] = p.variable.dataSync() as Float32Array;
    } else {
      for (const [i, spec] of parameterSpecs(cfg).entries())
        values[spec.name] = initialValues(spec, i, cfg.seed);
    }
    this.loadState(0, values);
  }

  /**
   * A fused trainer starting from a tfjs model's current values, read asynchronously (any tfjs
   * backend, WebGPU included); `syncModel`/`syncModelAsync` write back into that model.
   */
  static async fromModel<B>(
    model: SASRec,
    device: FusedDevice<B>,
    options: FusedTrainerOptions,
  ): Promise<FusedTrainer<B>> {
    const values: Record<string, Float32Array> = {};
    for (const p of model.parameters) values[p.name] = (await p.variable.data()) as Float32Array;
    return new FusedTrainer(model, device, options, values);
  }

  /** Steps completed so far. */
  get step(): number {
    return this.completed;
  }

  /** Replaces parameters (and Adam moments, zero when omitted) and the step counter. */
  loadState(
    step: number,
    params: Record<string, ArrayLike<number>>,
    m?: Record<string, ArrayLike<number>>,
    v?: Record<string, ArrayLike<number>>,
  ): void {
    const { device: d, ctx } = this;
    const flat = packFlat(this.layout, params);
    d.upload(ctx.params, flat);
    if (ctx.weights !== ctx.params) d.castToAct(ctx.params, ctx.weights, this.layout.total);
    d.upload(ctx.m, m ? packFlat(this.layout, m) : new Float32Array(this.layout.total));
    d.upload(ctx.v, v ? packFlat(this.layout, v) : new Float32Array(this.layout.total));
    d.setStep(step);
    this.completed = step;
    this.readLosses = step;
  }

  private writeBatch(batch: Batch): void {
    const C = this.config.numItems;
    const { inputs, targets } = batch;
    const R = this.shapes.R;
    const sequences = checkBatch(batch, this.config, this.ignoreIndex, this.checkIds);
    if (sequences > this.shapes.B) {
      throw new RangeError(
        `trainStep: the batch has ${sequences} sequences; the fused engine was built for batchSize ${this.shapes.B}`,
      );
    }
    let ids = inputs;
    let tg = targets;
    if (inputs.length < R) {
      ids = new Int32Array(R).fill(C);
      ids.set(inputs);
      tg = new Int32Array(R).fill(this.ignoreIndex);
      tg.set(targets);
    }
    this.device.writeBatch(this.ctx.bufs.ids, this.ctx.bufs.targets, ids, tg);
  }

  /** Queues one step on `batch` without waiting for it (read the losses with {@link takeLosses}). */
  enqueueStep(batch: Batch): void {
    if (this.completed - this.readLosses >= this.device.lossRing) this.takeLosses();
    this.writeBatch(batch);
    this.device.runStep(() => trainStep(this.ctx));
    this.completed += 1;
  }

  /**
   * {@link enqueueStep} for devices whose read-backs are asynchronous (WebGPU): when the loss ring
   * is full, its losses are read asynchronously first (and, as there, dropped).
   */
  async enqueueStepAsync(batch: Batch): Promise<void> {
    if (this.completed - this.readLosses >= this.device.lossRing) await this.takeLossesAsync();
    this.enqueueStep(batch);
  }

  /**
   * The losses of the steps queued since the last call, oldest first (waits for them). A
   * non-finite loss throws, naming the step and the last finite loss.
   */
  takeLosses(): number[] {
    const out: number[] = [];
    for (let s = this.readLosses; s < this.completed; s++) {
      const loss = this.device.lossOf(s);
      if (!Number.isFinite(loss)) {
        const last = this.lastFinite;
        this.readLosses = this.completed;
        throw new Error(
          `trainStep: the loss at step ${s} is ${loss}${last ? ` (the last finite loss was ${last.loss} at step ${last.step})` : ''}; lower the learning rate or check the inputs`,
        );
      }
      this.lastFinite = { step: s, loss };
      out.push(loss);
    }
    this.readLosses = this.completed;
    return out;
  }

  /** One step on `batch`; returns its mean loss before the update (waits for the step). */
  trainStep(batch: Batch): number {
    this.takeLosses();
    this.enqueueStep(batch);
    return this.takeLosses()[0]!;
  }

  /** The same as {@link trainStep}, as a Promise (the Trainer API; the only form on WebGPU). */
  async trainStepAsync(batch: Batch): Promise<number> {
    if (!this.device.lossOfAsync) return this.trainStep(batch);
    await this.takeLossesAsync();
    this.enqueueStep(batch);
    return (await this.takeLossesAsync())[0]!;
  }

  /** {@link takeLosses} for devices whose read-backs are asynchronous (WebGPU). */
  async takeLossesAsync(): Promise<number[]> {
    const lossOf = this.device.lossOfAsync?.bind(this.device);
    if (!lossOf) return this.takeLosses();
    const out: number[] = [];
    for (let s = this.readLosses; s < this.completed; s++) {
      const loss = await lossOf(s);
      if (!Number.isFinite(loss)) {
        const last = this.lastFinite;
        this.readLosses = this.completed;
        throw new Error(
          `trainStep: the loss at step ${s} is ${loss}${last ? ` (the last finite loss was ${last.loss} at step ${last.step})` : ''}; lower the learning rate or check the inputs`,
        );
      }
      this.lastFinite = { step: s, loss };
      out.push(loss);
    }
    this.readLosses = this.completed;
    return out;
  }

  /**
   * 0-based ranks of each user's target among all items (full catalog; `seen` items do not
   * compete) from histories `inputs` [U·L] (left-padded), by the forward pass without dropout on
   * the engine's own buffers, B users at a time (host and CUDA: it waits for the ranks; WebGPU:
   * use {@link rankTargetsAsync}).
   */
  rankTargets(
    inputs: Int32Array,
    targets: Int32Array,
    seen?: { offsets: Int32Array; items: Int32Array },
  ): Int32Array {
    const ranks = this.enqueueRankTargets(inputs, targets, seen).take();
    if (ranks instanceof Promise) {
      ranks.catch(() => {});
      throw new Error(
        `FusedTrainer.rankTargets: read-backs on the ${this.device.name} device are asynchronous; use rankTargetsAsync`,
      );
    }
    return ranks;
  }

  /** {@link rankTargets} as a Promise (every device; the only form on WebGPU). */
  async rankTargetsAsync(
    inputs: Int32Array,
    targets: Int32Array,
    seen?: { offsets: Int32Array; items: Int32Array },
  ): Promise<Int32Array> {
    return await this.enqueueRankTargets(inputs, targets, seen).take();
  }

  /**
   * Queues the ranks of all U users (what {@link rankTargets} returns) and one read-back of them,
   * and returns without waiting; `take()` waits for them (a Promise on WebGPU). A caller may queue
   * the next call before taking this one's ranks, so that the device works while the host reads.
   * Per chunk of B users: the ids (`writeBatch`), one stream-ordered upload of the chunk's targets
   * and seen lists into a scratch buffer that every chunk reuses (an upload is queued after the
   * rank kernels that read the previous one), the forward pass and the rank kernels over all B rows
   * (`runReplayable`: on CUDA one graph launch from the second chunk on, on WebGPU one recorded
   * submission), and a device copy of the
   * chunk's n ranks into one ranks buffer. Nothing here waits for the device, except CUDA's pinned
   * staging rings, which wait for the copy that last used a slot.
   */
  enqueueRankTargets(
    inputs: Int32Array,
    targets: Int32Array,
    seen: { offsets: Int32Array; items: Int32Array } | undefined,
  ): PendingRead {
    const { B, L, D, C } = this.shapes;
    const U = targets.length;
    if (inputs.length !== U * L)
      throw new RangeError(`rankTargets: inputs has ${inputs.length} ids, not U·L = ${U * L}`);
    checkInputIds(inputs, C, 'inputs');
    for (let u = 0; u < U; u++) {
      const y = targets[u]!;
      if (!(y >= 0 && y < C)) throw new RangeError(`rankTargets: targets[${u}] = ${y} is outside [0, ${C})`);
    }
    if (seen) checkSeenLists(seen, U, 'rankTargets');
    if (U === 0) return { take: () => new Int32Array(0) };
    const r = this.rankScratch(U, largestChunkSeen(seen, U, B));
    const d = this.device;
    const evalCtx: StepContext<B> = { ...this.ctx, training: false };
    const items = d.view(this.ctx.params, 0, C * D);
    const tg = d.view(r.inputs, 0, B);
    const offsets = d.view(r.inputs, B, B + 1);
    const seenItems = d.view(r.inputs, 2 * B + 1, r.seenCap);
    // Every chunk ranks all B rows (users past the last chunk's n are padding, their ranks unread)
    // over the same buffers, so that the device can replay the chunk's work (CUDA: one graph).
    const rankChunk = () => {
      forward(evalCtx);
      d.rankTargets({
        hidden: this.ctx.bufs.hidden,
        rowStride: L * D,
        offset: (L - 1) * D,
        items,
        targets: tg,
        U: B,
        C,
        D,
        ...(seen ? { seen: { offsets, items: seenItems } } : {}),
        ranks: r.chunk,
      });
    };
    const key = `rank:${this.rankId}:${seen ? 'seen' : 'all'}:${r.generation}`;
    for (let u0 = 0; u0 < U; u0 += B) {
      const n = this.stageChunk(r, inputs, u0, seen, targets);
      d.runReplayable(key, rankChunk);
      d.copyInt32(r.chunk, d.view(r.ranks, u0, n), n);
    }
    return d.enqueueReadInt32(r.ranks, U);
  }

  /**
   * Writes the ids of users u0 … u0 + n − 1 (n ≤ B; padding beyond) and queues one upload of their
   * targets (0 without) and seen lists into the evaluation scratch; returns n.
   */
  private stageChunk(
    r: RankScratch<B>,
    inputs: Int32Array,
    u0: number,
    seen: SeenItems | undefined,
    targets?: Int32Array,
  ): number {
    const { B, L, C } = this.shapes;
    const d = this.device;
    const host = r.host;
    const n = Math.min(B, inputs.length / L - u0);
    r.ids.set(inputs.subarray(u0 * L, (u0 + n) * L));
    if (n < B) r.ids.fill(C, n * L);
    d.writeBatch(this.ctx.bufs.ids, this.ctx.bufs.targets, r.ids, r.noTargets);
    if (targets) host.set(targets.subarray(u0, u0 + n), 0);
    host.fill(0, targets ? n : 0, B); // padding users rank item 0
    let len = B;
    if (seen) {
      const lo = seen.offsets[u0]!;
      const hi = seen.offsets[u0 + n]!;
      for (let i = 0; i <= n; i++) host[B + i] = seen.offsets[u0 + i]! - lo;
      if (n < B) host.fill(hi - lo, B + n + 1, 2 * B + 1); // padding users have seen nothing
      host.set(seen.items.subarray(lo, hi), 2 * B + 1);
      len = 2 * B + 1 + (hi - lo);
    }
    d.enqueueUpload(r.inputs, host.subarray(0, len));
    return n;
  }

  /**
   * The top k items of each of the U users whose histories are `inputs` [U·L] (left-padded), over
   * the whole catalog by the forward pass without dropout on the engine's own buffers, best first,
   * ties to the lower id, `seen` items left out (−1 / −∞ past a user's candidates): the streamed
   * top-k op, B users at a time (the chunk's forward and top-k replayed as one CUDA graph or one
   * recorded WebGPU submission), no users × C matrix. Waits for the result (host and CUDA; on
   * WebGPU use {@link topKAsync}; a device without the op throws).
   */
  topK(inputs: Int32Array, k: number, seen?: SeenItems): TopK {
    if (this.device.downloadInt32Async) {
      throw new Error(
        `FusedTrainer.topK: read-backs on the ${this.device.name} device are asynchronous; use topKAsync`,
      );
    }
    const d = this.device;
    const { U, t } = this.queueTopK(inputs, k, seen);
    if (!t) return emptyTopK(k);
    return { items: d.downloadInt32(t.ids, U * k), scores: d.download(t.outScores, U * k), users: U, k };
  }

  /** {@link topK} as a Promise (every device; the only form on WebGPU). */
  async topKAsync(inputs: Int32Array, k: number, seen?: SeenItems): Promise<TopK> {
    const d = this.device;
    const { U, t } = this.queueTopK(inputs, k, seen);
    if (!t) return emptyTopK(k);
    const n = U * k;
    const [items, scores] = d.downloadInt32Async
      ? await Promise.all([d.downloadInt32Async(t.ids, n), d.downloadAsync!(t.outScores, n)])
      : [d.downloadInt32(t.ids, n), d.download(t.outScores, n)];
    return { items, scores, users: U, k };
  }

  /** Checks a top-k call of U users and queues its chunks; `t` holds the U·k results (none when U is 0). */
  private queueTopK(
    inputs: Int32Array,
    k: number,
    seen: SeenItems | undefined,
  ): { U: number; t?: TopKScratch<B> } {
    const { B, L, D, C } = this.shapes;
    const d = this.device;
    const topKOp = d.topK?.bind(d);
    if (!topKOp) {
      throw new Error(
        `FusedTrainer.topK: the ${d.name} device has no top-k op; use the tfjs engine (topKItems / recommend)`,
      );
    }
    if (!(Number.isInteger(k) && k >= 1 && k <= TOPK_CUDA_MAX_K))
      throw new RangeError(`topK: k must be an integer in [1, ${TOPK_CUDA_MAX_K}], got ${k}`);
    const why = d.topKUnsupported?.(k, D);
    if (why) throw new RangeError(`topK: ${why}`);
    if (inputs.length % L !== 0)
      throw new RangeError(`topK: inputs has ${inputs.length} ids, not a multiple of L = ${L}`);
    const U = inputs.length / L;
    checkInputIds(inputs, C, 'inputs');
    if (seen) checkSeenLists(seen, U, 'topK');
    if (U === 0) return { U };
    const r = this.rankScratch(U, largestChunkSeen(seen, U, B));
    const t = this.topKScratch(U * k, k);
    const evalCtx: StepContext<B> = { ...this.ctx, training: false };
    const offsets = d.view(r.inputs, B, B + 1);
    const seenItems = d.view(r.inputs, 2 * B + 1, r.seenCap);
    const topKChunk = () => {
      forward(evalCtx);
      topKOp({
        hidden: this.ctx.bufs.hidden,
        rowStride: L * D,
        offset: (L - 1) * D,
        items: d.view(this.ctx.params, 0, C * D),
        U: B,
        C,
        D,
        k,
        ...(seen ? { seen: { offsets, items: seenItems } } : {}),
        rows: t.rows,
        scores: t.scores,
        ids: t.chunkIds,
        outScores: t.chunkScores,
      });
    };
    const key = `topk:${this.rankId}:${k}:${seen ? 'seen' : 'all'}:${r.generation}:${t.generation}`;
    for (let u0 = 0; u0 < U; u0 += B) {
      const n = this.stageChunk(r, inputs, u0, seen);
      d.runReplayable(key, topKChunk);
      // Raw 32-bit copies of the chunk's n users' ids and scores into the call's results.
      d.copyInt32(t.chunkIds, d.view(t.ids, u0 * k, n * k), n * k);
      d.copyInt32(t.chunkScores, d.view(t.outScores, u0 * k, n * k), n * k);
    }
    return { U, t };
  }

  /** The top-k scratch for U·k results of lists of k: allocated on first use, grown when a call needs more. */
  private topKScratch(results: number, k: number): TopKScratch<B> {
    const { B, D, C } = this.shapes;
    const d = this.device;
    let t = this.topk;
    if (t && (t.k !== k || results > t.resultsCap)) {
      this.freeTopK();
      t = undefined;
    }
    if (!t) {
      const resultsCap = Math.max(results, B * k);
      t = {
        k,
        resultsCap,
        ids: d.alloc(resultsCap, 'i32'),
        outScores: d.alloc(resultsCap, 'f32'),
        chunkIds: d.alloc(B * k, 'i32'),
        chunkScores: d.alloc(B * k, 'f32'),
        rows: d.alloc(B * D, 'f32'),
        scores: d.alloc(B * Math.min(C, TOPK_CHUNK_ITEMS), 'f32'),
        generation: ++this.topkAllocations,
      };
      this.topk = t;
    }
    return t;
  }

  /**
   * The evaluation scratch for a call of U users whose largest chunk has `maxSeen` seen entries:
   * allocated on first use, grown (freed and allocated again) only when a call needs more, and
   * freed in {@link dispose}.
   */
  private rankScratch(U: number, maxSeen: number): RankScratch<B> {
    const { B, R, C } = this.shapes;
    const d = this.device;
    let r = this.rank;
    if (!r) {
      r = {
        ranks: d.alloc(U, 'i32'),
        ranksCap: U,
        chunk: d.alloc(B, 'i32'),
        generation: 0,
        inputs: d.alloc(2 * B + 1 + Math.max(1, maxSeen), 'i32'),
        seenCap: Math.max(1, maxSeen),
        host: new Int32Array(2 * B + 1 + Math.max(1, maxSeen)),
        ids: new Int32Array(R).fill(C),
        noTargets: new Int32Array(R).fill(this.ignoreIndex), // the forward pass needs none
      };
      this.rank = r;
    }
    if (U > r.ranksCap) {
      d.free(r.ranks);
      r.ranks = d.alloc(U, 'i32');
      r.ranksCap = U;
    }
    if (maxSeen > r.seenCap) {
      d.free(r.inputs);
      r.inputs = d.alloc(2 * B + 1 + maxSeen, 'i32');
      r.seenCap = maxSeen;
      r.generation += 1; // the chunk's replayed work read the old buffer
      r.host = new Int32Array(2 * B + 1 + maxSeen);
    }
    return r;
  }

  /** The parameters by name (host copies, after queued work). */
  parameters(): Record<string, Float32Array> {
    return unpackFlat(this.layout, this.device.download(this.ctx.params, this.layout.total));
  }

  /** The gradients of the last step by name (before clipping). */
  gradients(): Record<string, Float32Array> {
    const g = this.device.download(this.ctx.grads, this.layout.total);
    const s = this.ctx.bufs.gradScale;
    return unpackFlat(this.layout, s ? scaled(g, this.device.download(s, 1)[0]!) : g);
  }

  /** {@link parameters} for devices whose read-backs are asynchronous (WebGPU). */
  async parametersAsync(): Promise<Record<string, Float32Array>> {
    const d = this.device;
    const n = this.layout.total;
    return unpackFlat(
      this.layout,
      d.downloadAsync ? await d.downloadAsync(this.ctx.params, n) : d.download(this.ctx.params, n),
    );
  }

  /** {@link gradients} for devices whose read-backs are asynchronous (WebGPU). */
  async gradientsAsync(): Promise<Record<string, Float32Array>> {
    const d = this.device;
    const read = async (b: B, n: number) =>
      d.downloadAsync ? await d.downloadAsync(b, n) : d.download(b, n);
    const g = await read(this.ctx.grads, this.layout.total);
    const s = this.ctx.bufs.gradScale;
    return unpackFlat(this.layout, s ? scaled(g, (await read(s, 1))[0]!) : g);
  }

  /** Adam's first and second moments by name. */
  moments(): { m: Record<string, Float32Array>; v: Record<string, Float32Array> } {
    const n = this.layout.total;
    return {
      m: unpackFlat(this.layout, this.device.download(this.ctx.m, n)),
      v: unpackFlat(this.layout, this.device.download(this.ctx.v, n)),
    };
  }

  /** Full-catalog ranking metrics of the current parameters on `examples`, computed on the device. */
  async evaluate(
    examples: readonly Example[],
    options: EngineEvaluateOptions,
  ): Promise<Record<string, number>> {
    return evaluateFused(this, examples, {
      ks: options.ks,
      removeSeen: options.removeSeen,
      ...(options.beforeBatch ? { beforeBatch: options.beforeBatch } : {}),
    });
  }

  /** The learning rate the next step uses. */
  currentLr(): number {
    return learningRate(this.optimizerConfig.lr, this.optimizerConfig.schedule, this.completed);
  }

  /** {@link moments} for devices whose read-backs are asynchronous (WebGPU). */
  async momentsAsync(): Promise<{ m: Record<string, Float32Array>; v: Record<string, Float32Array> }> {
    const d = this.device;
    const read = d.downloadAsync?.bind(d);
    if (!read) return this.moments();
    const n = this.layout.total;
    return {
      m: unpackFlat(this.layout, await read(this.ctx.m, n)),
      v: unpackFlat(this.layout, await read(this.ctx.v, n)),
    };
  }

  /** The whole training state as host arrays (what a checkpoint holds; waits for queued steps). */
  async trainingState(): Promise<TrainingState> {
    const values = await this.parametersAsync();
    const { m, v } = await this.momentsAsync();
    const params: TrainingState['params'] = {};
    for (const e of this.layout.entries) params[e.name] = { shape: e.shape, data: values[e.name]! };
    // Checkpoints list parameters in the model's order.
    const ordered: TrainingState['params'] = {};
    for (const spec of parameterSpecs(this.config)) ordered[spec.name] = params[spec.name]!;
    return {
      step: this.completed,
      seed: this.seed,
      ignoreIndex: this.ignoreIndex,
      config: this.config,
      optimizer: this.optimizerConfig,
      loss: this.loss,
      params: ordered,
      m,
      v,
    };
  }

  /**
   * Copies the current parameters into a tfjs model's variables (default: the one it was built
   * from); reads back synchronously, so the host and CUDA only: use {@link syncModelAsync} on WebGPU.
   */
  syncModel(target: SASRec | undefined = this.model): void {
    assignParameters(this.syncTarget(target, 'syncModel'), this.parameters());
  }

  /** {@link syncModel} for devices whose read-backs are asynchronous (WebGPU); the same elsewhere. */
  async syncModelAsync(target: SASRec | undefined = this.model): Promise<void> {
    const model = this.syncTarget(target, 'syncModelAsync');
    assignParameters(model, await this.parametersAsync());
  }

  private syncTarget(target: SASRec | undefined, method: string): SASRec {
    if (!target)
      throw new Error(`FusedTrainer.${method}: built from a config; pass the SASRec to write into`);
    return target;
  }

  /** Frees the device buffers (the tfjs model stays). */
  dispose(): void {
    if (this.rank) this.device.free(this.rank.ranks, this.rank.chunk, this.rank.inputs);
    this.rank = undefined;
    this.freeTopK();
    this.device.dispose();
  }

  /** Frees the top-k scratch (the next call allocates it again). */
  private freeTopK(): void {
    const t = this.topk;
    if (t) this.device.free(t.ids, t.outScores, t.chunkIds, t.chunkScores, t.rows, t.scores);
    this.topk = undefined;
  }
}

/** Writes parameters by name into a tfjs model's variables (each of the variable's shape). */
function assignParameters(target: SASRec, values: Record<string, Float32Array>): void {
  for (const p of target.parameters) {
    const v = values[p.name];
    if (!v) throw new Error(`FusedTrainer.syncModel: the model has parameter ${p.name}, the engine does not`);
    p.variable.assign(tf.tensor(v, p.variable.shape, 'float32'));
  }
}

/** The top-k of no users. */
function emptyTopK(k: number): TopK {
  return { items: new Int32Array(0), scores: new Float32Array(0), users: 0, k };
}
