/**
 * The dItems gather of the tile kernels (share 'block'/'batch', layout 'gpu'): instead of CAS
 * float adds, grad-items writes each chunk of groups' partial sums into a scratch buffer, which is
 * then sorted by item on the device and summed per item (gather.wgsl.ts). The scratch is sized
 * by a budget (default {@link GATHER_SCRATCH_BYTES}, or a buffer the caller passes), which sets
 * the groups per chunk.
 */
import { memoryMeter } from '@cutrec/tensor';
import { GATHER_SUM_WG, GATHER_WG, type GatherStage, gatherBindings, gatherWGSL } from './gather.wgsl.js';
import { type NegConfig, negBindingCount } from './negatives.js';
import type { BindingKind, Params, WgslProgram } from './program.js';
import type { Step } from './runner.js';
import { tuning } from './tuning.js';

/** Default scratch budget of the partial sums (bytes). */
export const GATHER_SCRATCH_BYTES = 128 * 2 ** 20;

export class GatherProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize: number;
  readonly bindings: readonly BindingKind[];

  /** Bindings after params: see gatherBindings (count, scatter: then the sampler's buffers). */
  constructor(
    private readonly stage: GatherStage,
    private readonly neg: NegConfig | undefined,
  ) {
    const draws = stage === 'count' || stage === 'scatter';
    const negKey = draws && neg ? `/${neg.kind}` : '';
    this.key = `gather/${stage}${negKey}`;
    this.workgroupSize = stage === 'sum' ? GATHER_SUM_WG : GATHER_WG;
    const own = gatherBindings(stage).map(([, k]) => k);
    const sampler = draws && neg ? negBindingCount(neg) : 0;
    this.bindings = ['uniform', ...own, ...Array<BindingKind>(sampler).fill('read')];
  }

  code(): string {
    return gatherWGSL(this.stage, this.neg);
  }
}

/** How one row chunk's groups are cut for the gather: groups per chunk and split row sweeps. */
export interface GatherChunking {
  /** Groups per chunk. */
  groups: number;
  /** Workgroups sharing one group's row tiles (each writes its own partial-sum slot). */
  splits: number;
}

/**
 * Groups per chunk and splits for groups of K negatives of D floats under `budget` bytes of
 * scratch, wanting `wantSplits` (the CAS path's split for nGroups); undefined when one group's
 * partial sums do not fit.
 */
export function gatherChunking(
  nGroups: number,
  K: number,
  D: number,
  budget: number,
  splitsFor: (groups: number) => number,
): GatherChunking | undefined {
  const groupBytes = K * D * 4;
  const fit = Math.floor(budget / groupBytes);
  if (fit < 1) return undefined;
  const groups = Math.min(nGroups, fit);
  const splits = Math.max(1, Math.min(splitsFor(groups), Math.floor(fit / groups)));
  return { groups, splits };
}

/** Scratch of the gather: partial sums, the occurrence order, counts/cursors and starts. */
export interface GatherScratch {
  part: GPUBufferBinding;
  order: GPUBuffer;
  hist: GPUBuffer;
  off: GPUBuffer;
  release(): void;
}

/**
 * Allocates the gather's scratch (counted by the meter) for `partBytes` of partial sums (unless
 * `part` is the caller's), `occurrences` per chunk and item chunks of up to `items` items.
 */
export function gatherScratch(
  device: GPUDevice,
  partBytes: number,
  occurrences: number,
  items: number,
  part?: GPUBufferBinding,
): GatherScratch {
  const meter = memoryMeter();
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const mk = (bytes: number, label: string) =>
    meter.createBuffer(device, { size: Math.max(4, Math.ceil(bytes / 4) * 4), usage, label });
  const own = part ? undefined : mk(partBytes, 'cutrec-gather-part');
  // Tests: a partial sum the sum kernel reads but grad-items did not write shows up as NaN.
  if (own && tuning().poison)
    device.queue.writeBuffer(own, 0, new Float32Array(partBytes / 4).fill(Number.NaN));
  const order = mk(occurrences * 4, 'cutrec-gather-order');
  const hist = mk(items * 4, 'cutrec-gather-hist');
  const off = mk((items + 1) * 4, 'cutrec-gather-off');
  return {
    part: part ?? { buffer: own as GPUBuffer, offset: 0, size: partBytes },
    order,
    hist,
    off,
    release: () => {
      for (const b of [own, order, hist, off]) if (b) meter.destroy(b);
    },
  };
}

/**
 * The steps after grad-items (scratch mode) of one chunk of `params.n_groups` groups from
 * `params.g0`: clear the counts, count, scan, scatter, sum into `dItems` (the item chunk's rows).
 */
export function gatherSteps(
  s: GatherScratch,
  neg: NegConfig,
  params: Params,
  partBytes: number,
  dItems: GPUBufferBinding,
  sampler: GPUBufferBinding[],
): Step[] {
  const occ = (params.n_groups ?? 0) * (params.k ?? 0);
  const items = params.n_items ?? 0;
  const part = { ...s.part, size: partBytes };
  return [
    { clear: s.hist, offset: 0, size: Math.max(4, items * 4) },
    {
      program: new GatherProgram('count', neg),
      params,
      buffers: [s.hist, ...sampler],
      units: Math.ceil(occ / GATHER_WG),
    },
    { program: new GatherProgram('scan', undefined), params, buffers: [s.hist, s.off], units: 1 },
    {
      program: new GatherProgram('scatter', neg),
      params,
      buffers: [s.hist, s.order, ...sampler],
      units: Math.ceil(occ / GATHER_WG),
    },
    {
      program: new GatherProgram('sum', undefined),
      params,
      buffers: [s.off, s.order, part, dItems],
      units: items,
    },
  ];
}
