/**
 * The 'wgsl' implementation of the loss contract: fused WebGPU kernels on the tfjs WebGPU
 * backend's own buffers. Forward: the negatives' online log-sum-exp (row or tile kernels, one
 * pass per item chunk), then the target kernel that adds the positive logit and writes lse and
 * loss. Backward: clear dHidden and dItems, the target's gradient term, then the negatives'
 * terms recomputed from lse. No buffer grows with K. The step launchers (what the fused engine
 * records) take `act`: hidden and items stored as f16 ('shader-f16'), every output still f32.
 */
import { type SamplerSpec, seedKey } from '@cutrec/sampler';
import { allocTensor, tensorBuffer, webgpuBackend } from '@cutrec/tensor';
import type * as tf from '@tensorflow/tfjs';
import { actBytes, checkAct, type WgslAct } from '../ops/wgsl-view.js';
import type { CceForwardResult, CceGradients, CceImplementation, ResolvedCceOptions } from '../options.js';
import {
  GATHER_SCRATCH_BYTES,
  type GatherScratch,
  gatherChunking,
  gatherScratch,
  gatherSteps,
} from './gather.js';
import { layoutOf } from './layout.js';
import { inBatchNegBuffers, type NegBuffers, type NegConfig, uploadNegBuffers } from './negatives.js';
import {
  type Chunk,
  chunkRows,
  maxBindingBytes,
  type TileGeometry,
  type TileShape,
  tileGeometry,
  tileShape,
} from './plan.js';
import type { Params } from './program.js';
import { RowProgram, rowSubgroup } from './row.js';
import { type Dispatch, Runner, type Step } from './runner.js';
import { TargetProgram, targetCpu } from './target.js';
import { TileProgram, type TileVariant, tileVariant } from './tile.js';
import { tuning } from './tuning.js';

/** Fewest grad-items workgroups worth having before row sweeps are split across workgroups. */
const MIN_ITEM_UNITS = 1024;

interface Call {
  device: GPUDevice;
  N: number;
  C: number;
  D: number;
  K: number;
  all: boolean;
  rowChunks: Chunk[];
  itemChunks: Chunk[];
  neg: NegConfig | undefined;
  negBufs: NegBuffers | undefined;
  base: Params;
  tile: (TileShape & TileVariant) | undefined;
  /** share 'row': the row kernels' subgroup size (0: the workgroup-memory kernels). */
  rowSubgroup: number;
  groupRows: number;
  removeHits: boolean;
  /** Backward: the dItems gather's budget and scratch (planGather), where it gathers. */
  gather?: { budget: number; scratch: GatherScratch };
  /** Storage of hidden and items (the kernels' `act_t`); everything else is f32/i32. */
  act: WgslAct;
}

/** Shapes of a call: N rows of hidden [N, D] against C items [C, D]. */
export interface CceShape {
  N: number;
  C: number;
  D: number;
}

function prepare(
  device: GPUDevice,
  shape: CceShape,
  targets: GPUBuffer,
  o: ResolvedCceOptions,
  act: WgslAct = 'f32',
): Call {
  const { N, C, D } = shape;
  checkAct(device, 'cceLoss (wgsl)', act);
  const all = o.negatives === 'all';
  const K = all ? C : (o.negatives as number);
  const maxBytes = maxBindingBytes(device);
  // Rows of 4 bytes a column bound the chunks (dHidden, dItems are f32 in any act); f16 hidden
  // and items rows are 2·D bytes, so their chunks start at multiples of 128 rows (256-byte offsets).
  const align = act === 'f16' ? 128 : 64;
  const rowChunks = chunkRows(N, D * 4, maxBytes, 'hidden', align);
  const itemChunks = chunkRows(C, D * 4, maxBytes, 'items', align);
  if (!Number.isInteger(o.step) || o.step < 0 || o.step > 0xffffffff) {
    throw new RangeError(`cceLoss (wgsl): options.step must be an integer in [0, 2^32), got ${o.step}`);
  }
  const [key0, key1] = seedKey(o.seed);
  let neg: NegConfig | undefined;
  let negBufs: NegBuffers | undefined;
  let n = C;
  if (!all) {
    neg = { kind: o.sampler, logQ: o.logQ };
    const base = { numItems: C, seed: o.seed, share: o.share, blockRows: o.blockRows };
    let spec: SamplerSpec = { ...base, kind: 'uniform' };
    if (o.sampler === 'popularity') {
      if (!o.aliasTable) throw new Error("cceLoss (wgsl): sampler 'popularity' needs options.sampler.table");
      spec = { ...base, kind: 'popularity', table: o.aliasTable };
    }
    if (o.sampler === 'inBatch') {
      negBufs = inBatchNegBuffers(device, targets, N, C, o.ignoreIndex);
    } else {
      negBufs = uploadNegBuffers(device, spec);
      n = negBufs.n;
    }
  }
  const groupRows = all || o.share === 'batch' ? N : o.share === 'block' ? o.blockRows : 1;
  const tile =
    all || o.share !== 'row' ? { ...tileShape(device, groupRows, D), ...tileVariant(device, D) } : undefined;
  return {
    device,
    N,
    C,
    D,
    K,
    all,
    rowChunks,
    itemChunks,
    neg,
    negBufs,
    tile,
    rowSubgroup: tile ? 0 : rowSubgroup(device),
    groupRows,
    act,
    removeHits: !all && o.removeAccidentalHits,
    base: {
      dim: D,
      k: K,
      num_items: n,
      block_rows: groupRows,
      key0,
      key1,
      stream: o.step,
      ignore_index: o.ignoreIndex,
      log_k: Math.log(K),
    },
  };
}

/** A binding of rows [chunk) of a buffer whose rows are `rowBytes` wide. */
function rows(buffer: GPUBuffer, c: Chunk, rowBytes: number): GPUBufferBinding {
  return { buffer, offset: c.base * rowBytes, size: c.count * rowBytes };
}

/**
 * Rows [chunk) of hidden or items (`what`), stored as the call's act: D·2 bytes a row in f16, the
 * binding's size rounded up to 4 bytes (WebGPU's rule) within the buffer.
 */
function actRows(call: Call, buffer: GPUBuffer, c: Chunk, what: string): GPUBufferBinding {
  const rb = call.D * actBytes(call.act);
  const offset = c.base * rb;
  const size = Math.min(Math.ceil((c.count * rb) / 4) * 4, buffer.size - offset);
  if (size < c.count * rb || size % 4 !== 0) {
    throw new RangeError(
      `cceLoss (wgsl): ${what} needs bytes [${offset}, ${offset + c.count * rb}) as ${call.act}, bound in multiples of 4; its buffer has ${buffer.size}`,
    );
  }
  return { buffer, offset, size };
}

function chunkParams(call: Call, rc: Chunk, ic: Chunk, first: boolean): Params {
  return {
    ...call.base,
    n_rows: rc.count,
    row_base: rc.base,
    n_items: ic.count,
    item_base: ic.base,
    first: first ? 1 : 0,
    ...(call.all ? { k: ic.count } : {}),
  };
}

function samplerBindings(call: Call): GPUBufferBinding[] {
  return (call.negBufs?.buffers ?? []).map((buffer) => ({ buffer }));
}

function poison(device: GPUDevice, buffer: GPUBuffer, count: number): void {
  if (tuning().poison) device.queue.writeBuffer(buffer, 0, new Float32Array(count).fill(Number.NaN));
}

/** The buffers of a forward: inputs, then the per-row outputs (all [rows] from offset 0). */
export interface CceForwardBuffers {
  hidden: GPUBuffer;
  items: GPUBuffer;
  targets: GPUBuffer;
  lse: GPUBuffer;
  loss: GPUBuffer;
}

function forwardSteps(call: Call, bufs: CceForwardBuffers): Step[] {
  const { D } = call;
  const { hidden: hB, items: iB, targets: tB } = bufs;
  const steps: Step[] = [...(call.negBufs?.steps ?? [])];
  if (call.N === 0) return steps;
  for (const rc of call.rowChunks) {
    const geo = call.tile ? tileGeometry(rc, call.groupRows, call.tile.tr) : undefined;
    call.itemChunks.forEach((ic, ii) => {
      const buffers = [
        actRows(call, hB, rc, 'hidden'),
        actRows(call, iB, ic, 'items'),
        rows(tB, rc, 4),
        rows(bufs.lse, rc, 4),
        rows(bufs.loss, rc, 4),
        ...samplerBindings(call),
      ];
      const params = chunkParams(call, rc, ic, ii === 0);
      if (!geo || !call.tile) {
        const program = new RowProgram({
          neg: call.neg as NegConfig,
          removeHits: call.removeHits,
          backward: false,
          vec4: D % 4 === 0,
          subgroup: call.rowSubgroup,
          act: call.act,
        });
        const v4 = D % 4 === 0 ? [actRows(call, hB, rc, 'hidden'), actRows(call, iB, ic, 'items')] : [];
        steps.push({ program, params, buffers: [...buffers, ...v4], units: rc.count });
      } else {
        const program = new TileProgram({
          kernel: 'lse',
          neg: call.neg,
          removeHits: call.removeHits,
          ...call.tile,
          atomicItems: false,
          act: call.act,
        });
        steps.push({
          program,
          params: { ...params, g0: geo.g0, tiles_per_group: geo.tilesPerGroup },
          buffers,
          units: geo.nGroups * geo.tilesPerGroup,
        });
      }
    });
  }
  const target = new TargetProgram({
    all: call.all,
    backward: false,
    cpu: targetCpu(call.device),
    act: call.act,
  });
  for (const rc of call.rowChunks) {
    call.itemChunks.forEach((ic, ii) => {
      steps.push({
        program: target,
        params: chunkParams(call, rc, ic, ii === 0),
        buffers: [
          actRows(call, hB, rc, 'hidden'),
          actRows(call, iB, ic, 'items'),
          rows(tB, rc, 4),
          rows(bufs.lse, rc, 4),
          rows(bufs.loss, rc, 4),
        ],
        units: target.units(rc.count),
      } satisfies Dispatch);
    });
  }
  return steps;
}

function forward(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  o: ResolvedCceOptions,
): CceForwardResult {
  const device = tfjsDevice();
  const [N, D] = hidden.shape;
  const call = prepare(device, { N, C: items.shape[0], D }, tensorBuffer(targets), o);
  const loss = allocTensor<tf.Rank.R1>([N], 'float32');
  const lse = allocTensor<tf.Rank.R1>([N], 'float32');
  try {
    if (N === 0) return { loss: loss.tensor, lse: lse.tensor };
    poison(device, loss.buffer, N);
    poison(device, lse.buffer, N);
    const bufs = {
      hidden: tensorBuffer(hidden),
      items: tensorBuffer(items),
      targets: tensorBuffer(targets),
      lse: lse.buffer,
      loss: loss.buffer,
    };
    Runner.of(device).submit(forwardSteps(call, bufs));
    return { loss: loss.tensor, lse: lse.tensor };
  } finally {
    call.negBufs?.release();
  }
}

/** The buffers of a backward: inputs, then dHidden [N, D] (written) and dItems [C, D] (accumulated). */
export interface CceBackwardBuffers {
  hidden: GPUBuffer;
  items: GPUBuffer;
  targets: GPUBuffer;
  lse: GPUBuffer;
  dLoss: GPUBuffer;
  dHidden: GPUBuffer;
  dItems: GPUBuffer;
  /**
   * Optional scratch for the dItems gather's partial sums (share 'block'/'batch' in layout 'gpu'):
   * a free region of any buffer (offset a multiple of 256 bytes), not read or written by anything
   * else until the steps have run; its size is the budget that sets the groups per chunk. Without
   * it the gather allocates its own (tuning.gatherScratchBytes, default 128 MiB at most).
   */
  itemsScratch?: GPUBufferBinding;
}

/** The backward's steps: dHidden is cleared first, dItems too unless `accumulateItems`. */
function backwardSteps(call: Call, bufs: CceBackwardBuffers, accumulateItems: boolean): Step[] {
  const { D } = call;
  planGather(call, bufs.itemsScratch);
  const clears: Step[] = [];
  if (call.N * D > 0) clears.push({ clear: bufs.dHidden, offset: 0, size: call.N * D * 4 });
  if (!accumulateItems) clears.push({ clear: bufs.dItems, offset: 0, size: call.C * D * 4 });
  const steps: Step[] = [...clears, ...(call.negBufs?.steps ?? [])];
  if (call.N > 0) {
    const { hidden: hB, items: iB, targets: tB, lse: lB, dLoss: gB } = bufs;
    const rb = D * 4;
    const target = new TargetProgram({
      all: call.all,
      backward: true,
      cpu: targetCpu(call.device),
      act: call.act,
    });
    const common = (rc: Chunk, ic: Chunk) => [
      actRows(call, hB, rc, 'hidden'),
      actRows(call, iB, ic, 'items'),
      rows(tB, rc, 4),
      rows(lB, rc, 4),
      rows(gB, rc, 4),
    ];
    for (const rc of call.rowChunks) {
      for (const ic of call.itemChunks) {
        steps.push({
          program: target,
          params: chunkParams(call, rc, ic, false),
          buffers: [...common(rc, ic), rows(bufs.dHidden, rc, rb), rows(bufs.dItems, ic, rb)],
          units: target.units(rc.count),
        });
      }
    }
    for (const rc of call.rowChunks) {
      for (const ic of call.itemChunks) {
        const params = chunkParams(call, rc, ic, false);
        if (!call.tile) {
          steps.push({
            program: new RowProgram({
              neg: call.neg as NegConfig,
              removeHits: call.removeHits,
              backward: true,
              vec4: D % 4 === 0,
              subgroup: call.rowSubgroup,
              act: call.act,
            }),
            params,
            buffers: [
              ...common(rc, ic),
              rows(bufs.dHidden, rc, rb),
              rows(bufs.dItems, ic, rb),
              ...samplerBindings(call),
              ...(D % 4 === 0 ? [actRows(call, hB, rc, 'hidden'), actRows(call, iB, ic, 'items')] : []),
            ],
            units: rc.count,
          });
          continue;
        }
        steps.push(...tileBackwardSteps(call, bufs, rc, ic, common(rc, ic)));
      }
    }
  }
  return steps;
}

/**
 * grad-items' split of a group's row sweep over workgroups for chunks of `groups` groups with
 * `perGroup` workgroups each: enough workgroups in all (MIN_ITEM_UNITS), at most one per row tile.
 */
const itemSplits = (geo: TileGeometry, perGroup: number) => (groups: number) =>
  Math.min(geo.tilesPerGroup, Math.max(1, Math.ceil(MIN_ITEM_UNITS / (groups * perGroup))));

/** grad-hidden and grad-items of the tile kernels on one (row chunk, item chunk). */
function tileBackwardSteps(
  call: Call,
  bufs: CceBackwardBuffers,
  rc: Chunk,
  ic: Chunk,
  common: GPUBufferBinding[],
): Step[] {
  const t = call.tile as TileShape & TileVariant;
  const { D } = call;
  const rb = D * 4;
  const geo = tileGeometry(rc, call.groupRows, t.tr);
  const nd = Math.ceil(D / t.dc);
  const k = call.all ? ic.count : call.K;
  const nKtiles = Math.ceil(k / t.tk);
  const params = chunkParams(call, rc, ic, false);
  const tileParams = { ...params, g0: geo.g0, tiles_per_group: geo.tilesPerGroup, n_dchunks: nd };
  const tileCfg = { neg: call.neg, removeHits: call.removeHits, ...t, act: call.act };
  const steps: Step[] = [
    {
      program: new TileProgram({ kernel: 'grad-hidden', ...tileCfg, atomicItems: false }),
      params: tileParams,
      buffers: [...common, rows(bufs.dHidden, rc, rb), ...samplerBindings(call)],
      units: geo.nGroups * geo.tilesPerGroup * nd,
    },
  ];
  const splitsFor = itemSplits(geo, nKtiles * nd);
  const dItems = rows(bufs.dItems, ic, rb);
  const ch = call.gather ? gatherChunking(geo.nGroups, k, D, call.gather.budget, splitsFor) : undefined;
  if (!ch || !call.gather) {
    const splits = splitsFor(geo.nGroups);
    steps.push({
      program: new TileProgram({ kernel: 'grad-items', ...tileCfg, atomicItems: !call.all || splits > 1 }),
      params: { ...tileParams, n_ktiles: nKtiles, n_groups: geo.nGroups, splits },
      buffers: [...common, dItems, ...samplerBindings(call)],
      units: geo.nGroups * nKtiles * nd * splits,
    });
    return steps;
  }
  const scratch = call.gather.scratch;
  const partial = new TileProgram({ kernel: 'grad-items', ...tileCfg, atomicItems: false, scratch: true });
  for (let g = 0; g < geo.nGroups; g += ch.groups) {
    const groups = Math.min(ch.groups, geo.nGroups - g);
    const p = { ...tileParams, g0: geo.g0 + g, n_ktiles: nKtiles, n_groups: groups, splits: ch.splits };
    const partBytes = ch.splits * groups * k * rb;
    steps.push({
      program: partial,
      params: p,
      buffers: [...common, { ...scratch.part, size: partBytes }, ...samplerBindings(call)],
      units: groups * nKtiles * nd * ch.splits,
    });
    steps.push(...gatherSteps(scratch, call.neg as NegConfig, p, partBytes, dItems, samplerBindings(call)));
  }
  return steps;
}

/**
 * Whether the tile kernels' grad-items gathers (gather.ts) on this call: sampled negatives shared
 * by blocks or the batch, the workgroup-memory tile kernel, layout 'gpu' (or tuning.gradItems).
 */
function gathers(call: Call): boolean {
  const t = call.tile;
  if (!t || call.all || !call.neg || t.subgroup) return false;
  const forced = tuning().gradItems ?? envGradItems();
  return forced ? forced === 'gather' : layoutOf(call.device) === 'gpu';
}

/** $CUTREC_WGSL_GRAD_ITEMS (`gather` or `cas`, for benchmarks of the whole step), else undefined. */
function envGradItems(): 'gather' | 'cas' | undefined {
  const v = typeof process === 'undefined' ? undefined : process.env.CUTREC_WGSL_GRAD_ITEMS;
  if (v === undefined || v === '') return undefined;
  if (v === 'gather' || v === 'cas') return v;
  throw new Error(`CUTREC_WGSL_GRAD_ITEMS must be gather or cas, got "${v}"`);
}

/**
 * Sets up call.gather for a backward where it gathers: the budget (the caller's scratch, else
 * tuning or {@link GATHER_SCRATCH_BYTES}, at most one binding) and the scratch sized for the
 * largest chunk of groups any (row chunk, item chunk) needs.
 */
function planGather(call: Call, callerScratch: GPUBufferBinding | undefined): void {
  if (!gathers(call) || call.N === 0) return;
  const t = call.tile as TileShape & TileVariant;
  const want = callerScratch?.size ?? tuning().gatherScratchBytes ?? GATHER_SCRATCH_BYTES;
  const budget = Math.min(want, maxBindingBytes(call.device));
  const nKtiles = Math.ceil(call.K / t.tk);
  const nd = Math.ceil(call.D / t.dc);
  let partBytes = 0;
  let occurrences = 0;
  for (const rc of call.rowChunks) {
    const geo = tileGeometry(rc, call.groupRows, t.tr);
    const ch = gatherChunking(geo.nGroups, call.K, call.D, budget, itemSplits(geo, nKtiles * nd));
    if (!ch) return;
    partBytes = Math.max(partBytes, ch.splits * ch.groups * call.K * call.D * 4);
    occurrences = Math.max(occurrences, ch.groups * call.K);
  }
  const items = Math.max(...call.itemChunks.map((c) => c.count));
  const part = callerScratch && { ...callerScratch, size: partBytes };
  call.gather = { budget, scratch: gatherScratch(call.device, partBytes, occurrences, items, part) };
}

/** Frees what a call allocated (sampler tables, the gather's scratch) after its last submission. */
function releaseCall(call: Call): void {
  call.negBufs?.release();
  call.gather?.scratch?.release();
}

function backward(
  hidden: tf.Tensor2D,
  items: tf.Tensor2D,
  targets: tf.Tensor1D,
  lseT: tf.Tensor1D,
  dLoss: tf.Tensor1D,
  o: ResolvedCceOptions,
): CceGradients {
  const device = tfjsDevice();
  const [N, D] = hidden.shape;
  const C = items.shape[0];
  const call = prepare(device, { N, C, D }, tensorBuffer(targets), o);
  const dHidden = allocTensor<tf.Rank.R2>([N, D], 'float32');
  const dItems = allocTensor<tf.Rank.R2>([C, D], 'float32');
  try {
    const bufs = {
      hidden: tensorBuffer(hidden),
      items: tensorBuffer(items),
      targets: tensorBuffer(targets),
      lse: tensorBuffer(lseT),
      dLoss: tensorBuffer(dLoss),
      dHidden: dHidden.buffer,
      dItems: dItems.buffer,
    };
    Runner.of(device).submit(backwardSteps(call, bufs, false));
    return { dHidden: dHidden.tensor, dItems: dItems.tensor };
  } finally {
    releaseCall(call);
  }
}

const tfjsDevice = (): GPUDevice => (webgpuBackend() as unknown as { device: GPUDevice }).device;

/** Options of the step launchers ({@link wgslCceForwardSteps}, {@link wgslCceBackwardSteps}). */
export interface WgslCceStepOptions {
  /**
   * Storage of hidden [N, D] and items [C, D]: 'f32' (default), or 'f16' (needs 'shader-f16'; 2-byte
   * elements, read into f32). Everything the steps write stays f32: lse, loss, dHidden, dItems,
   * and the gather's scratch (itemsScratch).
   */
  act?: WgslAct;
}

/**
 * The forward's steps on raw buffers (what a fused engine records): lse and loss [N] of hidden
 * [N, D] against items [C, D], every buffer bound from offset 0. `release` frees the sampler
 * tables the steps read (after their last submission).
 */
export function wgslCceForwardSteps(
  device: GPUDevice,
  shape: CceShape,
  bufs: CceForwardBuffers,
  o: ResolvedCceOptions,
  opts: WgslCceStepOptions = {},
): { steps: Step[]; release(): void } {
  const call = prepare(device, shape, bufs.targets, o, opts.act);
  return { steps: forwardSteps(call, bufs), release: () => call.negBufs?.release() };
}

/**
 * The backward's steps on raw buffers: dHidden written, dItems accumulated (EngineOps.lossBackward),
 * from the upstream gradient dLoss [N] (dHidden, dItems f32 in any `opts.act`). `release` as for
 * {@link wgslCceForwardSteps}.
 */
export function wgslCceBackwardSteps(
  device: GPUDevice,
  shape: CceShape,
  bufs: CceBackwardBuffers,
  o: ResolvedCceOptions,
  opts: WgslCceStepOptions = {},
): { steps: Step[]; release(): void } {
  const call = prepare(device, shape, bufs.targets, o, opts.act);
  return { steps: backwardSteps(call, bufs, true), release: () => releaseCall(call) };
}

/** The fused WebGPU implementation (needs tfjs on the WebGPU backend: `setupTfjs({ backend: 'webgpu' })`). */
export const wgslImplementation: CceImplementation = { name: 'wgsl', forward, backward };
