/**
 * WebGPU launcher of the target-rank op (rank.wgsl.ts): returns the dispatch of one call.
 * Arguments mean what they mean for cudaRankOfTargets (cuda.ts; EngineOps.rankTargets).
 */
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { Binder, checkInt, opBindings, type WgslAct, type WgslView } from '../wgsl-view.js';
import { RANK_BUFFERS, RANK_FIELDS, RANK_WORKGROUP, rankWGSL } from './rank.wgsl.js';

/** ranks[u] of targets[u] among all C items, seen items excluded. */
export class RankProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = RANK_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(RANK_BUFFERS);
  readonly paramFields = RANK_FIELDS;
  constructor(readonly act: WgslAct = 'f32') {
    this.key = `rank/${act}`;
  }
  code(): string {
    return rankWGSL(this.act);
  }
}

/** Arguments of {@link wgslRankOfTargets}. */
export interface WgslRankOfTargetsArgs {
  /** User u's vector is hidden[offset + u·rowStride + d], d < D (elements of `act`). */
  hidden: WgslView;
  rowStride: number;
  offset: number;
  /** float32 [C, D]. */
  items: WgslView;
  /** int32 [U] in [0, C) (not checked on the device). */
  targets: WgslView;
  U: number;
  C: number;
  D: number;
  /** CSR seen lists: int32 offsets [U + 1] and sorted items (nnz entries). */
  seen?: { offsets: WgslView; items: WgslView; nnz: number };
  /** int32 [U] out. */
  ranks: WgslView;
  /** Storage of hidden: 'f32' (default) or 'f16' (needs 'shader-f16'); items stay float32, as on CUDA. */
  act?: WgslAct;
}

/** The rank dispatch: a workgroup per user. */
export function wgslRankOfTargets(device: GPUDevice, a: WgslRankOfTargetsArgs): Step[] {
  const op = 'wgslRankOfTargets';
  checkInt(op, 'U', a.U, 0);
  checkInt(op, 'C', a.C, 1);
  checkInt(op, 'D', a.D, 1);
  checkInt(op, 'rowStride', a.rowStride, 0);
  checkInt(op, 'offset', a.offset, 0);
  if (a.C * a.D > 2 ** 32 - 4)
    throw new RangeError(`${op}: C·D = ${a.C * a.D} exceeds the 32-bit element index`);
  if (a.U === 0) return [];
  const b = new Binder(device, op, RANK_BUFFERS, a.act)
    .view('hidden', a.hidden, a.offset + (a.U - 1) * a.rowStride + a.D)
    .view('items', a.items, a.C * a.D)
    .view('targets', a.targets, a.U)
    .view('seenOffsets', a.seen?.offsets, a.U + 1)
    .view('seenItems', a.seen && a.seen.nnz > 0 ? a.seen.items : undefined, a.seen?.nnz ?? 0)
    .view('ranks', a.ranks, a.U);
  return [
    {
      program: new RankProgram(a.act),
      params: b.with({
        U: a.U,
        C: a.C,
        D: a.D,
        row_stride: a.rowStride,
        offset: a.offset,
        has_seen: a.seen ? 1 : 0,
      }),
      buffers: b.buffers,
      units: a.U,
    },
  ];
}
