/**
 * WebGPU launchers of the attention op (attention.wgsl.ts): each returns the dispatches of one
 * call (runner.ts `Step`s). Arguments mean what they mean for the CUDA launchers (cuda.ts;
 * EngineOps.attentionForward/Backward): q, k, v may be views of one [R, 3·D] buffer (stride), and
 * so may dq, dk, dv (dk and dv are then written through one binding). Storage is float32, or with
 * `act: 'f16'` (devices with 'shader-f16') f16 for q, k, v, out, dOut, dq, dk, dv (offsets and
 * strides in f16 elements); lse and delta are float32 either way, and the arithmetic is f32.
 */
import { layoutOf } from '../../wgsl/layout.js';
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { dropoutParams, type WgslDropout } from '../common.wgsl.js';
import { Binder, checkInt, opBindings, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  ATTN_DELTA_BUFFERS,
  ATTN_DELTA_FIELDS,
  ATTN_DKV_BUFFERS,
  ATTN_DKV_FIELDS,
  ATTN_DQ_BUFFERS,
  ATTN_DQ_FIELDS,
  ATTN_FORWARD_BUFFERS,
  ATTN_FORWARD_FIELDS,
  attentionDeltaWGSL,
  attentionDkvWGSL,
  attentionDqWGSL,
  attentionForwardWGSL,
} from './attention.wgsl.js';
import {
  attentionDkvKeysWGSL,
  LANE_ROWS,
  type LaneRowsShape,
  laneRowsBytes,
} from './attention-lanes.wgsl.js';
import {
  ATTN_ROWS,
  attentionDkvRowsWGSL,
  attentionDqRowsWGSL,
  attentionForwardRowsWGSL,
} from './attention-rows.wgsl.js';
import { type AttentionKernel, type AttentionTiling, attentionTiling, tilingKey } from './tiles.js';

/** Largest head size and sequence length (as the CUDA launchers). */
export const ATTENTION_WGSL_MAX_DH = 128;
export const ATTENTION_WGSL_MAX_L = 2048;

/**
 * How an attention kernel lays out its rows: a tiling (the 'gpu' layout, attention.wgsl.ts) or
 * `'rows'`, an invocation per row (the 'cpu' layout of software adapters, attention-rows.wgsl.ts).
 */
export type AttentionLayout = AttentionTiling | 'rows';

/** An attention kernel: its workgroup size and cache key follow its layout. */
abstract class AttentionProgram implements WgslProgram {
  abstract readonly key: string;
  readonly workgroupSize: number;
  abstract readonly bindings: readonly BindingKind[];
  abstract code(): string;
  constructor(
    readonly layout: AttentionLayout,
    readonly act: WgslAct,
  ) {
    this.workgroupSize = layout === 'rows' ? ATTN_ROWS : layout.nt;
  }
  /** Rows (queries, or keys in dK/dV) a workgroup owns. */
  get rows(): number {
    return this.layout === 'rows' ? ATTN_ROWS : this.layout.rows;
  }
  /** The key's layout part. */
  protected get layoutKey(): string {
    return this.layout === 'rows' ? 'rows' : tilingKey(this.layout);
  }
}

/** out, lse (online softmax over key tiles). */
export class AttentionForwardProgram extends AttentionProgram {
  readonly key: string;
  readonly bindings = opBindings(ATTN_FORWARD_BUFFERS);
  readonly paramFields = ATTN_FORWARD_FIELDS;
  constructor(
    readonly dh: number,
    layout: AttentionLayout,
    act: WgslAct = 'f32',
  ) {
    super(layout, act);
    this.key = `attention/forward/${dh}/${this.layoutKey}/${act}`;
  }
  code(): string {
    const t = this.layout;
    return t === 'rows'
      ? attentionForwardRowsWGSL(this.dh, this.act)
      : attentionForwardWGSL(this.dh, t, this.act);
  }
}

/** delta_i = dO_i · out_i. */
export class AttentionDeltaProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = 64;
  readonly bindings = opBindings(ATTN_DELTA_BUFFERS);
  readonly paramFields = ATTN_DELTA_FIELDS;
  constructor(
    readonly dh: number,
    readonly act: WgslAct = 'f32',
  ) {
    this.key = `attention/delta/${dh}/${act}`;
  }
  code(): string {
    return attentionDeltaWGSL(this.dh, this.act);
  }
}

/** dk, dv per key row (`shared`: dv written through the dk binding). */
export class AttentionDkvProgram extends AttentionProgram {
  readonly key: string;
  readonly bindings = opBindings(ATTN_DKV_BUFFERS);
  readonly paramFields = ATTN_DKV_FIELDS;
  constructor(
    readonly dh: number,
    readonly shared: boolean,
    layout: AttentionLayout,
    act: WgslAct = 'f32',
  ) {
    super(layout, act);
    this.key = `attention/dkv/${dh}${shared ? '/shared' : ''}/${this.layoutKey}/${act}`;
  }
  code(): string {
    const t = this.layout;
    return t === 'rows'
      ? attentionDkvRowsWGSL(this.dh, this.shared, this.act)
      : attentionDkvWGSL(this.dh, this.shared, t, this.act);
  }
}

/** dk, dv per key row with the keys in registers, `lanes` subgroup lanes per key (attention-lanes.wgsl.ts). */
export class AttentionDkvKeysProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize: number;
  readonly rows = LANE_ROWS;
  readonly bindings = opBindings(ATTN_DKV_BUFFERS);
  readonly paramFields = ATTN_DKV_FIELDS;
  constructor(
    readonly dh: number,
    readonly shared: boolean,
    readonly shape: LaneRowsShape,
    readonly act: WgslAct = 'f32',
  ) {
    this.workgroupSize = LANE_ROWS * shape.lanes;
    this.key = `attention/dkv/${dh}${shared ? '/shared' : ''}/lanes${shape.lanes}x${shape.qt}/${act}`;
  }
  code(): string {
    return attentionDkvKeysWGSL(this.dh, this.shared, this.shape, this.act);
  }
}

/** dq per query row. */
export class AttentionDqProgram extends AttentionProgram {
  readonly key: string;
  readonly bindings = opBindings(ATTN_DQ_BUFFERS);
  readonly paramFields = ATTN_DQ_FIELDS;
  constructor(
    readonly dh: number,
    layout: AttentionLayout,
    act: WgslAct = 'f32',
  ) {
    super(layout, act);
    this.key = `attention/dq/${dh}/${this.layoutKey}/${act}`;
  }
  code(): string {
    const t = this.layout;
    return t === 'rows' ? attentionDqRowsWGSL(this.dh, this.act) : attentionDqWGSL(this.dh, t, this.act);
  }
}

/** Shapes shared by the forward and the backward. */
export interface WgslAttentionShape {
  /** [B·L] int32 ids; key j of sequence b is padding when ids[b·L + j] = padId. */
  ids: WgslView;
  B: number;
  L: number;
  H: number;
  dh: number;
  /** Row stride of q, k, v, dq, dk, dv in elements (default H·dh). */
  stride?: number;
  padId: number;
  scale: number;
  dropout?: WgslDropout;
  /** u32 step counter (the dropout stream); needed when dropout is on. */
  step?: WgslView;
  /**
   * Storage of q, k, v, out, dOut, dq, dk, dv: 'f32' (default) or 'f16' (needs 'shader-f16'; their
   * offsets and `stride` are then in f16 elements). ids, lse and delta keep their types.
   */
  act?: WgslAct;
}

/** Arguments of {@link wgslAttentionForward}. */
export interface WgslAttentionForwardArgs extends WgslAttentionShape {
  q: WgslView;
  k: WgslView;
  v: WgslView;
  /** [R, H·dh] out. */
  out: WgslView;
  /** [B·H·L] out. */
  lse: WgslView;
}

/** Arguments of {@link wgslAttentionBackward}. */
export interface WgslAttentionBackwardArgs extends WgslAttentionShape {
  q: WgslView;
  k: WgslView;
  v: WgslView;
  out: WgslView;
  dOut: WgslView;
  lse: WgslView;
  /** [R, stride] out: the heads' elements of each row. */
  dq: WgslView;
  dk: WgslView;
  dv: WgslView;
  /** [B·H·L] workspace (written). */
  delta: WgslView;
}

/** The layout of `kernel` on `device`: rows on a software adapter, else a tiling. */
function layoutFor(device: GPUDevice, kernel: AttentionKernel, dh: number): AttentionLayout {
  return layoutOf(device) === 'cpu'
    ? 'rows'
    : attentionTiling(kernel, dh, device.limits.maxComputeWorkgroupStorageSize);
}

/**
 * The keys-in-registers dK/dV kernel's shape on `device` at head size dh, or undefined where the
 * tiled kernel runs instead: layout 'gpu', the 'subgroups' feature with known sizes of at least
 * `lanes` and at most the workgroup, dh a multiple of 4·lanes, and its workgroup memory within the
 * limit. $CUTREC_WGSL_DKV (benchmarks) picks `tiles`, `keys4` or `keys8`; by default 8 lanes at
 * dh ≥ 128 (4 would hold 128 floats of k, v, dk, dv each), else 4 (H200 through Vulkan, 2026-12-04:
 * ml20m, dh 128, step 95.7 ms with 4 lanes, 93.7 with 8; beauty-d64, dh 32, 5.73 with 4, 6.02 with 8).
 */
export function laneRowsShape(device: GPUDevice, dh: number): LaneRowsShape | undefined {
  const env = typeof process === 'undefined' ? undefined : process.env.CUTREC_WGSL_DKV;
  if (env !== undefined && !['', 'tiles', 'keys4', 'keys8'].includes(env))
    throw new Error(`CUTREC_WGSL_DKV must be tiles, keys4 or keys8, got "${env}"`);
  if (env === 'tiles' || layoutOf(device) !== 'gpu' || !device.features.has('subgroups')) return undefined;
  const lanes: 4 | 8 = env === 'keys8' ? 8 : env === 'keys4' ? 4 : dh >= 128 && dh % 32 === 0 ? 8 : 4;
  const nt = LANE_ROWS * lanes;
  const info = device.adapterInfo as (GPUAdapterInfo & { subgroupMaxSize?: number }) | undefined;
  const min = info?.subgroupMinSize;
  const max = info?.subgroupMaxSize;
  if (min === undefined || max === undefined || min < lanes || max > nt) return undefined;
  if (dh % (4 * lanes) !== 0 || device.limits.maxComputeInvocationsPerWorkgroup < nt) return undefined;
  for (const qt of [32, 16, 8]) {
    const shape = { lanes, qt };
    if (
      qt % lanes === 0 &&
      ((qt * dh) / 4) % nt === 0 &&
      laneRowsBytes(dh, shape) <= device.limits.maxComputeWorkgroupStorageSize
    )
      return shape;
  }
  return undefined;
}

/** Workgroups of `program` over every (sequence, head). */
const unitsOf = (program: { rows: number }, a: WgslAttentionShape) =>
  a.B * a.H * Math.ceil(a.L / program.rows);

function plan(op: string, a: WgslAttentionShape) {
  const { B, L, H, dh } = a;
  const stride = a.stride ?? H * dh;
  checkInt(op, 'B', B, 0);
  checkInt(op, 'L', L, 0, ATTENTION_WGSL_MAX_L);
  checkInt(op, 'H', H, 1);
  checkInt(op, 'dh', dh, 1, ATTENTION_WGSL_MAX_DH);
  checkInt(op, 'stride', stride, H * dh);
  const drop = dropoutParams('drop', a.dropout);
  if (drop.drop_on && !a.step) throw new TypeError(`${op}: step (the dropout stream) is needed with dropout`);
  if (drop.drop_on && B * H * L * L >= 2 ** 32) {
    throw new RangeError(`${op}: B·H·L² = ${B * H * L * L} exceeds the 32-bit dropout element index`);
  }
  const R = B * L;
  if (R * stride >= 2 ** 32) throw new RangeError(`${op}: R·stride = ${R * stride} exceeds the 32-bit index`);
  return {
    R,
    /** Elements a [R, stride] view spans (its last row ends at the heads' last element). */
    span: R > 0 ? (R - 1) * stride + H * dh : 0,
    params: { B, L, H, stride, pad: a.padId, scale: a.scale, ...drop },
  };
}

/** The forward's dispatch. */
export function wgslAttentionForward(device: GPUDevice, a: WgslAttentionForwardArgs): Step[] {
  const op = 'wgslAttentionForward';
  const p = plan(op, a);
  if (p.R === 0) return [];
  const b = new Binder(device, op, ATTN_FORWARD_BUFFERS, a.act)
    .view('q', a.q, p.span)
    .view('k', a.k, p.span)
    .view('v', a.v, p.span)
    .view('ids', a.ids, p.R)
    .view('out', a.out, p.R * a.H * a.dh)
    .view('lse', a.lse, a.B * a.H * a.L)
    .view('step_ctr', a.step, 1);
  const program = new AttentionForwardProgram(a.dh, layoutFor(device, 'forward', a.dh), a.act);
  return [
    {
      program,
      params: b.with(p.params),
      buffers: b.buffers,
      units: unitsOf(program, a),
    },
  ];
}

/** The backward's dispatches: delta, dk and dv per key tile, dq per query tile. */
export function wgslAttentionBackward(device: GPUDevice, a: WgslAttentionBackwardArgs): Step[] {
  const op = 'wgslAttentionBackward';
  const p = plan(op, a);
  if (p.R === 0) return [];
  const D = a.H * a.dh;
  const nRow = a.B * a.H * a.L;
  const delta = new Binder(device, op, ATTN_DELTA_BUFFERS, a.act)
    .view('out', a.out, p.R * D)
    .view('dOut', a.dOut, p.R * D)
    .view('delta', a.delta, nRow);
  const shared = a.dk.buffer === a.dv.buffer;
  const dkv = new Binder(device, op, ATTN_DKV_BUFFERS, a.act)
    .view('q', a.q, p.span)
    .view('k', a.k, p.span)
    .view('v', a.v, p.span)
    .view('ids', a.ids, p.R)
    .view('dOut', a.dOut, p.R * D)
    .view('lse', a.lse, nRow)
    .view('delta', a.delta, nRow);
  const extra: Record<string, number> = {};
  if (shared) {
    // One binding spans dk and dv; their offsets are relative to it.
    const ok = a.dk.offset ?? 0;
    const ov = a.dv.offset ?? 0;
    const lo = Math.min(ok, ov);
    dkv.view('dk', { buffer: a.dk.buffer, offset: lo }, Math.max(ok, ov) - lo + p.span);
    const base = dkv.params.dk_o as number;
    extra.dk_o = base + ok - lo;
    extra.dv_o = base + ov - lo;
    dkv.view('dv', undefined, 0);
  } else {
    dkv.view('dk', a.dk, p.span).view('dv', a.dv, p.span);
  }
  dkv.view('step_ctr', a.step, 1);
  const dq = new Binder(device, op, ATTN_DQ_BUFFERS, a.act)
    .view('q', a.q, p.span)
    .view('k', a.k, p.span)
    .view('v', a.v, p.span)
    .view('ids', a.ids, p.R)
    .view('dOut', a.dOut, p.R * D)
    .view('lse', a.lse, nRow)
    .view('delta', a.delta, nRow)
    .view('dq', a.dq, p.span)
    .view('step_ctr', a.step, 1);
  const keys = laneRowsShape(device, a.dh);
  const dkvProgram = keys
    ? new AttentionDkvKeysProgram(a.dh, shared, keys, a.act)
    : new AttentionDkvProgram(a.dh, shared, layoutFor(device, 'dkv', a.dh), a.act);
  const dqProgram = new AttentionDqProgram(a.dh, layoutFor(device, 'dq', a.dh), a.act);
  return [
    {
      program: new AttentionDeltaProgram(a.dh, a.act),
      params: delta.with(p.params),
      buffers: delta.buffers,
      units: Math.ceil(nRow / 64),
    },
    {
      program: dkvProgram,
      params: dkv.with({ ...p.params, ...extra }),
      buffers: dkv.buffers,
      units: unitsOf(dkvProgram, a),
    },
    {
      program: dqProgram,
      params: dq.with(p.params),
      buffers: dq.buffers,
      units: unitsOf(dqProgram, a),
    },
  ];
}
